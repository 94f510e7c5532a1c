"""Builders for Telegram Bot API objects as JSON dicts, the way a Bot API server sends them.

They build exactly what the wire carries: a ``Message`` has ``message_id``, ``date`` and ``chat``; a command
has a ``bot_command`` entity at offset 0. The fake server (``tests/fakes/botapi.py``) assigns ``update_id``
and, if missing, ``message_id``.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

DEFAULT_LANGUAGE_CODE = "en"
_file_ids = itertools.count(1)


def user(
    user_id: int,
    first_name: str = "Trainee",
    language_code: str | None = DEFAULT_LANGUAGE_CODE,
    username: str | None = None,
) -> dict[str, Any]:
    """Build a human ``User``."""
    out: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if language_code:
        out["language_code"] = language_code
    if username:
        out["username"] = username
    return out


def private_chat(from_user: dict[str, Any]) -> dict[str, Any]:
    """Build the private ``Chat`` of a user (chat id = user id, as Telegram does)."""
    return {"id": from_user["id"], "type": "private", "first_name": from_user["first_name"]}


def group_chat(chat_id: int, title: str = "Training group", kind: str = "supergroup") -> dict[str, Any]:
    """Build a group or supergroup ``Chat`` (negative id)."""
    return {"id": chat_id, "type": kind, "title": title}


def message(
    from_user: dict[str, Any],
    chat: dict[str, Any] | None = None,
    text: str | None = None,
    message_id: int | None = None,
    **content: Any,
) -> dict[str, Any]:
    """Build a ``Message``; a text starting with '/' gets its ``bot_command`` entity."""
    msg: dict[str, Any] = {
        "date": int(time.time()),
        "chat": chat or private_chat(from_user),
        "from": from_user,
    }
    if message_id is not None:
        msg["message_id"] = message_id
    if text is not None:
        msg["text"] = text
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0] if text.split() else text
            msg["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(command.encode("utf-16-le")) // 2}
            ]
    msg.update(content)
    return msg


def _file(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    n = next(_file_ids)
    out: dict[str, Any] = {"file_id": f"file-{n}", "file_unique_id": f"uniq-{n}"}
    out.update(extra or {})
    return out


NON_TEXT_CONTENT: dict[str, dict[str, Any]] = {
    "sticker": {
        "sticker": _file(
            {
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": "🙂",
            }
        )
    },
    "photo": {"photo": [_file({"width": 90, "height": 90}), _file({"width": 800, "height": 800})]},
    "voice": {"voice": _file({"duration": 3, "mime_type": "audio/ogg"})},
    "video": {"video": _file({"width": 640, "height": 480, "duration": 5})},
    "video_note": {"video_note": _file({"length": 240, "duration": 4})},
    "audio": {"audio": _file({"duration": 30})},
    "animation": {"animation": _file({"width": 320, "height": 240, "duration": 2})},
    "document": {"document": _file({"file_name": "passport.pdf", "mime_type": "application/pdf"})},
    "location": {"location": {"latitude": 48.2082, "longitude": 16.3738}},
    "contact": {"contact": {"phone_number": "+100000000", "first_name": "Friend"}},
}
"""Content of every non-text message kind a trainee might send, keyed by kind."""


def non_text_message(
    from_user: dict[str, Any], kind: str, chat: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Build a message of a non-text ``kind`` (a key of NON_TEXT_CONTENT)."""
    return message(from_user, chat, **NON_TEXT_CONTENT[kind])


def text_update(from_user: dict[str, Any], text: str, chat: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build an update carrying a text message (or a command)."""
    return {"message": message(from_user, chat, text)}


def non_text_update(
    from_user: dict[str, Any], kind: str, chat: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Build an update carrying a non-text message."""
    return {"message": non_text_message(from_user, kind, chat)}


def edited_update(from_user: dict[str, Any], message_id: int, text: str) -> dict[str, Any]:
    """Build an ``edited_message`` update for an earlier message of the user."""
    msg = message(from_user, None, text, message_id=message_id, edit_date=int(time.time()))
    return {"edited_message": msg}


def callback_update(
    from_user: dict[str, Any],
    data: str,
    message_id: int,
    chat: dict[str, Any] | None = None,
    query_id: str | None = None,
) -> dict[str, Any]:
    """Build a ``callback_query`` update: the user pressed an inline button of a bot message."""
    bot_message = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": chat or private_chat(from_user),
        "text": "(bot message)",
    }
    return {
        "callback_query": {
            "id": query_id or f"cq-{next(_file_ids)}",
            "from": from_user,
            "chat_instance": str(from_user["id"]),
            "message": bot_message,
            "data": data,
        }
    }
