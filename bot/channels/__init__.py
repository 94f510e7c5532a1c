"""Channel adapters: Telegram (``telegram``) and the terminal (``console``) around the session service."""
