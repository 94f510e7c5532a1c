"""The fake Bot API server itself: routing, form decoding, long polling and fault injection."""

from __future__ import annotations

import asyncio

import pytest
import telegram
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter, TimedOut

from tests.fakes import telegram_factories as tf
from tests.fakes.botapi import TEST_TOKEN, FakeBotApi, Fault


def _bot(api: FakeBotApi, token: str = TEST_TOKEN) -> telegram.Bot:
    return telegram.Bot(token, base_url=f"{api.base_url}/bot", base_file_url=f"{api.base_url}/file/bot")


async def test_calls_reach_bot_token_method_and_are_decoded(api: FakeBotApi) -> None:
    async with _bot(api) as bot:
        me = await bot.get_me()
        markup = telegram.InlineKeyboardMarkup([[telegram.InlineKeyboardButton("a", callback_data="p:x")]])
        sent = await bot.send_message(5, "42", reply_markup=markup)
        await bot.send_document(5, document=b"# hi", filename="t.md", caption="cap")
    assert (me.username, sent.text, sent.chat.id) == ("understudy_test_bot", "42", 5)
    call = api.calls_of("sendMessage")[0]
    assert call.params == {"chat_id": 5, "text": "42", "reply_markup": markup.to_dict()}
    document = api.sent(5)[1]
    assert (document.document, document.caption) == (("t.md", b"# hi"), "cap")


async def test_a_wrong_token_is_unauthorized(api: FakeBotApi) -> None:
    with pytest.raises(InvalidToken):
        async with _bot(api, "1:" + "x" * 35):
            pass


async def test_get_updates_honours_offsets_and_long_polls(api: FakeBotApi) -> None:
    user = tf.user(9)
    first = api.queue(tf.text_update(user, "/start"))
    async with _bot(api) as bot:
        updates = await bot.get_updates(timeout=1)
        assert [u.update_id for u in updates] == [first["update_id"]]
        assert updates[0].message is not None and updates[0].message.text == "/start"

        async def later() -> None:
            await asyncio.sleep(0.05)
            api.queue(tf.text_update(user, "hello"))

        task = asyncio.create_task(later())
        updates = await bot.get_updates(offset=first["update_id"] + 1, timeout=1)
        await task
        assert [u.message.text for u in updates if u.message] == ["hello"]
    assert api.pending_updates() == 1  # not confirmed until the next offset


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault("sendMessage", status=429, retry_after=3), RetryAfter),
        (Fault("sendMessage", status=500), NetworkError),
        (Fault("sendMessage", status=502), NetworkError),
        (Fault("sendMessage", drop=True), NetworkError),
        (Fault("sendMessage", status=400), BadRequest),
    ],
)
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_faults_hit_the_next_calls_only(api: FakeBotApi, fault: Fault, error: type[Exception]) -> None:
    api.add_fault(fault)
    async with _bot(api) as bot:
        with pytest.raises(error):
            await bot.send_message(5, "lost")
        assert (await bot.send_message(5, "delivered")).text == "delivered"
    assert api.texts(5) == ["delivered"]


async def test_a_delay_fault_makes_the_call_slow(api: FakeBotApi) -> None:
    api.add_fault(Fault("sendMessage", delay=5.0))
    async with _bot(api) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(5, "slow", read_timeout=0.2)


async def test_empty_text_is_a_bad_request(api: FakeBotApi) -> None:
    async with _bot(api) as bot:
        with pytest.raises(BadRequest):
            await bot.send_message(5, " ")
