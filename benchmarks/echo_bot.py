"""The floor for the end-to-end benchmark: a bare python-telegram-bot echo bot.

Per update it sends a typing action and one message, nothing else: no store, no engine, no per-chat ordering.
It polls the same Bot API server the same way ``understudy serve`` does (``run_polling`` with PTB
defaults) and handles updates with the same concurrency limit, so the difference between the two is
Understudy's own cost.

Run by ``benchmarks/e2e.py`` as ``python -m benchmarks.echo_bot`` with ``TELEGRAM_BOT_TOKEN`` and
``TELEGRAM_API_BASE_URL`` set.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from telegram import Update
from telegram.constants import ChatAction
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from bot.channels.telegram import MAX_CONCURRENT_UPDATES

ECHO_EMPTY = "(empty)"


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the typing action, then send the message's text back."""
    chat = update.effective_chat
    message = update.effective_message
    if chat is None or message is None:
        return
    await context.bot.send_chat_action(chat.id, ChatAction.TYPING)
    await context.bot.send_message(chat.id, message.text or ECHO_EMPTY)


def build(token: str, api_base_url: str) -> Application[Any, Any, Any, Any, Any, Any]:
    """Build the echo application against a Bot API root such as ``http://127.0.0.1:8081``."""
    app = (
        Application.builder()
        .token(token)
        .base_url(f"{api_base_url}/bot")
        .concurrent_updates(MAX_CONCURRENT_UPDATES)
        .build()
    )
    app.add_handler(MessageHandler(filters.ALL, echo))
    return app


def main() -> None:
    """Serve by long polling until SIGTERM or SIGINT."""
    logging.basicConfig(level=logging.WARNING)
    app = build(os.environ["TELEGRAM_BOT_TOKEN"], os.environ["TELEGRAM_API_BASE_URL"].rstrip("/"))
    app.run_polling(allowed_updates=Update.ALL_TYPES, close_loop=False)


if __name__ == "__main__":
    main()
