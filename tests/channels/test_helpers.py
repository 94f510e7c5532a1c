"""Pure helpers of the Telegram channel: typing delay, catalogue keyboard, callback payloads, redaction."""

from __future__ import annotations

import logging

import pytest

from bot.channels.telegram import (
    CALLBACK_DATA_BYTES,
    CB_CHOOSE,
    TYPING_MAX_SECONDS,
    catalogue_markup,
    install_token_redaction,
    persona_token,
    typing_delay,
)
from tests.fakes.personas import tiny_catalog


@pytest.mark.parametrize(
    ("text", "scale", "expected"),
    [
        ("Hi.", 0.0, 0.0),
        ("Hi.", 1.0, 0.475),
        ("Hi.", 2.0, 0.95),
        ("x" * 1000, 1.0, TYPING_MAX_SECONDS),
        ("x" * 1000, 0.5, TYPING_MAX_SECONDS / 2),
    ],
)
def test_typing_delay_grows_with_length_and_scale(text: str, scale: float, expected: float) -> None:
    assert typing_delay(text, scale) == pytest.approx(expected)


def test_one_case_needs_no_case_headers() -> None:
    catalog = tiny_catalog("tiny_victim_en")
    markup = catalogue_markup([e.persona for e in catalog.entries()], "ru")
    assert markup is not None
    rows = [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard]
    assert rows == [[("Mira · пострадавший · английский", CB_CHOOSE + "tiny_victim_en")]]


def test_an_empty_catalogue_has_no_keyboard() -> None:
    assert catalogue_markup([], "en") is None


@pytest.mark.parametrize("persona_id", ["short", "x" * 62, "y" * 64])
def test_callback_payloads_fit_telegram(persona_id: str) -> None:
    assert len((CB_CHOOSE + persona_token(persona_id)).encode()) <= CALLBACK_DATA_BYTES


def test_redaction_covers_messages_arguments_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    secret = "424242:redactionTESTredactionTESTredactionTEST"
    install_token_redaction(secret)
    log = logging.getLogger("tests.redaction")
    with caplog.at_level(logging.INFO, logger="tests.redaction"):
        log.info("calling https://api.example/bot%s/getMe", secret)
        log.info(f"inline {secret}")
        try:
            raise ValueError(f"failed at /bot{secret}/sendMessage")
        except ValueError:
            log.exception("request failed")
    assert [r.getMessage() for r in caplog.records] == [
        "calling https://api.example/bot[REDACTED]/getMe",
        "inline [REDACTED]",
        "request failed",
    ]
    assert secret not in caplog.text
    assert "/bot[REDACTED]/sendMessage" in caplog.text
