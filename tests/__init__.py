"""Understudy test suite; mirrors bot/."""
