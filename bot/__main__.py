"""``python -m bot`` runs the ``understudy`` command line."""

from bot.cli import entry

entry()
