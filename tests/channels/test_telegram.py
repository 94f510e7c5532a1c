"""End to end: the real Application over HTTP against the fake Bot API server, playing trainees."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.channels.telegram import CB_BEGIN, CB_CHOOSE, CB_LANGUAGE, CB_NOOP, MAX_TEXT_CHARS
from bot.errors import StoreBusy
from bot.i18n import t
from bot.session import SessionService
from bot.store.memory import MemoryStore
from tests.channels.conftest import Trainee, running_bot
from tests.fakes import telegram_factories as tf
from tests.fakes.botapi import TEST_TOKEN, FakeBotApi, Fault
from tests.fakes.telegram_factories import NON_TEXT_CONTENT

VICTIM = "tiny_victim_en"
WITNESS = "tiny_witness_ru"
INSTRUCTOR = 900


async def _open_interview(trainee: Trainee, persona_id: str = VICTIM) -> None:
    """Deep-link into an interview and read the welcome, briefing, start note and opening."""
    trainee.send(f"/start {persona_id}")
    await trainee.texts(5 if persona_id == VICTIM else 4)


async def test_start_catalogue_choice_briefing_interview_and_end(api: FakeBotApi, tmp_path: Path) -> None:
    async with running_bot(api, tmp_path) as bot:
        anna = Trainee(api, 101)
        anna.send("/start")
        welcome, catalogue = await anna.receive(2)
        assert welcome.text is not None and welcome.text.startswith("Hello, Anna! I am Understudy")
        assert t("en", "transcripts_notice") in welcome.text
        assert catalogue.text == t("en", "catalogue_title")
        assert catalogue.buttons == [
            ("— Case: A tiny building site —", CB_NOOP),
            ("Mira · victim · English", CB_CHOOSE + VICTIM),
            ("— Case: Маленький магазин —", CB_NOOP),
            ("Олег · witness · Russian", CB_CHOOSE + WITNESS),
        ]

        anna.press(catalogue, CB_CHOOSE + VICTIM)
        (briefing,) = await anna.receive(1)
        assert briefing.text is not None
        assert briefing.text.startswith("Briefing: Mira (victim, English)\nCase: A tiny building site")
        for part in ("Your role: You are a labour inspector.", "• Learn where her passport is", "/end"):
            assert part in briefing.text
        assert briefing.buttons == [("Begin the interview", CB_BEGIN + VICTIM)]

        anna.press(briefing, CB_BEGIN + VICTIM)
        assert await anna.texts(3) == [
            "The interview begins: Mira.",
            "Hello.",
            "Who are you?",
        ]
        assert briefing.buttons == []  # the Begin button is gone, so it cannot be pressed twice

        anna.send("Where is your passport?")
        assert await anna.texts(2) == ["The foreman has my passport.", "He says it is safer."]
        actions = [c.method for c in api.calls if c.params.get("chat_id") == anna.chat_id][-3:]
        # The delay is off in this test, so only the first message of the reply is preceded by "typing".
        assert actions == ["sendChatAction", "sendMessage", "sendMessage"]

        anna.send("/end")
        debrief, after = await anna.texts(2)
        # The wording belongs to bot.review.debrief; here: the right interview, facts and count arrive.
        assert debrief.startswith("Debrief: Mira")
        assert "1 of 3" in debrief
        assert "The foreman keeps her passport." in debrief
        assert after.startswith(t("en", "interview_over"))

        sessions = await bot.store.list_sessions()
        assert [(s.persona_id, s.end_reason, s.turns) for s in sessions] == [(VICTIM, "trainee", 1)]
        turns = await bot.store.get_turns(sessions[0].id)
        assert [(x.speaker, x.text) for x in turns] == [
            ("persona", "Hello."),
            ("persona", "Who are you?"),
            ("trainee", "Where is your passport?"),
            ("persona", "The foreman has my passport."),
            ("persona", "He says it is safer."),
        ]
        trainee = await bot.store.get_trainee(anna.user_id)
        assert trainee is not None and (trainee.display_name, trainee.language) == ("Anna", "en")


async def test_deep_link_briefs_and_begins_at_once(api: FakeBotApi, tmp_path: Path) -> None:
    async with running_bot(api, tmp_path):
        boris = Trainee(api, 102)
        boris.send(f"/start {VICTIM}")
        _welcome, briefing, begins, hello, who = await boris.receive(5)
        assert briefing.text is not None and briefing.text.startswith("Briefing: Mira")
        assert briefing.buttons == []
        assert [begins.text, hello.text, who.text] == [
            "The interview begins: Mira.",
            "Hello.",
            "Who are you?",
        ]
        boris.send("hello")
        assert await boris.texts(1) == ["Hi. I am Mira."]


async def test_deep_link_to_an_unknown_persona_shows_the_catalogue(api: FakeBotApi, tmp_path: Path) -> None:
    async with running_bot(api, tmp_path) as bot:
        vera = Trainee(api, 103)
        vera.send("/start no_such_persona")
        _welcome, catalogue = await vera.receive(2)
        assert catalogue.text is not None
        assert catalogue.text.startswith("There is no persona called “no_such_persona”.")
        assert len(catalogue.buttons) == 4
        assert await bot.store.list_sessions() == []


async def test_text_outside_an_interview_offers_the_catalogue(api: FakeBotApi, tmp_path: Path) -> None:
    async with running_bot(api, tmp_path):
        gleb = Trainee(api, 104)
        gleb.send("hello?")
        (prompt,) = await gleb.receive(1)
        assert prompt.text is not None and prompt.text.startswith(t("en", "no_session"))
        assert len(prompt.buttons) == 4


async def test_the_persona_ends_the_interview_and_the_bot_says_so(api: FakeBotApi, tmp_path: Path) -> None:
    async with running_bot(api, tmp_path) as bot:
        dana = Trainee(api, 105)
        await _open_interview(dana)
        dana.send("goodbye")
        goodbye, ended, catalogue = await dana.receive(3)
        assert goodbye.text == "Goodbye."
        assert ended.text is not None and ended.text.startswith(
            t("en", "persona_ended") + "\n\nDebrief: Mira"
        )
        assert len(catalogue.buttons) == 4
        assert [s.end_reason for s in await bot.store.list_sessions()] == ["rule:bye"]


async def test_restart_and_switching_persona(api: FakeBotApi, tmp_path: Path) -> None:
    async with running_bot(api, tmp_path) as bot:
        egor = Trainee(api, 106)
        egor.send("/restart")
        assert (await egor.texts(1))[0].startswith(t("en", "restart_no_session"))
        await _open_interview(egor)
        egor.send("hello")
        await egor.texts(1)
        egor.send("/restart")
        assert await egor.texts(3) == ["Starting the interview again: Mira.", "Hello.", "Who are you?"]
        egor.send(f"/start {WITNESS}")
        texts = await egor.texts(4)
        assert texts[1].startswith("Briefing: Олег (witness, Russian)")
        assert texts[2:] == ["The interview begins: Олег.", "Здравствуйте. Чем могу помочь?"]
        egor.send("Вы видели автобус?")
        assert await egor.texts(1) == ["Их каждое утро возят на автобусе."]
        reasons = sorted((s.persona_id, s.end_reason) for s in await bot.store.list_sessions())
        assert reasons == [(VICTIM, "restart"), (VICTIM, "superseded"), (WITNESS, None)]


@pytest.mark.parametrize("kind", sorted(NON_TEXT_CONTENT))
async def test_non_text_messages_get_a_plain_reply_and_are_recorded(
    api: FakeBotApi, tmp_path: Path, kind: str
) -> None:
    async with running_bot(api, tmp_path) as bot:
        fedor = Trainee(api, 107)
        await _open_interview(fedor)
        fedor.send_kind(kind)
        assert await fedor.texts(1) == [t("en", "non_text")]
        session = await bot.store.get_open_session(fedor.chat_id)
        assert session is not None
        events = [x.event for x in await bot.store.get_turns(session.id) if x.event]
        assert events == [{"kind": kind}]
        fedor.send("hello")
        assert await fedor.texts(1) == ["Hi. I am Mira."]


async def test_a_sticker_storm_gets_one_slow_down(api: FakeBotApi, tmp_path: Path) -> None:
    async with running_bot(api, tmp_path) as bot:
        yana = Trainee(api, 140)
        await _open_interview(yana)
        for _ in range(10):
            yana.send_kind("sticker")
        limit = 6  # bot.session.DEFAULT_RATE_LIMIT; the clock stands still
        assert await yana.texts(limit + 1) == [t("en", "non_text")] * limit + [t("en", "slow_down")]
        assert await yana.settle() == []
        session = await bot.store.get_open_session(yana.chat_id)
        assert session is not None
        events = [x.event for x in await bot.store.get_turns(session.id) if x.event]
        assert events == [{"kind": "sticker"}] * 10


async def test_edited_messages_are_recorded_not_answered(api: FakeBotApi, tmp_path: Path) -> None:
    async with running_bot(api, tmp_path) as bot:
        gala = Trainee(api, 108)
        await _open_interview(gala)
        sent = gala.send("hello")
        assert await gala.texts(1) == ["Hi. I am Mira."]
        api.queue(
            tf.edited_update(gala.user, sent["message"]["message_id"], "hello, where is your passport?")
        )
        assert await gala.settle() == []
        session = await bot.store.get_open_session(gala.chat_id)
        assert session is not None and session.turns == 1
        edits = [(x.text, x.event) for x in await bot.store.get_turns(session.id) if x.event]
        assert edits == [
            (
                "hello, where is your passport?",
                {"kind": "edited", "message_id": sent["message"]["message_id"]},
            )
        ]


@pytest.mark.parametrize(
    ("text", "key"),
    [("   ", "empty_text"), ("\n\t", "empty_text"), ("x" * (MAX_TEXT_CHARS + 10), "too_long")],
)
async def test_empty_and_oversized_text(api: FakeBotApi, tmp_path: Path, text: str, key: str) -> None:
    async with running_bot(api, tmp_path) as bot:
        hana = Trainee(api, 109)
        await _open_interview(hana)
        hana.send(text)
        expected = t("en", key, length=len(text), limit=MAX_TEXT_CHARS)
        assert await hana.texts(1) == [expected]
        session = await bot.store.get_open_session(hana.chat_id)
        assert session is not None and session.turns == 0


async def test_an_empty_message_from_a_non_standard_server(api: FakeBotApi, tmp_path: Path) -> None:
    async with running_bot(api, tmp_path):
        ivan = Trainee(api, 110)
        api.queue({"message": tf.message(ivan.user, text="")})
        assert await ivan.texts(1) == [t("en", "empty_text")]


async def test_group_chats_get_one_polite_message_and_nothing_is_stored(
    api: FakeBotApi, tmp_path: Path
) -> None:
    async with running_bot(api, tmp_path) as bot:
        group = tf.group_chat(-100500)
        member = tf.user(111, "Kim")
        for text in ("/start", "hello bot", f"/start {VICTIM}"):
            api.queue(tf.text_update(member, text, chat=group))
        api.queue(tf.non_text_update(member, "sticker", chat=group))
        await api.wait_messages(group["id"], 1)
        # A private message after the group ones: once it is answered, the group updates were handled too.
        kim = Trainee(api, 111, first_name="Kim")
        kim.send("/help")
        await kim.receive(1)
        await api.wait_confirmed()
        assert api.texts(group["id"]) == [t("en", "group_only")]
        stats = await bot.store.stats()
        assert (stats.trainees, stats.sessions, stats.turns) == (0, 0, 0)


async def test_unknown_command_and_help(api: FakeBotApi, tmp_path: Path) -> None:
    async with running_bot(api, tmp_path):
        lena = Trainee(api, 112)
        lena.send("/dance")
        assert await lena.texts(1) == [t("en", "unknown_command")]
        lena.send("/help")
        assert await lena.texts(1) == [t("en", "help")]


async def test_language_is_picked_from_telegram_and_changed_with_a_button(
    api: FakeBotApi, tmp_path: Path
) -> None:
    async with running_bot(api, tmp_path) as bot:
        misha = Trainee(api, 113, language_code="ru", first_name="Миша")
        misha.send("/start")
        welcome, _catalogue = await misha.texts(2)
        assert welcome.startswith("Здравствуйте, Миша!")
        misha.send("/language")
        (prompt,) = await misha.receive(1)
        assert prompt.buttons == [("English", CB_LANGUAGE + "en"), ("Русский", CB_LANGUAGE + "ru")]
        misha.press(prompt, CB_LANGUAGE + "en")
        await api.wait_for(lambda: prompt.text == t("en", "language_set"))
        misha.send("/help")
        assert await misha.texts(1) == [t("en", "help")]
        trainee = await bot.store.get_trainee(misha.user_id)
        assert trainee is not None and trainee.language == "en"


async def test_commands_are_registered_per_scope(api: FakeBotApi, tmp_path: Path) -> None:
    async with running_bot(api, tmp_path, instructors=[INSTRUCTOR, 901]):
        registered = [
            (c.params["scope"], c.params.get("language_code"), [x["command"] for x in c.params["commands"]])
            for c in api.calls_of("setMyCommands")
        ]
    trainee = ["start", "personas", "end", "restart", "help", "language"]
    everything = [*trainee, "sessions", "transcript", "cohort", "note", "reload"]
    assert registered == [
        ({"type": "default"}, None, trainee),
        ({"type": "default"}, "ru", trainee),
        ({"type": "chat", "chat_id": INSTRUCTOR}, None, everything),
        ({"type": "chat", "chat_id": INSTRUCTOR}, "ru", everything),
        ({"type": "chat", "chat_id": 901}, None, everything),
        ({"type": "chat", "chat_id": 901}, "ru", everything),
    ]


async def test_instructor_commands(api: FakeBotApi, tmp_path: Path) -> None:
    async with running_bot(api, tmp_path, instructors=[INSTRUCTOR]) as bot:
        anna = Trainee(api, 114)
        await _open_interview(anna)
        anna.send("<b>Where</b> is your passport?")
        await anna.texts(2)
        (session,) = await bot.store.list_sessions()

        teacher = Trainee(api, INSTRUCTOR, first_name="Olga")
        teacher.send("/sessions")
        (listing,) = await teacher.texts(1)
        assert listing.splitlines() == [
            "Recent sessions:",
            f"#{session.id} · Anna · {VICTIM} · 2026-01-05 09:00 · 1 turns · open",
        ]
        teacher.send(f"/transcript {session.id}")
        (document,) = await teacher.receive(1)
        assert document.document is not None
        name, content = document.document
        assert (name, document.caption) == (
            f"session-{session.id}.html",
            f"Transcript of session #{session.id}",
        )
        html = content.decode("utf-8")
        assert "&lt;b&gt;Where&lt;/b&gt; is your passport?" in html
        assert "<b>Where</b>" not in html
        assert "<svg" in html
        teacher.send("/cohort")
        (index,) = await teacher.receive(1)
        assert index.document is not None
        assert (index.document[0], index.caption) == ("cohort.html", t("en", "cohort_caption"))
        assert "Anna" in index.document[1].decode("utf-8")
        teacher.send(f"/transcript {session.id} md")
        (document,) = await teacher.receive(1)
        assert document.document is not None
        name, content = document.document
        assert name == f"session-{session.id}.md"
        markdown = content.decode("utf-8")
        assert "\\<b\\>Where\\</b\\> is your passport?" in markdown
        assert "The foreman has my passport." in markdown
        teacher.send(f"/note {session.id} Good open start.")
        assert await teacher.texts(1) == [f"Note saved for session #{session.id}."]
        assert [n.text for n in (await bot.store.get_session(session.id)).notes] == ["Good open start."]
        teacher.send("/transcript 9999")
        assert await teacher.texts(1) == ["There is no session #9999."]
        teacher.send("/transcript")
        assert await teacher.texts(1) == [t("en", "transcript_usage")]
        teacher.send("/help")
        assert await teacher.texts(1) == [t("en", "help") + "\n\n" + t("en", "help_instructor")]


@pytest.mark.parametrize("command", ["/sessions", "/transcript 1", "/cohort", "/note 1 hijack", "/reload"])
async def test_instructor_commands_are_not_available_to_trainees(
    api: FakeBotApi, tmp_path: Path, command: str
) -> None:
    async with running_bot(api, tmp_path, instructors=[INSTRUCTOR]) as bot:
        anna = Trainee(api, 115)
        await _open_interview(anna)
        anna.send(command)
        assert await anna.texts(1) == [t("en", "not_available")]
        assert api.calls_of("sendDocument") == []
        (session,) = await bot.store.list_sessions()
        assert (await bot.store.get_session(session.id)).notes == []


async def test_a_burst_from_one_trainee_gets_one_slow_down(api: FakeBotApi, tmp_path: Path) -> None:
    async with running_bot(api, tmp_path) as bot:
        nina = Trainee(api, 116)
        await _open_interview(nina)
        for _ in range(10):
            nina.send("a number")
        limit = 6  # bot.session.DEFAULT_RATE_LIMIT; the clock stands still, so the whole burst is one window
        answers = await nina.texts(limit + 1)
        assert answers == ["A number? I do not count well."] * limit + [t("en", "slow_down")]
        assert await nina.settle() == []
        session = await bot.store.get_open_session(nina.chat_id)
        assert session is not None and session.turns == limit
        bot.clock.advance(seconds=10)
        nina.send("hello")
        assert await nina.texts(1) == ["Hi. I am Mira."]


async def test_fifty_chats_interleaving_each_get_answers_in_order(api: FakeBotApi, tmp_path: Path) -> None:
    questions = ["hello", "your passport?", "are you paid?", "where do you live", "a number"]
    expected = [
        "Hi. I am Mira.",
        "The foreman has my passport.",
        "He says it is safer.",
        "They have not paid me since spring.",
        "In a container behind the crane.",
        "A number? I do not count well.",
    ]
    async with running_bot(api, tmp_path, delay_scale=0.01) as bot:
        trainees = [Trainee(api, 2000 + i) for i in range(50)]
        for trainee in trainees:
            trainee.send(f"/start {VICTIM}")
        for question in questions:  # round-robin: every chat's messages interleave with every other chat's
            for trainee in trainees:
                trainee.send(question)
        results = await asyncio.gather(
            *(trainee.texts(5 + len(expected), timeout=60) for trainee in trainees)
        )
        assert [r[5:] for r in results] == [expected] * len(trainees)
        sessions = await bot.store.list_sessions(limit=100)
        assert sorted(s.turns for s in sessions) == [len(questions)] * len(trainees)


async def test_a_typing_delay_holds_up_only_its_own_chat(api: FakeBotApi, tmp_path: Path) -> None:
    async with running_bot(api, tmp_path, delay_scale=1.0):
        slow, quick = Trainee(api, 130), Trainee(api, 131)
        await asyncio.gather(_open_interview(slow), _open_interview(quick))

        def typing(chat_id: int) -> int:
            return sum(1 for c in api.calls_of("sendChatAction") if c.params["chat_id"] == chat_id)

        before = typing(slow.chat_id)
        slow.send("tell me your story")  # a long reply: the longest typing pause
        await api.wait_for(lambda: typing(slow.chat_id) > before)
        quick.send("hello")  # a short reply, asked while the slow chat's persona is still typing
        assert await quick.texts(1) == ["Hi. I am Mira."]
        assert api.texts(slow.chat_id)[slow.seen :] == []
        (story,) = await slow.texts(1)
        assert story.startswith("It is a long story.")


async def test_with_a_typing_delay_every_message_is_preceded_by_typing(api: FakeBotApi, tmp_path: Path) -> None:
    async with running_bot(api, tmp_path, delay_scale=0.001):
        anna = Trainee(api, 132)
        await _open_interview(anna)
        anna.send("Where is your passport?")
        assert await anna.texts(2) == ["The foreman has my passport.", "He says it is safer."]
        actions = [c.method for c in api.calls if c.params.get("chat_id") == anna.chat_id][-4:]
        assert actions == ["sendChatAction", "sendMessage", "sendChatAction", "sendMessage"]


class ExplodingService(SessionService):
    """A session service that fails on one word, to exercise the error handler."""

    async def say(self, chat_id: int, trainee_id: int, text: str, update_id: int | None = None):  # type: ignore[no-untyped-def]
        if text == "explode":
            raise RuntimeError(f"boom near {TEST_TOKEN}")
        return await super().say(chat_id, trainee_id, text, update_id)


async def test_errors_are_logged_without_the_token_and_the_bot_keeps_going(
    api: FakeBotApi, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_bot(api, tmp_path, service_factory=ExplodingService):
        # Even if someone turns httpx up again, URLs with the token are redacted.
        httpx_logger = logging.getLogger("httpx")
        httpx_logger.setLevel(logging.DEBUG)
        try:
            olga = Trainee(api, 117)
            await _open_interview(olga)
            olga.send("explode")
            assert await olga.texts(1) == [t("en", "error_generic")]
            olga.send("hello")
            assert await olga.texts(1) == ["Hi. I am Mira."]
        finally:
            httpx_logger.setLevel(logging.WARNING)
    assert any("boom near [REDACTED]" in (r.exc_text or "") for r in caplog.records)
    assert any("/bot[REDACTED]/" in r.getMessage() for r in caplog.records)
    leaked = [r.getMessage() for r in caplog.records if TEST_TOKEN in r.getMessage() + (r.exc_text or "")]
    assert leaked == []
    assert TEST_TOKEN not in caplog.text


async def test_httpx_is_quiet_by_default(api: FakeBotApi, tmp_path: Path) -> None:
    async with running_bot(api, tmp_path):
        assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING


# PTB itself warns while building RetryAfter (int periods are deprecated in v22); that warning is not ours.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_a_flood_limit_is_waited_out_and_the_reply_sent_once(api: FakeBotApi, tmp_path: Path) -> None:
    async with running_bot(api, tmp_path) as bot:
        rita = Trainee(api, 119)
        await _open_interview(rita)
        api.add_fault(Fault("sendMessage", status=429, retry_after=1, when=lambda p: p.get("chat_id") == 119))
        rita.send("hello")
        assert await rita.texts(1) == ["Hi. I am Mira."]
        assert await rita.settle() == []
        session = await bot.store.get_open_session(rita.chat_id)
        assert session is not None and session.turns == 1


async def test_a_busy_store_asks_the_trainee_to_repeat(api: FakeBotApi, tmp_path: Path) -> None:
    store = MemoryStore()
    async with running_bot(api, tmp_path, store=store):
        pavel = Trainee(api, 118)
        await _open_interview(pavel)
        store.fail_next_write(StoreBusy("database is locked"))
        pavel.send("hello")
        assert await pavel.texts(1) == [t("en", "store_busy")]
        pavel.send("hello")
        assert await pavel.texts(1) == ["Hi. I am Mira."]
        session = await store.get_open_session(pavel.chat_id)
        assert session is not None and session.turns == 1


async def test_startup_line_names_personas_failures_and_database(
    api: FakeBotApi, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.channels.telegram")
    async with running_bot(api, tmp_path) as bot:
        pass
    ready = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Understudy ready")]
    assert ready == [f"Understudy ready: 2 personas loaded, failed: none; database {bot.settings.db_path}"]
