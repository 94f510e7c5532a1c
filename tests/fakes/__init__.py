"""Test doubles at the process edge: a fake Bot API server and Telegram update factories."""
