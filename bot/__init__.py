"""Understudy: a Telegram bot that plays scripted personas for anti-trafficking interview training."""

__version__ = "0.1.0"
