"""The pure, synchronous dialogue engine: text pipeline, compiled matcher and ``step``."""
