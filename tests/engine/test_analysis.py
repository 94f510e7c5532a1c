"""Question-type classifier: tables per type and language, odd input, and the evaluation-set floor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine.analysis import Classification, analyze_lines, classify, with_presumption
from bot.persona.model import QuestionType

DATA = Path(__file__).resolve().parents[1] / "data"
TYPES = {t.value for t in QuestionType}

# Floors per set: (overall, each language). Every set scores 100% after tuning; first-contact figures are in
# docs/analysis.md (held-out 94.8%, blind 94.2%, persona authors' set 66.7% before its fixes, its blind
# check 90.3%; the authors' second-round set 52.0% before its fixes, its blind check 95.6%). The floors leave
# room for harmless drift, not for regressions; the small blind checks (62 and 45 items) get a little more room
# because one miss there costs 1.6 or 2.2 points.
FLOORS: dict[str, tuple[float, float]] = {
    "questions.tsv": (0.97, 0.95),
    "questions_heldout.tsv": (0.97, 0.95),
    "questions_blind.tsv": (0.97, 0.95),
    "questions_authors.tsv": (0.97, 0.95),
    "questions_authors_blind.tsv": (0.95, 0.92),
    "questions_authors2.tsv": (0.97, 0.95),
    "questions_authors2_blind.tsv": (0.95, 0.92),
}
EVAL_SETS = tuple(FLOORS)

EN_CASES = [
    # invitation
    ("Tell me about your job at the site.", "invitation"),
    ("can u tell me abt ur work", "invitation"),
    ("Could you describe the room where you slept?", "invitation"),
    ("Walk me through what happened when you arrived.", "invitation"),
    ("what happend after that", "invitation"),
    ("and then?", "invitation"),
    ("Tell me how you came to be working there.", "invitation"),
    ("What can you tell me about the man who recruited you?", "invitation"),
    # directive, including faux invitations
    ("where were you living", "directive"),
    ("How many people lived in the room?", "directive"),
    ("Why didn't you call the police?", "directive"),
    ("Tell me what colour the van was.", "directive"),
    ("Can you tell me who drove the van?", "directive"),
    ("Do you know where your passport is now?", "directive"),
    ("When you arrived, who met you?", "directive"),
    ("You lived where?", "directive"),
    ("Ask her where she sleeps.", "directive"),
    # option-posing
    ("Did you have a contract?", "option_posing"),
    ("were u scared", "option_posing"),
    ("Tell me whether you were allowed to go out.", "option_posing"),
    ("Can you tell me if you signed a contract?", "option_posing"),
    ("Did you sign anything or was it a verbal agreement?", "option_posing"),
    ("Where did you sleep, in the trailer or in the house?", "option_posing"),
    ("You were alone in the room?", "option_posing"),
    ("Do you remember his name?", "option_posing"),
    # suggestive
    ("He took your passport, didn't he?", "suggestive"),
    ("they kept your passport didnt they", "suggestive"),
    ("Isnt it true you owed them money", "suggestive"),
    ("Didn't he threaten you?", "suggestive"),
    ("You must have been very frightened.", "suggestive"),
    ("you were paid nothing right?", "suggestive"),
    ("Would it be fair to say that he threatened you?", "suggestive"),
    ("Did he not take your documents?", "suggestive"),
    # multiple
    ("Tell me what happened, and did he hit you?", "multiple"),
    ("Where did you live and who did you live with?", "multiple"),
    ("Who took your passport and why?", "multiple"),
    ("Where and when did this happen?", "multiple"),
    ("Were you paid? how much? when?", "multiple"),
    ("ok so where did u work, what did u do there", "multiple"),
    ("Where do you live?\nWho do you live with?", "multiple"),
    # other
    ("ok", "other"),
    ("mhm go on", "other"),
    ("Hello, my name is Anna and I'm a labour inspector.", "other"),
    ("This must be very hard for you.", "other"),
    ("Would you like some water?", "other"),
    ("Is it okay if I take notes?", "other"),
    ("Thank you for telling me that.", "other"),
]

RU_CASES = [
    # invitation
    ("Расскажите, пожалуйста, о вашей работе.", "invitation"),
    ("раскажите про дорогу сюда", "invitation"),
    ("Не могли бы вы рассказать о своей семье?", "invitation"),
    ("Что было дальше?", "invitation"),
    ("А потом?", "invitation"),
    ("Опишите, пожалуйста, комнату, где вы жили.", "invitation"),
    ("Можете подробнее?", "invitation"),
    ("Что-нибудь ещё?", "invitation"),
    # directive, including faux invitations and Russian word order
    ("где вы жили", "directive"),
    ("А паспорт сейчас у кого?", "directive"),
    ("Расскажите, где вы спали.", "directive"),
    ("Скажите, какого цвета был микроавтобус.", "directive"),
    ("Вы помните, как звали этого человека?", "directive"),
    ("Когда вы приехали, кто вас встретил?", "directive"),
    ("скока вам платили", "directive"),
    ("Спросите у неё, где она спит.", "directive"),
    # option-posing
    ("У вас был договор?", "option_posing"),
    ("Был ли у вас договор?", "option_posing"),
    ("Можете сказать, был ли у вас договор?", "option_posing"),
    ("Вам платили наличными или на карту?", "option_posing"),
    ("Вы видели, как он забирал деньги?", "option_posing"),
    ("Вам не платили?", "option_posing"),
    ("Правда ли, что вы были должны им деньги?", "option_posing"),
    ("вам платили", "option_posing"),
    # suggestive
    ("Он ведь забрал ваш паспорт?", "suggestive"),
    ("Вы же его боялись?", "suggestive"),
    ("Разве он вам не угрожал?", "suggestive"),
    ("Он вас бил, да?", "suggestive"),
    ("Вы не могли уйти, не так ли?", "suggestive"),
    ("он забрал паспорт да", "suggestive"),
    ("Вам, наверное, было очень страшно?", "suggestive"),
    ("Не угрожал ли он вашей семье?", "suggestive"),
    # multiple
    ("Где вы жили и кто жил с вами?", "multiple"),
    ("Как вас зовут? Откуда вы?", "multiple"),
    ("Сколько вам лет и есть ли у вас паспорт?", "multiple"),
    ("Кто забрал паспорт и зачем?", "multiple"),
    ("Где и когда это случилось?", "multiple"),
    ("Где ваши документы, их забрали?", "multiple"),
    # other
    ("Понятно.", "other"),
    ("Продолжайте.", "other"),
    ("Спасибо, что рассказали.", "other"),
    ("Вам, наверное, тяжело об этом говорить.", "other"),
    ("Хотите воды?", "other"),
    ("Здравствуйте, меня зовут Анна, я трудовой инспектор.", "other"),
    ("Как вы себя чувствуете?", "other"),
]

# Phenomena persona authors reported (docs/analysis.md, "Framing, hedges and embedded clauses"): one question
# with a lead-in, a hedge, an insertion or an embedded clause is that question, not `multiple`.
AUTHOR_CASES = [
    # a statement or echo before the question
    ("en", "You mentioned a boyfriend, how did you two meet?", "directive"),
    ("en", "u mentioned a debt how much was it", "directive"),
    ("ru", "Вы упомянули долг, сколько вы были должны?", "directive"),
    ("ru", "Вы сказали, что дверь запирали, у кого был ключ?", "directive"),
    # hedges at either end
    ("en", "Do they get paid, do you know?", "option_posing"),
    ("en", "How many hours do they work, would you say?", "directive"),
    ("en", "From what you've seen, do they seem to have enough money?", "option_posing"),
    ("ru", "Как давно она живёт у этой семьи, насколько вы знаете?", "directive"),
    ("ru", "Насколько вы знаете, у неё есть паспорт?", "option_posing"),
    ("ru", "Судя по тому, что вы видели, им хватает денег?", "option_posing"),
    # inserted phrases between commas
    ("en", "Please tell me, in your own words, what happened.", "invitation"),
    ("en", "Could you, in your own words, describe the room?", "invitation"),
    ("en", "Can you tell me, as best you can remember, where you were kept?", "directive"),
    ("ru", "Расскажите, пожалуйста, своими словами, что произошло.", "invitation"),
    # embedded wh- and «ли» clauses, fronted topics
    ("ru", "Что вы говорите людям в школе о том, кто вы?", "directive"),
    ("ru", "А что вы говорите людям в школе, кем вы приходитесь семье?", "directive"),
    ("ru", "что тебе сказал Роман, кем ты будешь работать", "directive"),
    ("ru", "Вы замечали, есть ли у них средства защиты?", "option_posing"),
    ("ru", "Можете рассказать, как вы попали на эту стройку?", "invitation"),
    ("en", "My name is Sara. And you, what should I call you?", "directive"),
    ("en", "What about meal times, how does that work?", "directive"),
    ("ru", "А что насчёт еды, как это устроено?", "directive"),
    ("ru", "Меня зовут Анна. А вы, как вас зовут?", "directive"),
    # two wh- words naming the details of one request (a bare "Where and when ...?" stays multiple)
    ("en", "Can you tell me how and when you receive your wages?", "directive"),
    ("ru", "Скажите, как и когда вам платят зарплату?", "directive"),
    # framing, empathy and signposting before one question
    ("en", "Sorry to ask this, but do you have your passport?", "option_posing"),
    ("en", "I know this is difficult. What would happen if you complained?", "invitation"),
    ("en", "Thanks. Let's talk about money - do you get your salary?", "option_posing"),
    ("ru", "Теперь хочу спросить про документы. Где ваш паспорт?", "directive"),
    ("ru", "Давайте поговорим о деньгах. Вам платят?", "option_posing"),
    ("ru", "Извините, что спрашиваю, но у вас есть паспорт?", "option_posing"),
    ("ru", "Простите за вопрос, но вы общаетесь с семьёй?", "option_posing"),
    ("ru", "Я знаю, что это тяжело, но кто забрал ваш телефон?", "directive"),
    # a signpost alone still invites; empathy alone is other
    ("en", "Let's talk about money.", "invitation"),
    ("ru", "Давайте поговорим о деньгах.", "invitation"),
    ("en", "I know this is difficult.", "other"),
    ("en", "Sorry to ask this.", "other"),
    ("ru", "Простите, что задаю столько вопросов.", "other"),
    ("ru", "Могу только представить, как вам было тяжело.", "other"),
    # «должно быть»: empathy in a statement about a state, a presumption about an event or in a question
    ("ru", "Это, должно быть, очень тяжело.", "other"),
    ("ru", "Вам, должно быть, сейчас очень тяжело.", "other"),
    ("ru", "Вас, должно быть, там били.", "suggestive"),
    ("ru", "Вам, должно быть, не платили?", "suggestive"),
    # guards: real stacks after a frame stay multiple
    ("en", "I know this is hard. Where do you live? Who do you live with?", "multiple"),
    ("en", "Let's talk about money. Were you paid, and how much?", "multiple"),
    ("en", "Do they get paid, and who pays them?", "multiple"),
    ("ru", "Им платят, и кто им платит?", "multiple"),
    ("ru", "Где ваши документы, кто их забрал?", "multiple"),
    ("ru", "Простите, что вы сказали?", "directive"),
    # guards from the persona suites: relative and embedded clauses are not lead-ins
    ("ru", "мы не скажем, кто нам рассказал", "other"),
    ("ru", "Там есть кто-то, кто отдаёт распоряжения?", "option_posing"),
    ("en", "What did the mother tell you about her?", "invitation"),
    ("en", "What did she say about when you could go home?", "directive"),
    ("ru", "Что будет, если вы уйдёте?", "invitation"),
]

OTHER_LANGUAGE_CASES = [
    ("Erzählen Sie mir von Ihrer Arbeit.", "invitation"),
    ("Wo wohnen Sie?", "directive"),
    ("Haben Sie einen Vertrag?", "option_posing"),
    ("Vous étiez payé, n'est-ce pas ?", "suggestive"),
    ("¿Dónde vive usted? ¿Con quién?", "multiple"),
    ("Розкажіть про роботу.", "invitation"),
    ("Danke, das ist sehr hilfreich.", "other"),
]

ODD_INPUTS = [
    "",
    "   ",
    "\n\n\t",
    "😀😀😀",
    "?",
    "??? !!! ...",
    ",,,;;;:::",
    "\u200b\u200d\ufeff",
    "\x00\x01\x1b[31m",
    "a" * 10_000,
    "where " * 3_000,
    "и или ли, " * 2_000,
    "Tell me, " * 500,
    "12345 67.89",
    "ли",
    "did",
    "Ｗｈｅｒｅ ｄｉｄ ｙｏｕ ｌｉｖｅ？",
    "Гдe вы жили?",  # a Latin "e" inside a Cyrillic word
    "\u0301\u0301",
    "❓",
]


@pytest.mark.parametrize(("text", "expected"), EN_CASES, ids=[t for t, _ in EN_CASES])
def test_english_types(text: str, expected: str) -> None:
    got = classify(text, "en")
    assert (got.question_type, got.lang) == (expected, "en")


@pytest.mark.parametrize(("text", "expected"), RU_CASES, ids=[t for t, _ in RU_CASES])
def test_russian_types(text: str, expected: str) -> None:
    got = classify(text, "ru")
    assert (got.question_type, got.lang) == (expected, "ru")


@pytest.mark.parametrize(("lang", "text", "expected"), AUTHOR_CASES, ids=[t for _, t, _ in AUTHOR_CASES])
def test_lead_ins_hedges_and_frames_are_not_second_questions(lang: str, text: str, expected: str) -> None:
    got = classify(text, lang)
    assert (got.question_type, got.lang) == (expected, lang)


# The persona authors' second round (questions_authors2.tsv), with guards that the real cases still hold.
AUTHOR2_CASES = [
    # "right" as a noun is no tag; a real tag still leads
    ("en", "You can stop this conversation at any time, it is your right", "other"),
    ("en", "If you want a break, just tell me, that is your right.", "other"),
    ("en", "He hit you, right?", "suggestive"),
    ("en", "you hit him right", "suggestive"),
    # a positive auxiliary after an if-clause is the main question; a negative tag still leads
    ("en", "If you wanted to quit and go home tomorrow, could you?", "option_posing"),
    ("en", "if you asked for your passport back would they give it to you", "option_posing"),
    ("en", "If your boss told you to stay late, could you say no?", "option_posing"),
    ("en", "You could leave if you wanted to, couldn't you?", "suggestive"),
    # «наверное» about a feeling in a statement is empathy; about an event, or with «?», it leads
    ("ru", "тебе наверное очень тяжело сейчас", "other"),
    ("ru", "наверное вы очень устали с дороги", "other"),
    ("ru", "понятно что вы переживаете за свою работу", "other"),
    ("ru", "Вас, наверное, там били?", "suggestive"),
    ("ru", "вас наверное били", "suggestive"),
    ("ru", "Вам, наверное, тяжело об этом говорить?", "suggestive"),
    # a subordinate «когда»/«что» clause and a «какой» apposition are not second questions
    ("ru", "Было ли что-то оформлено письменно насчёт зарплаты и условий, когда вас принимали на работу?",
     "option_posing"),
    ("ru", "Было ли понятно, сколько вам будут платить, когда вы соглашались?", "option_posing"),
    ("ru", "А откуда вы родом, из какой страны, если не секрет?", "directive"),
    ("en", "Where are you from, which country?", "directive"),
    ("en", "what was the plan when u came here, what job", "directive"),
    ("ru", "Где ваши документы, кто их забрал?", "multiple"),
    ("en", "Where are you from, what is your job?", "multiple"),
    # a bare frame before a colon opens the question after it
    ("ru", "Скажите так: вы можете уходить со двора и приходить, когда захотите?", "option_posing"),
    ("ru", "Ответьте просто: вы можете уйти, когда захотите?", "option_posing"),
    ("en", "Tell me this: were you paid every month?", "option_posing"),
    # two requests for two different facts are multiple; a wh- pair inside a frame is one request
    ("en", "who booked the rooms and for how long", "multiple"),
    ("ru", "кто бронировал комнаты и на какой срок", "multiple"),
    ("en", "can you tell me your name and how old you are", "multiple"),
    ("ru", "как вас зовут и сколько вам лет", "multiple"),
    ("ru", "Скажите, где и с кем вы жили?", "directive"),
    ("en", "Could you tell me where and with whom you stayed?", "directive"),
    # one request restated; a named detail asked without a verb
    ("en", "and you are? your name?", "directive"),
    ("en", "your age?", "directive"),
    ("en", "any contract? paper with your signature?", "multiple"),
    # the interviewer's purpose is information, not an indirect question; "I'd like to find out" asks
    ("ru", "Меня направили сюда выяснить, платят ли работникам этого объекта и обращаются ли с ними по закону.",
     "other"),
    ("ru", "Я здесь, чтобы узнать, всё ли у вас в порядке.", "other"),
    ("en", "I was sent to find out whether the workers here are paid and treated fairly.", "other"),
    ("en", "I'd like to know whether you get paid on time.", "option_posing"),
    ("ru", "Я хочу узнать, платят ли вам вовремя?", "option_posing"),
]


@pytest.mark.parametrize(("lang", "text", "expected"), AUTHOR2_CASES, ids=[t for _, t, _ in AUTHOR2_CASES])
def test_persona_authors_second_round(lang: str, text: str, expected: str) -> None:
    got = classify(text, lang)
    assert (got.question_type, got.lang) == (expected, lang)


@pytest.mark.parametrize(
    ("text", "questions", "cue_part"),
    [
        ("Let's talk about money.", 1, "(signpost)"),
        ("Thanks. Let's talk about money - do you get your salary?", 1, "'do'"),
        ("Please tell me, in your own words, what happened.", 1, "what happened"),
    ],
)
def test_signposts_and_insertions_are_not_counted(text: str, questions: int, cue_part: str) -> None:
    got = classify(text, "en")
    assert (got.questions, cue_part in got.cue) == (questions, True)


@pytest.mark.parametrize(("text", "expected"), OTHER_LANGUAGE_CASES, ids=[t for t, _ in OTHER_LANGUAGE_CASES])
def test_other_languages_fall_back_to_generic_rules(text: str, expected: str) -> None:
    got = classify(text)
    assert (got.question_type, got.lang, "generic rules" in got.cue) == (expected, "other", True)


@pytest.mark.parametrize(
    ("text", "hint", "lang"),
    [
        ("Where did you live?", "auto", "en"),
        ("Где вы жили?", "auto", "ru"),
        ("Где вы жили?", "en", "ru"),  # the hint never forces rules onto a script it cannot read
        ("Where did you live?", "ru", "en"),
        ("ok", "ru-RU", "en"),
        ("😀", "ru", "ru"),  # no letters: the hint decides
        ("😀", "auto", "other"),
    ],
)
def test_language_detection(text: str, hint: str, lang: str) -> None:
    assert classify(text, hint).lang == lang


@pytest.mark.parametrize(
    ("text", "cue_part"),
    [
        ("He took your passport, didn't he?", "tag ending ', didn't he?'"),
        ("Tell me whether you were paid.", "faux invitation"),
        ("Был ли у вас договор?", "«ли»"),
        ("Where did you live and who did you live with?", "2 question clauses"),
        ("Didn't he threaten you?", "negative opening"),
        ("Разве он вам не угрожал?", "«разве»"),
        ("Tell me about your work.", "'tell me'"),
    ],
)
def test_cue_names_the_deciding_signal(text: str, cue_part: str) -> None:
    assert cue_part in classify(text).cue


def test_suggestive_outranks_multiple_and_says_so() -> None:
    got = classify("Where do you live? He took your passport, didn't he?")
    summary = (got.question_type, got.questions, "in a turn of 2 questions" in got.cue)
    assert summary == ("suggestive", 2, True)


def test_recommended_is_invitation_or_directive() -> None:
    flags = {t: classify(t).recommended for t in ("Tell me more.", "Where?", "Did he?", "ok")}
    assert flags == {"Tell me more.": True, "Where?": True, "Did he?": False, "ok": False}


def test_with_presumption_makes_a_suggestive_copy() -> None:
    base = classify("Where is your passport now?", "en")
    got = with_presumption(base, "passport_taken")
    assert got == Classification("suggestive", "presumes undisclosed fact passport_taken", "en", False, 1)
    assert base.question_type == "directive"


def test_classification_is_frozen() -> None:
    c = classify("ok")
    with pytest.raises(AttributeError):
        c.question_type = "directive"  # type: ignore[misc]


@pytest.mark.parametrize("text", ODD_INPUTS, ids=range(len(ODD_INPUTS)))
def test_odd_input_never_raises_and_has_a_cue(text: str) -> None:
    got = classify(text)
    assert (got.question_type in TYPES, bool(got.cue.strip()), got == classify(text)) == (True, True, True)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises(text: str) -> None:
    got = classify(text, "auto")
    assert (got.question_type in TYPES, bool(got.cue.strip())) == (True, True)


def test_analyze_lines_yields_json_ready_rows_for_non_empty_lines() -> None:
    rows = list(analyze_lines(["Where do you live?\n", "   \n", "", "Расскажите о работе\r\n"], "auto"))
    decoded = [json.loads(json.dumps(r, ensure_ascii=False)) for r in rows]
    assert [(r["text"], r["question_type"], r["lang"], r["recommended"]) for r in decoded] == [
        ("Where do you live?", "directive", "en", True),
        ("Расскажите о работе", "invitation", "ru", True),
    ]
    assert all(r["cue"] for r in decoded)


def _load(name: str) -> list[tuple[str, str, str]]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()[1:]
    rows = [tuple(line.split("\t")) for line in lines if line.strip()]
    assert all(len(r) == 3 for r in rows)
    return [(r[0], r[1], r[2]) for r in rows]


def test_evaluation_sets_are_big_balanced_and_valid() -> None:
    rows = [r for name in EVAL_SETS for r in _load(name)]
    by_lang_type = {(lang, label) for lang, label, _ in rows}
    texts = [text for _, _, text in rows]
    assert len(rows) >= 400
    assert {label for _, label, _ in rows} <= TYPES
    assert by_lang_type == {(lang, t) for lang in ("en", "ru") for t in TYPES}
    assert len(texts) == len(set(texts))


@pytest.mark.parametrize("name", EVAL_SETS)
def test_accuracy_floor_on_evaluation_set(name: str) -> None:
    floor_overall, floor_per_language = FLOORS[name]
    rows = _load(name)
    results = [(lang, classify(text).question_type == label) for lang, label, text in rows]
    overall = sum(ok for _, ok in results) / len(results)
    per_lang = {
        lang: sum(ok for lg, ok in results if lg == lang) / sum(1 for lg, _ in results if lg == lang)
        for lang in ("en", "ru")
    }
    assert overall >= floor_overall
    assert min(per_lang.values()) >= floor_per_language


def test_every_cue_in_the_evaluation_sets_is_non_empty() -> None:
    empty = [text for name in EVAL_SETS for _, _, text in _load(name) if not classify(text).cue.strip()]
    assert empty == []
