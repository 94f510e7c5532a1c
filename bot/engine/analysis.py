"""Classify a trainee's utterance by question type, with the cue that decided (see docs/analysis.md).

The classifier is a small, transparent rule system over normalised tokens; it needs no model and no network.

Pipeline:
1. Each line is normalised (``bot.engine.text.normalize``), common chat spellings are mapped ("u" -> "you",
   "скока" -> "сколько") and long cue words are corrected for one or two typos.
2. The text is cut into sentences at ``? ! . ;`` and line breaks; a sentence ending in ``?`` is a question.
3. Hedges and inserted phrases set off by commas ("..., do you know?", "in your own words", "from what
   you've seen, ...", «насколько вы знаете», «судя по тому, что ...») are cut out: they ask nothing. A
   sentence without "?" that states the interviewer's purpose ("I was sent to find out whether ...",
   «Меня направили выяснить, платят ли ...») is a statement as a whole.
4. A tag ending (", didn't he?", ", right?", «, да?», «не так ли?») is taken off the sentence and remembered.
   "..., that is your right." and "If you wanted to quit, could you?" end in no tag.
5. A sentence is cut into clauses at commas and conjunctions, but only where a new question starts there
   ("..., and did he...", "... и кто ...", "..., how did you..."). A clause starting "or"/«или» is an
   alternative, not a new question. Not a new question: an embedded clause after a verb of knowing or
   saying («что он сказал, кем ...», «вы замечали, есть ли ...»), two wh- words naming the details of one
   request ("tell me how and when ..."), a subordinate «..., когда ...» after a noun, an apposition that
   narrows the question ("Where are you from, which country?"). Two requests for two facts joined by
   and/и are two clauses ("who booked the rooms and for how long"). A leading "When you arrived, ..." /
   "if you asked would they ..." or "What about X, ..." clause is subordinate and dropped; so is a bare
   "Tell me, ..." or «Скажите так: ...». A Russian statement before a wh- question («Вы упомянули долг,
   сколько ...?») and an apology or first-person preface («Простите за вопрос, но ...») do not share the
   question's «?».
6. Each clause is classified by the first rule that fires: facilitator or continuation prompt, suggestive
   marker, invitation frame (tell/describe/explain, «расскажите/опишите»; "tell me whether/where" are faux
   invitations; "let's talk about" and «хочу спросить про» are signposts), welfare or procedural check, wh-
   question, yes/no question (auxiliary first, «ли»), intonation question, otherwise a statement.
   «наверное» about a feeling in a statement is empathy, not a leading question.
7. The utterance's type ("and you are?" before another question is dropped first): suggestive if any
   clause is suggestive (a leading question taints the turn, and only that matters for contaminated
   disclosure); otherwise multiple if two or more clauses are questions, where a signpost counts only when
   nothing else asks; otherwise the single question's type; otherwise ``other``.

Everything here is pure and deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Final

from bot.persona.model import RECOMMENDED_TYPES, QuestionType

from .text import MAX_INPUT_CHARS, FuzzyVocabulary, normalize

INVITATION: Final = QuestionType.invitation.value
DIRECTIVE: Final = QuestionType.directive.value
OPTION_POSING: Final = QuestionType.option_posing.value
SUGGESTIVE: Final = QuestionType.suggestive.value
MULTIPLE: Final = QuestionType.multiple.value
OTHER: Final = QuestionType.other.value

LANG_EN: Final = "en"
LANG_RU: Final = "ru"
LANG_OTHER: Final = "other"

# Past this many tokens the rest is ignored: cues sit near clause edges, and this bounds the work per turn.
MAX_TOKENS = 600
# Language detection counts scripts and function words among this many leading tokens.
DETECT_TOKENS = MAX_TOKENS * 2
# A wh- word counts as the head of a Russian question only among the first few words ("А вы где жили?").
RU_WH_WINDOW = 3
# How far after a frame verb ("tell me ...") the classifier looks for the word that decides its type.
FRAME_TAIL_WINDOW = 7


@dataclass(frozen=True, slots=True)
class Classification:
    """The question type of one utterance and the human-readable cue that decided it."""

    question_type: str
    cue: str
    lang: str
    recommended: bool
    questions: int = 0


def _result(qtype: str, cue: str, lang: str, questions: int) -> Classification:
    return Classification(qtype, cue, lang, qtype in RECOMMENDED_TYPES, questions)


def with_presumption(c: Classification, fact_id: str) -> Classification:
    """Return ``c`` upgraded to suggestive because it presumes the undisclosed fact ``fact_id``."""
    return replace(c, question_type=SUGGESTIVE, cue=f"presumes undisclosed fact {fact_id}", recommended=False)


# ------------------------------------------------------------------------------------------------ tokenising


def _ws(words: str) -> frozenset[str]:
    """Build a word set normalised exactly like input text (casefold, ё -> е, accents dropped)."""
    return frozenset(normalize(w) for w in words.split())


_TOKEN_RE = re.compile(r"\d+(?:[.:,]\d+)*|[^\W\d_]+(?:['\-][^\W\d_]+)*|\?|!|\.{2,}|…|[.;]|[,:—–]|\s-\s")
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "‘": "'"})
_SENTENCE_END = frozenset({"?", "!", ".", ";", "…"})
_COMMA = ","
_CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")
_LATIN_RE = re.compile(r"[a-z]")
_UKRAINIAN_LETTERS = frozenset("іїєґ")
_TO_CYRILLIC = str.maketrans("aceopxykmht", "асеорхукмнт")
_TO_LATIN = str.maketrans("асеорхук", "aceopxyk")
_INDEFINITE_SUFFIXES = frozenset({"нибудь", "либо", "то"})
_INDEFINITE_BASES = _ws(
    "кто что где когда как куда откуда кого кому чем какой какая какое какие чей"
)


@dataclass(slots=True)
class _Sentence:
    """Word tokens of one sentence; ``commas`` holds indices of words preceded by a comma, colon or dash."""

    words: list[str]
    commas: set[int]
    qmark: bool
    terminal: str
    colons: set[int] = field(default_factory=set)


def _sentences(tokens: list[str], spelling: dict[str, str], fuzzy: FuzzyVocabulary | None) -> list[_Sentence]:
    out: list[_Sentence] = []
    words: list[str] = []
    commas: set[int] = set()
    colons: set[int] = set()
    for raw in tokens:
        tok = raw.strip()
        if tok in _SENTENCE_END or tok.startswith(".."):
            if words:
                out.append(_Sentence(words, commas, tok == "?", tok, colons))
            elif tok == "?" and out:
                out[-1].qmark = True  # "what?!" or "where??"
            words, commas, colons = [], set(), set()
            continue
        if tok in (",", ":", "—", "–", "-"):
            commas.add(len(words))
            if tok == ":":
                colons.add(len(words))
            continue
        if not tok.isascii() and _LATIN_RE.search(tok) and _CYRILLIC_RE.search(tok):
            tok = _unmix(tok)
        tok = spelling.get(tok, tok)
        glued = len(words) not in commas
        if tok in _INDEFINITE_SUFFIXES and words and words[-1] in _INDEFINITE_BASES and glued:
            words[-1] = f"{words[-1]}-{tok}"  # «когда нибудь» typed without the hyphen is «когда-нибудь»
            continue
        if fuzzy is not None and len(tok) >= 5 and tok not in fuzzy:
            tok = fuzzy.correct(tok) or tok
        words.append(tok)
        if len(words) >= MAX_TOKENS:
            break
    if words:
        out.append(_Sentence(words, commas, False, "", colons))
    return out


def _unmix(token: str) -> str:
    """Map look-alike letters so a token typed in two scripts is in the script most of it uses."""
    cyr = len(_CYRILLIC_RE.findall(token))
    lat = len(_LATIN_RE.findall(token))
    return token.translate(_TO_CYRILLIC if cyr >= lat else _TO_LATIN)


def _detect(words: Sequence[str], hint: str) -> str:
    cyr = lat = 0
    for w in words:
        if w.isascii():
            lat += w[0].isalpha()  # an ASCII token is a word (starts with a letter), a number or punctuation
        else:
            cyr += _CYRILLIC_RE.search(w) is not None
            lat += _LATIN_RE.search(w) is not None
    if hint == LANG_RU and cyr:
        return LANG_RU
    if hint == LANG_EN and lat:
        return LANG_EN
    if cyr > lat:
        return LANG_OTHER if any(ch in _UKRAINIAN_LETTERS for w in words for ch in w) else LANG_RU
    if lat:
        en = sum(1 for w in words if w in _EN_COMMON)
        foreign = sum(1 for w in words if w in _FOREIGN_COMMON)
        return LANG_OTHER if foreign > en else LANG_EN
    return hint if hint in (LANG_EN, LANG_RU) else LANG_OTHER


_EN_COMMON = _ws(
    "you u the did what where your is are was were tell me how who why when do have i a and to of he she "
    "they it "
    "my this that can could would in on at with about not"
)
_FOREIGN_COMMON = _ws(
    "sie der die das und ich nicht ist sind haben wo wie warum wann erzählen mir ihr ihre "
    "vous le les est et je que qui où comment pourquoi quand avez êtes votre moi "
    "usted el los es y qué dónde cómo cuándo por tiene está su me cuénteme "
    "lei il che è dove perché quando ha suo mi "
    "você o onde como quando tem seu"
)

# ------------------------------------------------------------------------------------------- word lists (en)

_EN_SPELLING: dict[str, str] = {
    "u": "you", "ya": "you", "yu": "you", "r": "are", "ur": "your", "abt": "about", "bout": "about",
    "pls": "please", "plz": "please", "thx": "thanks", "ty": "thanks", "wat": "what", "wht": "what",
    "waht": "what",
    "whta": "what", "whats": "what", "what's": "what", "hw": "how", "hows": "how", "how's": "how",
    "wher": "where",
    "whre": "where", "wheres": "where", "where's": "where", "wen": "when", "whn": "when", "when's": "when",
    "whos": "who", "who's": "who", "hwo": "who", "wich": "which", "whitch": "which", "y'all": "you",
    "tel": "tell",
    "tll": "tell", "thru": "through", "throu": "through", "cud": "could", "cld": "could", "wud": "would",
    "wld": "would", "shud": "should",
    "didnt": "didn't", "dont": "don't", "doesnt": "doesn't", "isnt": "isn't", "arent": "aren't",
    "wasnt": "wasn't", "werent": "weren't", "havent": "haven't", "hasnt": "hasn't", "hadnt": "hadn't",
    "cant": "can't", "couldnt": "couldn't", "wouldnt": "wouldn't", "shouldnt": "shouldn't", "wont": "won't",
    "mustve": "must've", "im": "i'm", "id": "i'd", "happend": "happened", "hapened": "happened",
    "happned": "happened", "happenned": "happened", "okey": "ok", "okay": "ok", "k": "ok", "kk": "ok",
    "mmm": "mm", "hmm": "mm", "hm": "mm", "uhhuh": "mhm", "ummm": "um", "yea": "yeah", "ya'll": "you",
}
_EN_FUZZY = FuzzyVocabulary(
    _ws("describe explain happened whether where which about through anything everything remember elaborate "
    "something surely obviously telling describing explaining")
)
_EN_FILLERS = _ws(
    "ok so and well now alright right please thanks um uh er erm ah oh mm mhm yes yeah yep sure great good "
    "fine "
    "sorry listen look also but then hi hello hey thank"
)
_EN_FILLER_BIGRAMS = frozenset(
    {("thank", "you"), ("excuse", "me"), ("i", "see"), ("got", "it"), ("all", "right")}
)
_EN_FACILITATORS = frozenset(
    {
        ("go", "on"), ("continue",), ("carry", "on"), ("please", "continue"), ("i", "see"),
        ("i", "understand"),
        ("mhm",), ("uh", "huh"), ("mm",), ("ok",), ("i'm", "listening"), ("i", "am", "listening"),
        ("keep", "going"),
        ("really",), ("thanks",), ("thank", "you"), ("understood",), ("got", "it"), ("right",),
        ("i", "hear", "you"),
    }
)
_EN_WH = _ws(
    "who whom whose what where when why which how"
)
_EN_AUX = _ws(
    "do does did is are am was were have has had can could would will shall should may might"
)
_EN_NEG_AUX = _ws(
    "didn't don't doesn't isn't aren't wasn't weren't haven't hasn't hadn't can't couldn't wouldn't "
    "shouldn't "
    "won't mustn't ain't"
)
_EN_PRONOUNS = _ws(
    "i you he she it we they there"
)
_EN_SUBJECTS = _EN_PRONOUNS | _ws(
    "this that these those the your his her their my our anyone anybody someone somebody everyone everybody "
    "nobody any all"
)
_EN_HOW_DETAIL = _ws(
    "many much long old often far big tall soon late early"
)
_EN_DETAIL_NOUNS = _ws(
    "name names surname colour color time date day year month address number phone kind type sort brand "
    "model "
    "size age language nationality city town country street amount price salary"
)
# Details that make "what the man's name was" a request for one fact, wherever they stand in the clause.
_EN_NAMED_DETAILS = frozenset({"name", "names", "surname", "address", "number", "age"})
# "your name?", "full name?": a verbless question for one named detail.
_EN_OWNERS = _ws("your his her their full real first last phone home")
# "I'm Anna - and you are?": an elliptical request for the other person's name.
_EN_YOU_ARE = ["you", "are"]
_EN_OPEN_VERBS = _ws(
    "describe describing explain explaining elaborate share walk talk take go"
)
_EN_THROUGH_VERBS = frozenset({"walk", "talk", "take", "go"})
_EN_TELL_VERBS = frozenset({"tell", "telling", "say", "saying", "ask"})
# Through an interpreter: "Ask her where she sleeps" is the question "Where do you sleep?".
_EN_ASK_OBJECTS = frozenset({"him", "her", "them", "the", "your", "this", "that"})
_EN_AUX_ANY = _EN_AUX | {"any"}
_EN_AUX_ALL = _EN_AUX | _EN_NEG_AUX
_EN_WH_PRONOUNS = _EN_WH | _EN_PRONOUNS
_EN_WH_TURN = _EN_WH | {"turn"}
_EN_STARTER_VERBS = _EN_TELL_VERBS | {"describe", "explain"}
_EN_KNOW_VERBS = frozenset({"know", "remember", "recall", "idea", "wonder", "wondering"})
# "I'd like to know where ..." and "I was wondering how ..." request; "I know this is hard" says something.
_EN_REQUEST_WORDS = frozenset({"like", "want", "need", "love", "let", "wonder", "wondering"})
_EN_SELF_STARTS = frozenset({"i", "i'd", "i'm", "let"})
# "Let's talk about money." announces a topic: an invitation alone, a frame before a real question.
_EN_SIGNPOST_WORDS = frozenset({"let's", "lets", "let", "like", "want", "going"})
# Wh- words that ask for one detail; "how and when you get paid" therefore asks for details, not a story.
_EN_DETAIL_WH = frozenset({"when", "where", "who", "whom", "whose", "which"})
_EN_COORD = frozenset({"and", "or"})
_EN_FRAME_PREFIX = _ws(
    "can could would will you please maybe perhaps i i'd want like to now just try let's lets mind kindly "
    "also go ahead and do think it be possible for able need"
)
_EN_KNOW_PREFIX = _ws(
    "can could do would you i i'd want like to let me any was am i'm"
)
_EN_TAIL_SKIP = _ws(
    "him her them "
    "me us to please again a bit little briefly in your own words exactly honestly now just us"
)
_EN_ABOUT = _ws(
    "about everything more anything something all story of regarding"
)
_EN_HAPPEN = frozenset({"happened", "happen", "happens", "happening", "occurred", "went"})
_EN_NEXT = frozenset({"next", "then", "after", "afterwards", "later"})
_EN_CONTINUATION_WORDS = _ws(
    "and so then what next after that afterwards happened else ok please"
)
_EN_TAG_WORDS_NO_COMMA = frozenset({"right", "correct"})
# "..., that is your right." / "all right": after an owner or determiner "right" is a noun or adverb, not a tag.
_EN_RIGHT_NOT_TAG = _ws("your my his her their our its the a every all legal human full basic")
# "If you wanted to quit, could you?": after a condition a positive "could you?" is the main question.
# "Where are you from, which country?": a wh- phrase after a wh- question restates it.
_EN_APPOSITION_WH = frozenset({"which", "what", "whose"})
_EN_CONDITION_HEADS = frozenset({"if", "suppose", "supposing"})
# "if you asked for it back would they give it": the inverted auxiliary that starts the main clause.
_EN_MAIN_AUX = _ws("would could will can should might did do")
_EN_TAG_WORDS_COMMA = frozenset({"yes", "yeah", "no", "true", "huh", "eh", "innit", "yep"})
_EN_TAG_PHRASES: tuple[tuple[str, ...], ...] = (
    ("isn't", "that", "right"), ("is", "that", "right"), ("is", "that", "correct"), ("isn't", "that", "so"),
    ("am", "i", "right"), ("isn't", "it"), ("is", "it", "not"), ("right", "yes"), ("yes", "or", "no"),
    ("is", "that", "true"), ("isn't", "that", "true"),
)
_EN_SUGGESTIVE_PHRASES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("isn't", "it", "true"), "'isn't it true'"),
    (("is", "it", "not", "true"), "'is it not true'"),
    (("isn't", "that", "true"), "'isn't that true'"),
    (("wouldn't", "you", "agree"), "'wouldn't you agree'"),
    (("would", "you", "agree"), "'would you agree'"),
    (("would", "it", "be", "fair"), "'would it be fair to say'"),
    (("fair", "to", "say"), "'fair to say'"),
    (("don't", "you", "think"), "'don't you think'"),
    (("surely",), "'surely'"),
    (("obviously",), "'obviously'"),
    (("i", "bet"), "'I bet'"),
    (("admit",), "'admit'"),
    (("of", "course", "you"), "'of course you...'"),
    (("of", "course", "he"), "'of course he...'"),
    (("of", "course", "they"), "'of course they...'"),
)
_EN_SURE_WORDS = frozenset({"sure", "certain"})
_EN_SURE_SUBJECTS = frozenset({"he", "she", "they", "someone", "somebody", "the", "your"})
_EN_MUST_HAVE_BLOCKERS = frozenset({"this", "it", "that", "which", "what"})
# "Do you want to take a break?" offers something; "Do you want to go home?" asks the person's view.
_EN_WELFARE_WANTS = ("take", "stop", "rest", "call", "sit", "continue", "drink", "eat")
_EN_WELFARE: tuple[tuple[str, ...], ...] = (
    ("would", "you", "like"), ("do", "you", "need"), ("do", "you", "want", "some"),
    ("do", "you", "want", "a"),
    ("do", "you", "want", "water"),
    *(("do", "you", "want", "to", v) for v in _EN_WELFARE_WANTS),
    ("is", "it", "ok"), ("is", "it", "alright"), ("is", "that", "ok"), ("can", "i", "get"),
    ("can", "i", "offer"),
    ("can", "i", "ask"), ("may", "i"), ("shall", "we"), ("should", "we"), ("can", "we"),
    ("do", "you", "understand"),
    ("can", "you", "hear"), ("how", "are", "you"), ("how", "do", "you", "feel"), ("do", "you", "speak"),
    ("are", "you", "ok"), ("are", "you", "alright"), ("are", "you", "comfortable"), ("are", "you", "ready"),
    ("are", "you", "warm"), ("are", "you", "cold"), ("are", "you", "hungry"), ("are", "you", "thirsty"),
    ("do", "you", "have", "any", "questions"), ("any", "questions"), ("you", "ok"), ("is", "this", "ok"),
    ("did", "you", "understand"), ("are", "you", "following"), ("does", "that", "make", "sense"),
    ("have", "you", "had", "enough"), ("would", "you", "prefer"), ("do", "you", "mind", "if"),
    ("is", "there", "anything", "you", "want", "to", "ask"), ("is", "there", "anything", "you", "need"),
    ("is", "there", "anything", "i", "can"),
)
_EN_ANYTHING_ELSE: tuple[tuple[str, ...], ...] = (("anything", "else"), ("something", "else"))
_EN_MORE_DETAIL: tuple[tuple[str, ...], ...] = (
    ("more", "detail"), ("more", "details"), ("in", "detail"), ("tell", "more"),
)
_EN_PREPOSITIONS = _ws("in for from with to at by on about under since until")
_EN_SUBORDINATORS = _ws(
    "when if after before once while since because as"
)
_EN_GREETING = _ws(
    "hello hi hey morning afternoon evening welcome"
)
_EN_INTRO = (("my", "name"), ("i'm", "a"), ("i", "am", "a"), ("i'm", "from"), ("i", "work"), ("we", "are"))
_EN_EMPATHY = _ws(
    "sorry thank thanks understand safe time rush trouble fault brave listen"
)
_EN_CHOICE = frozenset({"or"})
# A wh- word right after these opens an embedded clause ("tell me where ...", "no idea how ...").
_EN_NO_BREAK_BEFORE_WH = (
    _EN_KNOW_VERBS | _EN_TELL_VERBS | _EN_OPEN_VERBS | _EN_PREPOSITIONS
    | _ws("me us sure asked wonder understand see is was")
)

# ------------------------------------------------------------------------------------------- word lists (ru)

_RU_SPELLING: dict[str, str] = {
    "чо": "что", "че": "что", "што": "что", "шо": "что", "чё": "что", "скока": "сколько", "скоко": "сколько",
    "сколька": "сколько", "кагда": "когда", "када": "когда", "кохда": "когда", "гле": "где", "гд": "где",
    "хде": "где", "пачему": "почему", "почиму": "почему", "пачиму": "почему", "зочем": "зачем",
    "зачм": "зачем",
    "ктo": "кто", "каво": "кого", "наверно": "наверное", "ок": "ок", "окей": "ок", "оке": "ок", "ок.": "ок",
    "щас": "сейчас", "тока": "только", "ваще": "вообще", "расскажити": "расскажите", "раскажи": "расскажи",
    "раскажите": "расскажите", "опешите": "опишите", "опеши": "опиши", "обьясните": "объясните",
    "обьясни": "объясни", "обьяснить": "объяснить", "разьве": "разве", "нетак": "не", "ага": "ага",
}
_RU_FUZZY = FuzzyVocabulary(
    _ws(
        "расскажите расскажи рассказать опишите описать объясните объяснить поясните пояснить поделитесь "
        "почему сколько насколько когда случилось произошло наверное наверняка неужели подробнее поподробнее "
        "продолжайте"
    )
)
_RU_FILLERS = _ws(
    "а и ну так хорошо ладно понятно ясно спасибо слушайте послушайте простите извините значит вот теперь "
    "тогда "
    "ок да угу ага хм эм м итак пожалуйста отлично понял поняла хорошо окей"
)
_RU_FACILITATORS = frozenset(
    {
        ("понятно",), ("ясно",), ("угу",), ("ага",), ("продолжайте",), ("продолжай",), ("слушаю",),
        ("я", "слушаю"),
        ("понимаю",), ("я", "понимаю"), ("хорошо",), ("ок",), ("да",), ("так",), ("правда",), ("спасибо",),
        ("продолжайте", "пожалуйста"), ("пожалуйста", "продолжайте"), ("я", "вас", "слушаю"), ("ясненько",),
        ("понял",), ("поняла",), ("ладно",), ("отлично",), ("м",), ("хм",), ("да", "я", "слушаю"),
    }
)
_RU_WH = _ws(
    "кто кого кому кем ком что чего чему чем чём где куда откуда когда как почему зачем отчего сколько "
    "чей чья чье чьи чьего чьей чьим чьих какой какая какое какие какого какую каком каким какими каких "
    "какому "
    "каков какова каковы"
)
# Wh- words that after a comma usually open a subordinate clause, not a new question.
_RU_WH_SUBORDINATE = frozenset({"когда", "где", "куда", "откуда"})
_RU_SUBORDINATORS = frozenset({"когда", "если", "пока", "после", "перед", "как-только"})
# A wh- word right after one of these is a conjunction or relative pronoun ("спасибо, что", "видели, как").
_RU_NOT_WH_AFTER = _ws(
    "спасибо жаль рад рада хорошо уверен уверена думаю знаю вижу понимаю всё все то это тот так тем ни "
    "кроме чем ли правда верно известно значит понятно ясно"
)
# «как я уже сказала», «как и раньше», «как будто»: «как» as a conjunction, not a question word.
_RU_KAK_CONJUNCTION = frozenset({"я", "мы", "и", "будто", "бы", "только"})
_RU_DEMONSTRATIVES = _ws("том того тому тем то те тех теми та той ту")
_RU_COMPLEMENT_PREFIXES = (
    "зна", "помн", "видел", "видит", "видишь", "видите", "видела", "слыш", "сказ", "говор", "реш", "объясн",
    "спраш", "спрос", "понима", "понял", "дума", "замеч", "замет", "узна", "выясн", "сообщ", "показ",
    "интерес", "представ",
    "проверя", "спрашива", "уточн", "писал", "писа", "читал",
)
_RU_INV_VERBS = _ws(
    "расскажите расскажи рассказать расскажешь расскажете опишите опиши описать опишете объясните объясни "
    "объяснить поясните поясни пояснить поделитесь поделись поделиться перескажите перескажи услышать "
    "послушать"
)
# Verbs that ask for a specific answer; with a wh- clause after them they make a faux invitation.
_RU_TELL_VERBS = _ws(
    "скажите скажи сказать скажете подскажите подскажи уточните уточни уточнить назовите назови назвать "
    "вспомните вспомни вспомнить знать узнать"
)
# Through an interpreter: «Спросите у неё, где она спит» is the question «Где вы спите?».
_RU_ASK_VERBS = frozenset({"спросите", "спроси", "спросить", "узнайте", "уточните"})
_RU_ASK_INFINITIVES = frozenset({"спросить", "узнать", "уточнить"})
_RU_ASK_OBJECTS = _ws("у его её ее него неё нее их них ему ей им")
_RU_NAME_VERBS = frozenset({"назовите", "назови", "назвать", "уточните", "уточни", "уточнить"})
_RU_KNOW_VERBS = frozenset({"знаете", "знаешь", "помните", "помнишь", "припоминаете", "представляете"})
_RU_FRAME_PREFIX = _ws(
    "вы ты можете можешь могли мог могла бы не сможете пожалуйста мне нам хотите хотелось хочу чтобы "
    "попробуйте ещё еще что-нибудь что-то теперь давайте а и ну ли сейчас подробно подробнее коротко кратко "
    "немного вкратце"
)
_RU_TAIL_SKIP = _ws(
    "у его её ее него неё нее их них ему ей им "
    "мне нам пожалуйста своими словами подробно вкратце коротко честно точно сначала вы ты ещё еще "
    "теперь сейчас"
)
_RU_ABOUT = _ws(
    "о об обо про подробнее поподробнее подробно всё все больше побольше немного историю что-нибудь что-то"
)
_RU_HAPPEN = frozenset({"случилось", "произошло", "происходило", "приключилось", "стряслось"})
_RU_NEXT = frozenset({"дальше", "потом", "затем", "после", "далее", "этого"})
_RU_CONTINUATION_WORDS = _ws(
    "а и что ну так дальше потом затем после этого было случилось произошло далее"
)
_RU_HOW_DETAIL = _ws(
    "звали зовут называется называлась называлось далеко часто долго много давно скоро поздно рано"
)
_RU_DETAIL_NOUNS = _ws(
    "имя имени фамилию фамилия фамилии отчество адрес адреса возраст номер номера дату дата числа число "
    "цвет цвета время название названия марку марка"
)
_RU_WHAT_DETAIL = frozenset({"за"})
_RU_TAGS: tuple[tuple[tuple[str, ...], bool], ...] = (
    # (words, needs a comma before)
    (("не", "так", "ли"), False), (("не", "правда", "ли"), False), (("так", "ведь"), False),
    (("да", "ведь"), False), (("ведь", "так"), False), (("верно",), False), (("да",), False),
    (("правильно",), True), (("правда",), True), (("так",), True), (("не",), True), (("ага",), True),
    (("не", "так"), True), (("не", "правда"), True), (("так", "же"), True),
)
_RU_SUGGESTIVE_WORDS: dict[str, str] = {
    "разве": "particle «разве»",
    "неужели": "particle «неужели»",
    "наверняка": "«наверняка» (surely)",
    "согласитесь": "«согласитесь» (agree that...)",
    "признайтесь": "«признайтесь» (admit it)",
    "признайте": "«признайте» (admit it)",
    "признайся": "«признайся» (admit it)",
}
_RU_ZHE_NOT_AFTER = _ws(
    "тот та то те того той том тем такой такая такие там тогда так туда оттуда сразу здесь тут один одна "
    "одно "
    "тому та сейчас"
)
_RU_WELFARE: tuple[tuple[str, ...], ...] = (
    ("хотите", "воды"), ("хотите", "пить"), ("хотите", "чаю"), ("хотите", "чай"), ("хотите", "есть"),
    ("хотите", "перерыв"), ("хотите", "отдохнуть"), ("хотите", "прерваться"),
    ("хотите", "сделать", "перерыв"),
    ("хотите", "чтобы"), ("хотите", "позвонить"), ("вам", "нужен"), ("вам", "нужна"), ("вам", "нужно"),
    ("вам", "нужны"), ("вам", "удобно"), ("вам", "холодно"), ("вам", "жарко"), ("вам", "понятно"),
    ("вам", "комфортно"), ("вы", "готовы"), ("можно", "я"), ("можно", "мне"), ("можно", "вас"),
    ("как", "вы", "себя", "чувствуете"), ("как", "ты", "себя", "чувствуешь"), ("как", "дела"),
    ("как", "самочувствие"), ("вам", "налить"), ("принести", "вам"), ("давайте", "продолжим"), ("продолжим",),
    ("у", "вас", "есть", "вопросы"), ("есть", "ли", "у", "вас", "вопросы"), ("вы", "меня", "понимаете"),
    ("понимаете", "меня"),
    ("вы", "меня", "поняли"),
    ("вам", "лучше"), ("вы", "в", "порядке"), ("всё", "в", "порядке"), ("все", "в", "порядке"),
    ("не", "хотите", "ли"), ("хотите", "ли"), ("вы", "бы", "предпочли"), ("вы", "предпочитаете"),
    ("вам", "удобнее"), ("вам", "было", "бы", "удобнее"),
)
# «Давайте ...?», «Можно ...?», «Хотите ...?» propose or offer something; «можно ли» asks about the case.
_RU_TALK_ABOUT = frozenset({"поговорим", "обсудим", "вспомним"})
_RU_OFFER_OPENERS = frozenset({"давайте", "можно", "хотите", "хочешь", "желаете"})
_RU_SECOND_PERSON = _ws(
    "вы вам вас ты тебе тебя у"
)
_RU_REASSURANCE = _ws(
    "будешь будете конфиденциально конфиденциальный между никто никому ничего обещаю безопасности право "
    "права "
    "волнуйся волнуйтесь бойся бойтесь торопись торопитесь спасибо жаль сочувствую можем давай давайте "
    "если пожалуйста отказаться захочешь захотите хотите хочешь хотела хотел хотелось чтобы"
)
_RU_FIRST_PERSON = _ws("я мы меня мне нам нас мной")
_RU_MODALS = _ws("можешь можете могла мог могли")
_RU_2ND_PERSON_ENDINGS = ("ешь", "ишь", "ете", "ите", "ешься", "ишься", "етесь", "итесь")
_RU_3PL_ENDINGS = ("ют", "ят", "ут", "ат")
_RU_UNPUNCTUATED_OPENERS = frozenset(
    {"вам", "вас", "вы", "ты", "тебе", "тебя", "он", "она", "они", "кто-нибудь", "кто-то", "у"}
)
_RU_GREETING = _ws(
    "здравствуйте здравствуй привет добрый доброе"
)
_RU_INTRO = (
    ("меня", "зовут"), ("я", "из"), ("я", "работаю"), ("мы", "из"), ("я", "трудовой"), ("я", "инспектор"),
)
_RU_CHOICE = frozenset({"или", "либо"})
_RU_TELL_VERBS_NOT_SAY = _RU_TELL_VERBS - {"сказать"}
# A wh- word after these opens an embedded clause: «о том, кто вы», «можете рассказать, как ...».
_RU_EMBEDDING = (
    _RU_DEMONSTRATIVES | _RU_INV_VERBS | _RU_TELL_VERBS | _RU_ASK_VERBS
    # «кто-то, кто отдаёт распоряжения», «все, кто там работал»: a relative clause
    | _ws("кто-то кто-нибудь что-то что-нибудь никто ничего все всех всем такой такие такого человек люди")
)
_RU_COORD = frozenset({"и", "или"})
# «Откуда вы, из какой страны?»: a «какой» phrase after a wh- question restates it.
_RU_APPOSITION_WH = _ws("какой какая какое какие какого какую каком каким какими каких какому чей чья чье чьи")
_RU_PERSONAL = _ws("я мы вы ты он она они оно меня мне нас нам вас вам тебя тебе его ему её ее ей их им")
_RU_PREPOSITIONS = _ws("с у в во на о об по для от до из за к")
# «как» and «что» can ask for a story («расскажите, как ...»); the other wh- words ask for a detail.
_RU_OPEN_WH = frozenset({"как", "что"})
# Wh- words that after a comma are nearly always conjunctions, so they never open a new question there.
_RU_WH_CONJUNCTIONS = frozenset({"что", "чем", "чего", "чему"})
# Clause openings that address the interviewee; only these lead in to a question without punctuation.
_RU_ADDRESSED = [["вы"], ["ты"], ["вам"], ["тебе"], ["вас"], ["тебя"], ["у"]]
# «Вы сказали / упомянули ...»: an echo of the interviewee's words before a question.
_RU_ECHO_PREFIXES = ("сказал", "говорил", "упомянул", "упоминал", "рассказ", "назвал", "писал")
# «Извините, что спрашиваю»: after an apology «что» is a conjunction, unless a subject follows («что вы ...»).
_RU_WHAT_SUBJECTS = _ws("вы ты он она они оно это там случилось произошло было")
_RU_APOLOGY = _ws("простите извините прости извини спасибо сочувствую понимаю жаль")
# Adverbs that look like neuter past-tense verbs (-ло): «тяжело» is a state, not an event.
# «Тебе, наверное, очень тяжело» (no «?») is empathy about a state; «вас, наверное, били» presumes an event.
_RU_FEELINGS = _ws(
    "тяжело трудно страшно непросто нелегко одиноко больно обидно грустно плохо сложно тревожно стыдно "
    "неприятно жутко горько тоскливо тяжко страшновато устали устал устала напуганы напугана напуган "
    "испугались испугалась испугался боитесь боишься волнуетесь волнуешься переживаете переживаешь "
    "скучаете скучаешь грустите грустишь"
)
_RU_WAS = _ws("было был была были")
_RU_LO_ADVERBS = _ws("тяжело тепло светло мало весело зло смело умело пошло бело кругло гнило")
_RU_OBJECT_PRONOUNS = _ws("их его её ее им ему ей")
_RU_CLAUSE_PRONOUNS = _ws(
    "он она они вы вас вам у ты тебя тебе кто-нибудь кто-то"
)

# ------------------------------------------------------------------------------------------- generic (other)

_GEN_WH = _ws(
    "wer wen wem wessen wo wohin woher wann wie warum wieso weshalb welche welcher welches wieviel "
    "qui quoi où quand comment pourquoi combien quel quelle quels quelles "
    "quién quien qué dónde cuándo cómo cuánto cuánta cuántos cuál "
    "chi cosa dove quando come perché quanto quale "
    "quem onde porquê qual "
    "хто що де коли як чому скільки який яка яке куди звідки навіщо "
    "kim ne nerede nasıl neden niye kaç hangi"
)
_GEN_INV = _ws(
    "erzählen erzähl erzählt beschreiben beschreib erklären erklär raconte racontez racontez-moi décrivez "
    "décris "
    "expliquez explique cuénteme cuéntame cuente cuéntenos describa descríbame explíqueme racconti racconta "
    "raccontami descriva descrivi spieghi conte conta descreva розкажіть розкажи опишіть опиши поясніть "
    "поясни "
    "anlatın anlat açıklayın"
)
_GEN_TAG_PHRASES = frozenset(
    normalize(p)
    for p in (
        "nicht wahr", "oder", "n'est-ce pas", "hein", "non", "verdad", "no", "vero", "non è vero", "né",
        "não é",
        "правда", "так", "чи не так", "хіба ні", "değil mi", "right",
    )
)


# ------------------------------------------------------------------------------------------- clause verdicts


@dataclass(frozen=True, slots=True)
class _Verdict:
    qtype: str
    cue: str
    question: bool
    # A signpost ("Let's talk about money.", «Хочу спросить про документы.») invites talk only when nothing
    # else in the turn asks; before a real question it frames that question and is not a second one.
    soft: bool = False


def _q(qtype: str, cue: str) -> _Verdict:
    return _Verdict(qtype, cue, True)


def _signpost(cue: str) -> _Verdict:
    return _Verdict(INVITATION, f"{cue} (signpost)", True, soft=True)


def _stmt(cue: str) -> _Verdict:
    return _Verdict(OTHER, cue, False)


_Span = tuple[int, int, bool, bool]


@dataclass(slots=True)
class _Clause:
    """A clause: all its words, where the content starts after fillers, and its sentence's punctuation."""

    words: list[str]
    start: int
    qmark: bool
    terminal: str
    unpunctuated: bool
    commas: set[int] = field(default_factory=set)
    alternative: bool = False
    ends_at_comma: bool = False

    @property
    def body(self) -> list[str]:
        return self.words[self.start :]


def _by_first(seqs: Iterable[tuple[str, ...]]) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Index word sequences by their first word, keeping declaration order, so a clause checks only a few."""
    index: dict[str, list[tuple[str, ...]]] = {}
    for seq in seqs:
        index.setdefault(seq[0], []).append(seq)
    return {k: tuple(v) for k, v in index.items()}


def _has_seq(words: Sequence[str], seq: Sequence[str]) -> int:
    """Return the index where ``seq`` occurs in ``words``, or -1."""
    n = len(seq)
    first = seq[0]
    for i in range(len(words) - n + 1):
        if words[i] == first and tuple(words[i : i + n]) == tuple(seq):
            return i
    return -1


def _starts(words: Sequence[str], seq: Sequence[str]) -> bool:
    return len(words) >= len(seq) and tuple(words[: len(seq)]) == tuple(seq)


def _coordinated_wh(
    tail: Sequence[str], coord: frozenset[str], wh: frozenset[str], preps: frozenset[str]
) -> str:
    """Return the second wh- word of "how and when ..." or "where and with whom ..." in ``tail``, or ''."""
    if len(tail) > 2 and tail[1] in coord:
        if tail[2] in wh:
            return tail[2]
        if len(tail) > 3 and tail[2] in preps and tail[3] in wh:
            return tail[3]
    return ""


def _phrases(*texts: str) -> frozenset[tuple[str, ...]]:
    """Build a set of word tuples normalised like input text."""
    return frozenset(tuple(normalize(w) for w in t.split()) for t in texts)


# Hedges and inserted phrases set off by commas ("Please tell me, in your own words, what happened.", "Do
# they get paid, do you know?", «Им платят, насколько вы знаете?»). They ask nothing of their own, so they
# are cut out before clauses are counted. A tuple in the first set must be the whole comma-bounded segment;
# one in the second set is enough as its start ("from what you've seen", «судя по тому»).
_EN_INSERTIONS = _phrases(
    "in your own words", "in your words", "if you can", "if you could", "if you can remember",
    "if you remember", "if you recall", "if possible", "roughly", "approximately", "briefly", "again",
    "in general",
    "more or less", "if you like", "if you want", "take your time", "do you know", "do you remember",
    "do you think", "would you say", "you think", "in your experience", "in your opinion", "in your view",
    "to your knowledge", "as far as you know", "for me", "for example", "honestly", "exactly",
    "do you happen to know", "would you happen to know", "would you know", "if you know", "by any chance",
    "any idea", "do you reckon", "you reckon", "what do you think", "in your own time", "at your own pace",
    "when you're ready", "if you don't mind", "if you don't mind me asking", "if i may ask", "if i may",
)
_EN_INSERTION_STARTS = _phrases(
    "from what", "based on what", "judging by", "judging from",
    "as best", "as far as", "to the best of", "as much as you",
)
_RU_INSERTIONS = _phrases(
    "своими словами", "если можете", "если сможете", "если помните", "если вспомните",
    "если не трудно", "если не сложно", "по возможности", "как вы думаете", "как ты думаешь",
    "как вам кажется", "как тебе кажется", "как вы считаете", "как ты считаешь", "по-вашему", "по-твоему",
    "по вашему мнению",
    "по твоему мнению", "на ваш взгляд", "на твой взгляд", "по вашим наблюдениям", "по вашему опыту",
    "вы не знаете", "ты не знаешь", "не знаете", "не знаешь", "вы не помните", "не помните", "примерно",
    "хотя бы примерно", "вкратце", "коротко", "подробно", "если хотите", "вы не в курсе", "честно",
)
_RU_INSERTION_STARTS = _phrases(
    "насколько", "судя по", "исходя из", "из того что", "по тому что",
)
# «Из того, что вы видели, ...»: a demonstrative head whose «что» clause follows after its own comma.
_RU_INSERTION_HEADS = _phrases("из того", "судя по тому", "исходя из того", "по тому")
_MAX_INSERTION = 8
_INSERTION_OPENERS = _ws("so and but well ok а и но ну так")


def _drop_insertions(
    s: _Sentence, whole: frozenset[tuple[str, ...]], starts: frozenset[tuple[str, ...]],
    heads: frozenset[tuple[str, ...]],
) -> _Sentence:
    """Cut comma-bounded hedges and inserted phrases out of a sentence, keeping at least one other segment."""
    if not s.commas:
        return s
    n = len(s.words)
    bounds = [0, *sorted(b for b in s.commas if 0 < b < n), n]
    drop: list[tuple[int, int]] = []
    k = 0
    while k < len(bounds) - 1:
        a, b = bounds[k], bounds[k + 1]
        seg = tuple(s.words[a:b])
        if seg in heads and k + 2 < len(bounds) and s.words[b] in ("что", "как"):
            b = bounds[k + 2]  # «из того, что вы видели»: the head and its clause go together
            k += 1
            hit = b - a <= _MAX_INSERTION
        else:
            if seg and seg[0] in _INSERTION_OPENERS:
                seg = seg[1:]  # "so, from what you've said, ..."
            hit = 0 < len(seg) <= _MAX_INSERTION and (
                seg in whole or any(seg[: len(p)] == p for p in starts)
            )
        if hit:
            drop.append((a, b))
        k += 1
    if not drop or sum(b - a for a, b in drop) >= n:
        return s
    words: list[str] = []
    commas: set[int] = set()
    colons: set[int] = set()
    cut = iter(drop)
    a, b = next(cut)
    b_prev = -1
    i = 0
    while i < n:
        if i == a:
            i = b_prev = b  # "could you, in your own words, describe ...": the words either side join up
            a, b = next(cut, (n + 1, n + 1))
            continue
        if i in s.commas and words and i != b_prev:
            commas.add(len(words))
        if i in s.colons and words:
            colons.add(len(words))
        words.append(s.words[i])
        i += 1
    commas.discard(len(words))
    if _INSERTION_OPENERS.issuperset(words):
        return s  # "So, in your own words?": nothing but the insertion asks
    return _Sentence(words, commas, s.qmark, s.terminal, colons)


def _quote(words: Sequence[str], limit: int = 4) -> str:
    text = " ".join(words[:limit])
    return text + ("..." if len(words) > limit else "")


# --------------------------------------------------------------------------------------------- English rules


class _English:
    """English clause rules."""

    lang = LANG_EN
    spelling = _EN_SPELLING
    fuzzy: FuzzyVocabulary | None = _EN_FUZZY
    insertions = _EN_INSERTIONS
    insertion_starts = _EN_INSERTION_STARTS
    insertion_heads: frozenset[tuple[str, ...]] = frozenset()

    # -- splitting

    def skip_fillers(self, words: Sequence[str]) -> int:
        i = 0
        while i < len(words):
            if i + 1 < len(words) and (words[i], words[i + 1]) in _EN_FILLER_BIGRAMS:
                i += 2
            elif words[i] in _EN_FILLERS:
                i += 1
            else:
                break
        return i

    def tag(self, s: _Sentence) -> tuple[int, str] | None:
        """Find a tag ending; return where the body ends and the cue."""
        w = s.words
        n = len(w)
        if n < 3:
            return None
        for phrase in _EN_TAG_PHRASES:
            k = len(phrase)
            if n - k >= 2 and tuple(w[n - k :]) == phrase and n - k >= 2:
                if phrase == ("yes", "or", "no"):
                    continue
                return n - k, f"tag ending ', {' '.join(phrase)}?'"
        last = w[-1]
        comma_before_last = (n - 1) in s.commas
        if last in _EN_TAG_WORDS_NO_COMMA and n - 1 >= 3 and w[0] not in _EN_WH_TURN and w[-2] not in _EN_RIGHT_NOT_TAG:
            return n - 1, f"tag ending ', {last}?'"
        if last in _EN_TAG_WORDS_COMMA and comma_before_last and n - 1 >= 2:
            return n - 1, f"tag ending ', {last}?'"
        aux, pron = w[-2], w[-1]
        if pron in _EN_PRONOUNS and (aux in _EN_AUX or aux in _EN_NEG_AUX) and n - 2 >= 2:
            body_start = self.skip_fillers(w[: n - 2])
            head = w[body_start] if body_start < n - 2 else ""
            declarative = head not in _EN_WH and head not in _EN_AUX and head not in _EN_NEG_AUX
            negative_body = any(x in ("never", "not", "no") or x.endswith("n't") for x in w[: n - 2])
            if head in _EN_CONDITION_HEADS and aux in _EN_AUX and not negative_body:
                return None  # "If you wanted to quit, could you?": an ordinary yes/no question
            if (n - 2) in s.commas or (declarative and (aux in _EN_NEG_AUX or negative_body)):
                return n - 2, f"tag ending ', {aux} {pron}?'"
        return None

    def is_starter(self, words: Sequence[str], i: int, in_frame: bool, after_comma: bool) -> bool:
        """Say whether a new question clause starts at ``words[i]``."""
        if i >= len(words):
            return False
        w = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if (w in _EN_AUX or w in _EN_NEG_AUX) and nxt in _EN_SUBJECTS:
            return True
        if w in _EN_STARTER_VERBS and (nxt in ("me", "us", "about", "") or after_comma):
            return True
        if w in _EN_WH:
            if in_frame or nxt == "":
                return True
            if nxt in _EN_AUX or nxt in _EN_NEG_AUX:
                return True
            if w in ("who", "what") and nxt not in _EN_SUBJECTS:
                return True  # "who met you", "who else sleeps there": the wh- word is the subject
            if w == "how" and nxt in _EN_HOW_DETAIL and after_comma:
                return True  # "..., how many people worked there?"
            if nxt in _EN_HOW_DETAIL or nxt in _EN_DETAIL_NOUNS or nxt in ("else", "kind", "exactly"):
                j = i + 2
                return j >= len(words) or words[j] in _EN_AUX or words[j] in _EN_NEG_AUX
        return False

    def split(self, s: _Sentence) -> list[_Span]:
        """Cut a sentence into clauses; return (start, end, is_alternative, ends_at_bare_comma) spans."""
        w = s.words
        spans: list[_Span] = []
        start = 0
        alt = False
        in_frame = self.frame_index(w, 0) is not None
        i = 1
        while i < len(w):
            conj = w[i] in ("and", "but", "or", "so")
            comma = i in s.commas
            if conj and in_frame and not comma and w[i - 1] in _EN_WH:
                i += 1  # "tell me how and when you get paid": one request naming two details
                continue
            if w[i] in _EN_MAIN_AUX and not (conj or comma) and self.condition_break(w, start, i):
                spans.append((start, i, alt, True))  # the condition is subordinate; the inversion asks
                start, alt = i, False
                in_frame = False
                i += 1
                continue
            if not (conj or comma) and not s.terminal and self.unpunctuated_break(w, start, i):
                spans.append((start, i, alt, False))
                start, alt = i, False
                in_frame = False
                i += 1
                continue
            if conj or comma:
                j = i + 1 if conj else i
                if comma and not conj and j < len(w) and w[j] in ("and", "but", "or", "so"):
                    conj = True
                    j += 1
                is_or = w[j - 1] == "or" if conj else False
                strong = (in_frame and conj) or i in s.colons
                if comma and not conj and self.apposition(s, start, j):
                    i += 1  # "Where are you from, which country?": the same question, narrowed
                    continue
                # "who booked the rooms and for how long": a clause, then a second wh- phrase of its own
                prep_wh = conj and j + 1 < len(w) and w[j] in _EN_PREPOSITIONS and w[j + 1] in _EN_WH
                if prep_wh and w[i - 1] not in _EN_WH and not in_frame:
                    spans.append((start, i, alt, False))
                    start, alt = j, is_or
                    i = j + 1
                    continue
                if j < len(w) and self.is_starter(w, j, strong, comma):
                    spans.append((start, i, alt, comma and not conj))
                    start, alt = j, is_or
                    in_frame = self.frame_index(w, j) is not None
                    i = j + 1
                    continue
            i += 1
        spans.append((start, len(w), alt, False))
        return spans

    def condition_break(self, w: Sequence[str], start: int, i: int) -> bool:
        """Say whether an "if ..." clause ends at an inverted ``w[i]`` ("if you asked would they give it")."""
        if w[i] not in _EN_MAIN_AUX or i + 1 >= len(w) or w[i + 1] not in _EN_PRONOUNS or i - start < 3:
            return False
        head = start + self.skip_fillers(w[start:i])
        return head < i and w[head] in _EN_CONDITION_HEADS and w[i - 1] not in _EN_AUX_ALL

    def apposition(self, s: _Sentence, start: int, j: int) -> bool:
        """Say whether the comma segment at ``j`` only narrows a wh- question before it ("..., which country?")."""
        w = s.words
        end = next((k for k in range(j + 1, len(w)) if k in s.commas), len(w))
        seg = w[j:end]
        if seg[:1] and seg[0] in _EN_PREPOSITIONS:
            seg = seg[1:]
        head = start + self.skip_fillers(w[start:j])
        if not (2 <= len(seg) <= 3 and seg[0] in _EN_APPOSITION_WH and head < j and w[head] in _EN_WH):
            return False
        return _EN_AUX_ALL.isdisjoint(seg) and _EN_PRONOUNS.isdisjoint(seg)

    def unpunctuated_break(self, w: Sequence[str], start: int, i: int) -> bool:
        """Say whether an unpunctuated statement ends at ``w[i]`` ("u mentioned a debt how much was it")."""
        if w[i] not in _EN_WH or i + 2 >= len(w) or i - start < 3:
            return False
        nxt, nxt2 = w[i + 1], w[i + 2]
        inverted = (nxt in _EN_AUX and nxt2 in _EN_SUBJECTS) or (nxt in _EN_HOW_DETAIL and nxt2 in _EN_AUX)
        if not inverted or w[i - 1] in _EN_NO_BREAK_BEFORE_WH:
            return False
        before = w[start:i]
        no_wh = _EN_WH.isdisjoint(before) and _EN_AUX.isdisjoint(before[:1])
        return no_wh and self.frame_index(before, 0) is None

    def subordinate(self, c: _Clause) -> bool:
        """Say whether a leading clause only sets the scene ("When you arrived, ...", "What about X, ...")."""
        body = c.body
        if not c.ends_at_comma or len(body) < 2:
            return False
        if body[1] == "about" and body[0] in ("what", "how"):
            return True  # "What about meal times, how does that work?": a topic, then the question
        return body[0] in _EN_SUBORDINATORS and body[1] not in _EN_AUX_ALL

    # -- frames

    def frame_index(self, words: Sequence[str], start: int) -> tuple[int, str] | None:
        """Find an invitation/faux frame verb near the start; return its index and kind (open/tell/know)."""
        i = start + self.skip_fillers(words[start:])
        if i < len(words) and words[i] == "for":
            return None  # "(thank you) for telling me": gratitude, not a request
        limit = min(len(words), i + 8)
        j = i
        while j < limit and words[j] in _EN_FRAME_PREFIX:
            j += 1
        if j < len(words):
            v = words[j]
            nxt = words[j + 1] if j + 1 < len(words) else ""
            nxt2 = words[j + 2] if j + 2 < len(words) else ""
            if v in _EN_THROUGH_VERBS:
                if nxt == "through" or (nxt in ("me", "us") and nxt2 == "through"):
                    return j, "open"
                nxt3 = words[j + 3] if j + 3 < len(words) else ""
                if v == "talk" and (nxt == "about" or nxt2 == "about" or (nxt == "to" and nxt3 == "about")):
                    return j, "open"
            elif v in _EN_OPEN_VERBS:
                return j, "open"
            elif v == "ask":
                if nxt in _EN_ASK_OBJECTS and words[j - 1] != "to":  # "sorry to ask this" asks nothing
                    return j, "tell"
            elif v in _EN_TELL_VERBS:
                return j, "tell"
            elif v in ("hear",) and j > i:
                return j, "open"
        k = i
        while k < limit and words[k] in _EN_KNOW_PREFIX:
            k += 1
        if k < len(words) and k > i and words[k] in _EN_KNOW_VERBS:
            return k, "know"
        return None

    def frame(self, c: _Clause) -> _Verdict | None:
        found = self.frame_index(c.words, c.start)
        if found is None:
            return None
        idx, kind = found
        words = c.words
        verb = words[idx]
        if kind == "know" and words[c.start] in _EN_SELF_STARTS:
            if _EN_REQUEST_WORDS.isdisjoint(words[c.start : idx + 1]):
                return None  # "I know this is difficult", "I remember you said ...": a statement
            kind = "tell"  # "I'd like to know how ...", "I was wondering where ...": a polite request
        elif kind == "know" and (
            not (c.qmark or words[c.start] in _EN_AUX or c.unpunctuated) or words[c.start] not in _EN_AUX_ANY
        ):
            return None
        tail = words[idx + 1 : idx + 1 + FRAME_TAIL_WINDOW]
        if verb in _EN_THROUGH_VERBS:
            if verb == "talk" and not _EN_SIGNPOST_WORDS.isdisjoint(words[c.start : idx]):
                return _signpost(f"invitation '{_quote(words[c.start :], 4)}'")
            return _q(INVITATION, f"invitation '{_quote(words[idx:], 3)}'")
        label = f"'{_quote(words[c.start : idx + 2], 5)}'"
        if kind == "tell" and "truth" in tail[:3]:
            return _stmt("demand for 'the truth'")
        if verb in ("say", "saying") and tail[:1] in (["no"], ["yes"]):
            return None  # "could you say no?": refusing, not a request to tell

        seen_noun = False
        for t, tok in enumerate(tail):
            if tok in _EN_TAIL_SKIP:
                continue
            if tok in _EN_WH and seen_noun:
                break  # "tell me the place where you slept": a relative clause, not an embedded question
            if tok in ("whether", "if"):
                return _q(OPTION_POSING, f"faux invitation {label} + '{tok}' (yes/no)")
            if tok in _EN_ABOUT:
                return _q(INVITATION, f"invitation {label} + '{tok}'")
            if tok in _EN_WH:
                if kind == "open":
                    return _q(INVITATION, f"invitation {label}")
                return self.wh_tail(tail[t:], kind, label)
            if tok in _EN_DETAIL_NOUNS:
                if kind == "know":
                    return _q(OPTION_POSING, f"yes/no {label} + '{tok}'")
                if kind == "tell":
                    return _q(DIRECTIVE, f"faux invitation {label} asks for a detail ('{tok}')")
                return _q(INVITATION, f"invitation {label}")
            if (tok in _EN_AUX or tok in _EN_NEG_AUX) and t + 1 < len(tail) and tail[t + 1] in _EN_SUBJECTS:
                return None  # "tell me, did you ...": the yes/no question decides
            seen_noun = True
        if kind == "know":
            return _q(OPTION_POSING, f"yes/no {label}")
        return _q(INVITATION, f"invitation {label}")

    def wh_tail(self, tail: Sequence[str], kind: str, label: str) -> _Verdict:
        wh = tail[0]
        nxt = tail[1] if len(tail) > 1 else ""
        rest = tail[1:6]
        second = _coordinated_wh(tail, _EN_COORD, _EN_WH, _EN_PREPOSITIONS)
        if second and (wh in _EN_DETAIL_WH or second in _EN_DETAIL_WH):
            return _q(DIRECTIVE, f"faux invitation {label} + '{wh} and {second}'")
        if wh == "what":
            if any(x in _EN_HAPPEN or x == "else" for x in tail[1:4]):
                return _q(INVITATION, f"invitation {label} + 'what happened'")
            if "about" in rest:
                return _q(INVITATION, f"invitation {label} + 'what ... about'")
            named = next((x for x in rest if x in _EN_NAMED_DETAILS), None)
            detail = nxt if nxt in _EN_DETAIL_NOUNS else named
            if detail:
                return _q(DIRECTIVE, f"faux invitation {label} + 'what {detail}'")
            if kind == "tell":
                return _q(INVITATION, f"invitation {label} + 'what ...'")
            return _q(DIRECTIVE, f"indirect wh- question {label} + 'what'")
        if wh == "how":
            if nxt in _EN_HOW_DETAIL:
                return _q(DIRECTIVE, f"faux invitation {label} + 'how {nxt}'")
            if kind == "tell":
                return _q(INVITATION, f"invitation {label} + 'how ...'")
            return _q(DIRECTIVE, f"indirect wh- question {label} + 'how'")
        if kind == "tell":
            return _q(DIRECTIVE, f"faux invitation {label} + '{wh}'")
        return _q(DIRECTIVE, f"indirect wh- question {label} + '{wh}'")

    # -- clause

    def classify(self, c: _Clause) -> _Verdict:
        words = c.words
        body = c.body
        if words and all(x in _EN_CONTINUATION_WORDS for x in words) and any(x in _EN_NEXT for x in words):
            return _q(INVITATION, f"continuation prompt '{' '.join(words)}'")
        if not body:
            first = words[0] if words else ""
            return _stmt(f"facilitator '{first}'")
        if tuple(body) in _EN_FACILITATORS or tuple(words) in _EN_FACILITATORS:
            return _stmt(f"facilitator '{' '.join(body)}'")
        for seq in _EN_ANYTHING_ELSE:
            if _has_seq(body, seq) >= 0 and (c.qmark or c.unpunctuated):
                return _q(INVITATION, "asks for 'anything else'")
        sug = self.suggestive(c)
        if sug is not None:
            return sug
        fr = self.frame(c)
        if fr is not None:
            return fr
        for seq in _EN_WELFARE_BY_FIRST.get(body[0], ()):
            if _starts(body, seq):
                return _stmt(f"welfare/procedural check '{' '.join(seq)}'")
        for seq in _EN_MORE_DETAIL:
            if _has_seq(body, seq) >= 0 and not any(x in _EN_WH for x in body):
                return _q(INVITATION, f"asks for '{' '.join(seq)}'")
        if len(body) > 2 and body[0] in _EN_PREPOSITIONS and body[1] in _EN_WH:
            body = body[1:]  # "in whose name were the rooms booked", "for how long did you work"
        for k in (1, 2, 3):
            fronted = body[0] not in _EN_WH_PRONOUNS and _EN_TELL_VERBS.isdisjoint(body[:k])
            if fronted and len(body) > k + 1 and body[k] in _EN_WH and body[k + 1] in _EN_AUX:
                body = body[k:]  # "ur ID where is it": a fronted topic, then the question
                break
        head = body[0]
        nxt = body[1] if len(body) > 1 else ""
        choice = any(x in _EN_CHOICE for x in body)
        if head in _EN_WH:
            if (
                not c.qmark
                and c.terminal in (".", "!")
                and nxt in _EN_PRONOUNS
                and head in _EN_SUBORDINATORS | {"where", "how"}
            ):
                return _stmt(f"statement opening with '{head}'")
            if head == "what" and any(x in _EN_HAPPEN for x in body[1:4]):
                return _q(INVITATION, "'what happened' prompt")
            if head == "what" and any(x in _EN_TELL_VERBS for x in body[2:5]):
                about = body.index("about") if "about" in body else -1
                if about > 0 and (about + 1 == len(body) or body[about + 1] not in _EN_WH):
                    return _q(INVITATION, "'what can you tell me about ...' prompt")
            if head == "what" and nxt in ("else", "next", "then"):
                return _q(INVITATION, f"'what {nxt}' prompt")
            if choice:
                return _q(OPTION_POSING, f"wh- question offering choices ('{head} ... or ...')")
            return _q(DIRECTIVE, f"wh- question '{head}'" + (f" '{nxt}'" if head == "how" and nxt else ""))
        if head in _EN_AUX and (nxt in _EN_SUBJECTS or c.qmark or nxt not in ("a", "an", "some", "it")):
            if head in ("have", "do") and nxt in ("a", "an", "some", "it", "this", "that") and not c.qmark:
                return _stmt("imperative")
            if choice:
                return _q(OPTION_POSING, f"either/or choice ('{head} ... or ...')")
            return _q(OPTION_POSING, f"yes/no question opening with '{head}'")
        if c.qmark and body[-1] in _EN_WH:
            return _q(DIRECTIVE, f"echo wh- question '... {body[-1]}?'")
        if c.qmark and body == _EN_YOU_ARE:
            return _q(DIRECTIVE, "elliptical 'you are?' (asks who the person is)")
        if c.qmark and len(body) <= 3 and body[-1] in _EN_NAMED_DETAILS and _EN_OWNERS.issuperset(body[:-1]):
            return _q(DIRECTIVE, f"bare detail question '{' '.join(body)}?'")
        if c.qmark:
            if choice:
                return _q(OPTION_POSING, "either/or choice ('... or ...?')")
            return _q(OPTION_POSING, "intonation question (statement + '?')")
        return self.statement(c)

    def suggestive(self, c: _Clause) -> _Verdict | None:
        words = c.words
        body = c.body
        present = set(words)
        for seq, cue in _EN_SUGGESTIVE_PHRASES:
            if seq[0] in present and _has_seq(words, seq) >= 0:
                return _q(SUGGESTIVE, f"leading phrase {cue}")
        for i, w in enumerate(words):
            nxt = words[i + 1] if i + 1 < len(words) else ""
            prev = words[i - 1] if i > 0 else ""
            must_have = w == "must've" or (w == "must" and nxt in ("have", "of"))
            if must_have and prev not in _EN_MUST_HAVE_BLOCKERS:
                return _q(SUGGESTIVE, "presumption 'must have'")
            if w in _EN_SURE_WORDS and nxt in _EN_SURE_SUBJECTS and prev in ("i'm", "am", "we're", "are"):
                return _q(SUGGESTIVE, f"presumption 'I'm {w} {nxt}...'")
        if len(body) >= 2:
            head, nxt = body[0], body[1]
            offer = nxt == "you" and len(body) > 2 and body[2] in ("like", "mind", "worry")
            if head in _EN_NEG_AUX and nxt in _EN_SUBJECTS and not offer:
                return _q(SUGGESTIVE, f"negative opening '{head} {nxt}'")
            if head in _EN_AUX and len(body) >= 3 and nxt in _EN_SUBJECTS and body[2] == "not":
                return _q(SUGGESTIVE, f"negative question '{head} {nxt} not'")
        return None

    def statement(self, c: _Clause) -> _Verdict:
        body = c.body
        if any(x in _EN_GREETING for x in c.words[:3]):
            return _stmt("greeting")
        if any(_has_seq(body, seq) >= 0 for seq in _EN_INTRO):
            return _stmt("introduction")
        if any(x in _EN_EMPATHY for x in body):
            return _stmt("rapport/empathy statement")
        return _stmt("statement, no question")


# --------------------------------------------------------------------------------------------- Russian rules


def _ru_past(word: str) -> bool:
    """Guess whether a Russian word is a past-tense verb (the -л/-ла/-ло/-ли endings)."""
    return (
        len(word) > 3
        and word.endswith(("л", "ла", "ло", "ли", "лся", "лась", "лись"))
        and word not in _RU_LO_ADVERBS
    )


def _ru_empathy(words: Sequence[str]) -> bool:
    """Say whether words name a feeling and no event («тебе, наверное, тяжело», «вы, наверное, устали»)."""
    if _RU_FEELINGS.isdisjoint(words):
        return False
    return all(x in _RU_FEELINGS or x in _RU_WAS for x in words if _ru_past(x))


def _ru_complement(word: str) -> bool:
    return word.startswith(_RU_COMPLEMENT_PREFIXES)


class _Russian:
    """Russian clause rules."""

    lang = LANG_RU
    spelling = _RU_SPELLING
    fuzzy: FuzzyVocabulary | None = _RU_FUZZY
    insertions = _RU_INSERTIONS
    insertion_starts = _RU_INSERTION_STARTS
    insertion_heads = _RU_INSERTION_HEADS

    def skip_fillers(self, words: Sequence[str]) -> int:
        i = 0
        while i < len(words) and words[i] in _RU_FILLERS:
            # «спасибо, что ...», «хорошо, что ...»: the «что» is a conjunction; keep the filler in view.
            if i + 1 < len(words) and words[i + 1] in ("что", "за"):
                break
            i += 1
        return i

    def tag(self, s: _Sentence) -> tuple[int, str] | None:
        w = s.words
        n = len(w)
        for phrase, needs_comma in _RU_TAGS:
            k = len(phrase)
            if n - k >= 2 and tuple(w[n - k :]) == phrase:
                if needs_comma and (n - k) not in s.commas:
                    continue
                if w[n - k - 1] in _RU_CHOICE or w[n - k - 1] == "ли":
                    continue
                return n - k, f"tag ending «, {' '.join(phrase)}?»"
        return None

    def wh_at(self, words: Sequence[str], start: int) -> int:
        """Return the index of a wh- word heading the clause from ``start``, or -1."""
        limit = min(len(words), start + RU_WH_WINDOW)
        for i in range(start, limit):
            w = words[i]
            if w in _RU_WH:
                prev = words[i - 1] if i > start else ""
                if prev in _RU_NOT_WH_AFTER or (prev and _ru_complement(prev)):
                    return -1
                nxt = words[i + 1] if i + 1 < len(words) else ""
                if w == "как" and nxt in _RU_KAK_CONJUNCTION:
                    return -1
                if w == "что" and prev in _RU_APOLOGY and nxt not in _RU_WHAT_SUBJECTS:
                    return -1  # «Извините, что спрашиваю» (but «Простите, что вы сказали?» asks)
                return i
            if _ru_complement(w) or w in _RU_INV_VERBS or w in _RU_TELL_VERBS:
                return -1
        return -1

    def is_starter(self, s: _Sentence, i: int, start: int, after_comma: bool, after_conj: bool) -> bool:
        """Say whether a new question clause starts at ``s.words[i]`` (this clause began at ``start``)."""
        w = s.words
        if i >= len(w):
            return False
        tok = w[i]
        if tok in _RU_INV_VERBS or tok in _RU_TELL_VERBS_NOT_SAY:
            return True
        window = w[i : i + 3]
        if "ли" in window[1:3]:
            # «Вы замечали, есть ли у них ...»: an embedded «ли» clause after a verb of knowing or seeing
            return after_conj or not (after_comma and _ru_complement(w[i - 1]))
        wh_i = -1
        for k in range(i, min(len(w), i + 2)):
            if w[k] in _RU_WH:
                wh_i = k
                break
        if after_conj:
            if wh_i >= 0 and not (wh_i > i and wh_i in s.commas):
                return True  # (but «... и условий, когда вас принимали»: the «когда» clause is subordinate)
            if after_comma and s.qmark and self.is_frame_clause(w[start:i]):
                return True  # «Расскажите про дом, и двери там запирались?»
            return after_comma and tok in _RU_CLAUSE_PRONOUNS
        pronoun = tok in _RU_CLAUSE_PRONOUNS or tok in _RU_OBJECT_PRONOUNS
        if after_comma and s.qmark and pronoun and any(_ru_past(x) for x in w[i : i + 3]):
            # «Где ваши документы, их забрали?»: a yes/no question after a wh- question
            return self.wh_at(w[:i], start + self.skip_fillers(w[start:i])) >= 0
        if after_comma and wh_i >= 0 and s.qmark and w[wh_i] in _RU_WH_SUBORDINATE and self.echo(w, start):
            return not _ru_complement(w[i - 1])  # «Вы сказали, что вас встретил брат, где он сейчас?»
        if after_comma and wh_i >= 0 and w[wh_i] not in _RU_WH_SUBORDINATE:
            prev = w[i - 1]
            if _ru_complement(prev) or prev in _RU_NOT_WH_AFTER or prev in _RU_EMBEDDING:
                return False  # «видели, как ...», «о том, кто вы», «рассказать, как ...»: an embedded clause
            before = w[start:i]
            if self.wh_at(w[:i], start + self.skip_fillers(before)) >= 0:
                # «Что тебе сказал Роман, кем ты будешь работать»: the wh- clause says what was said
                return not any(_ru_complement(x) for x in before)
            # «Вы упомянули долг, сколько вы были должны?»: a statement leads in to the question
            # Unpunctuated, only a clause about the interviewee leads in («вы упомянули долг сколько ...»);
            # «мы не скажем, кто нам рассказал» is a statement with an embedded clause.
            addressed = bool(before) and before[self.skip_fillers(before) :][:1] in _RU_ADDRESSED
            question = s.qmark or (not s.terminal and addressed)
            return question and self.lead_in_wh(w, wh_i) and not self.is_frame_clause(before)
        return False

    def echo(self, w: Sequence[str], start: int) -> bool:
        """Say whether the clause at ``start`` echoes the interviewee («Вы сказали / упомянули ...»)."""
        head = w[start : start + 3]
        return head[:1] in (["вы"], ["ты"]) and any(x.startswith(_RU_ECHO_PREFIXES) for x in head[1:])

    def lead_in_wh(self, w: Sequence[str], k: int) -> bool:
        """Say whether the wh- word at ``w[k]`` after a comma opens a question, not a relative clause."""
        wh = w[k]
        if wh in _RU_WH_CONJUNCTIONS:
            return False  # «Вы сказали, что ...», «больше, чем ...»
        if wh == "как":
            nxt = w[k + 1] if k + 1 < len(w) else ""
            return nxt in _RU_CLAUSE_PRONOUNS or nxt in _RU_OBJECT_PRONOUNS or nxt in _RU_HOW_DETAIL
        return True

    def preface(self, c: _Clause) -> bool:
        """Say whether a clause only prefaces the next one («Простите за вопрос, но ...», «Я знаю, ...»)."""
        body = c.body
        return bool(c.words) and (c.words[0] in _RU_APOLOGY or (bool(body) and body[0] in _RU_FIRST_PERSON))

    def is_frame_clause(self, words: Sequence[str]) -> bool:
        """Say whether words open with an invitation or request verb («Расскажите про дом»)."""
        i = self.skip_fillers(words)
        return i < len(words) and (words[i] in _RU_INV_VERBS or words[i] in _RU_TELL_VERBS)

    def split(self, s: _Sentence) -> list[_Span]:
        """Cut a sentence into clauses; return (start, end, is_alternative, ends_at_bare_comma) spans."""
        w = s.words
        spans: list[_Span] = []
        start = 0
        alt = False
        i = 1
        while i < len(w):
            conj = w[i] in ("и", "а", "но", "или", "либо")
            comma = i in s.commas
            coordinated = conj and not comma and w[i - 1] in _RU_WH and self.second_wh(w, i + 1)
            if coordinated and self.is_frame_clause(w[start:i]):
                i += 1  # «Скажите, как и когда вам платят?»: one request naming two details
                continue
            if conj or comma:
                j = i + 1 if conj else i
                if comma and not conj and j < len(w) and w[j] in ("и", "а", "но", "или", "либо"):
                    conj = True
                    j += 1
                is_or = conj and w[j - 1] in _RU_CHOICE
                if comma and not conj and self.apposition(s, start, j):
                    i += 1  # «Откуда вы, из какой страны?»: the same question, narrowed
                    continue
                if self.is_starter(s, j, start, comma, conj or i in s.colons):
                    spans.append((start, i, alt, comma and not conj))
                    start, alt = j, is_or
                    i = j + 1
                    continue
            i += 1
        spans.append((start, len(w), alt, False))
        return spans

    def second_wh(self, w: Sequence[str], k: int) -> bool:
        """Say whether a wh- word, maybe after a preposition, stands at ``w[k]`` («как и когда», «где и с кем»)."""
        nxt = w[k] if k < len(w) else ""
        return nxt in _RU_WH or (nxt in _RU_PREPOSITIONS and k + 1 < len(w) and w[k + 1] in _RU_WH)

    def apposition(self, s: _Sentence, start: int, j: int) -> bool:
        """Say whether the comma segment at ``j`` only narrows a wh- question before it («, из какой страны»)."""
        w = s.words
        end = next((k for k in range(j + 1, len(w)) if k in s.commas), len(w))
        seg = w[j:end]
        if seg[:1] and seg[0] in _RU_PREPOSITIONS:
            seg = seg[1:]
        if not (2 <= len(seg) <= 3 and seg[0] in _RU_APPOSITION_WH):
            return False
        return self.wh_at(w, start + self.skip_fillers(w[start:j])) >= 0 and _RU_PERSONAL.isdisjoint(seg)

    def subordinate(self, c: _Clause) -> bool:
        """Say whether a leading clause only sets the scene («Когда вы приехали, ...», «А что насчёт X»)."""
        body = c.body
        if not c.ends_at_comma or len(body) < 2:
            return False
        topic = body[1:3] if body[0] == "а" else body[:2]  # «а что» keeps its «а» (skip_fillers stops there)
        return body[0] in _RU_SUBORDINATORS or (topic[0] in ("что", "как") and topic[1:] == ["насчет"])

    def cut_subordinate(self, c: _Clause) -> _Clause:
        """Drop a leading «Когда вы приехали, ...» clause that has a main clause after the comma."""
        body = c.body
        if not body or body[0] not in _RU_SUBORDINATORS:
            return c
        for idx in sorted(c.commas):
            if c.start < idx <= len(c.words) - 2:
                return _Clause(c.words, idx, c.qmark, c.terminal, c.unpunctuated, c.commas, c.alternative)
        return c

    # -- frames

    def frame(self, c: _Clause) -> _Verdict | None:
        words = c.words
        i = c.start
        limit = min(len(words), i + 7)
        j = i
        while j < limit and words[j] in _RU_FRAME_PREFIX:
            j += 1
        if j >= len(words):
            return None
        verb = words[j]
        if verb in _RU_INV_VERBS:
            kind = "open"
        elif verb in _RU_TELL_VERBS or verb in _RU_ASK_VERBS:
            kind = "tell"
        elif verb in _RU_KNOW_VERBS and (c.qmark or c.unpunctuated or "ли" in words[j : j + 2]):
            kind = "know"
        else:
            return None
        label = f"«{_quote(words[c.start : j + 1], 5)}»"
        tail = words[j + 1 : j + 1 + FRAME_TAIL_WINDOW]
        if verb in _RU_ASK_INFINITIVES and tail[:1] and tail[0] in _RU_ABOUT:
            return _signpost(f"invitation {label} + «{tail[0]}»")  # «Хочу спросить про документы.»
        if tail[:1] == ["ли"]:
            tail = tail[1:]
        if "ли" in tail:
            return _q(OPTION_POSING, f"faux invitation {label} + particle «ли»")
        seen_noun = False
        for t, tok in enumerate(tail):
            if tok in _RU_TAIL_SKIP:
                continue
            if tok in _RU_WH and seen_noun:
                break  # «опишите комнату, где вы жили»: a relative clause, not an embedded question
            if tok in _RU_ABOUT:
                if kind == "tell" and verb in _RU_NAME_VERBS:
                    return _q(DIRECTIVE, f"request for a detail {label}")
                return _q(INVITATION, f"invitation {label} + «{tok}»")
            if tok in _RU_WH:
                return self.wh_tail(tail[t:], kind, label)
            if tok in _RU_DETAIL_NOUNS:
                if kind == "know":
                    return _q(OPTION_POSING, f"yes/no {label} + «{tok}»")
                if kind == "tell":
                    return _q(DIRECTIVE, f"request for a detail {label} + «{tok}»")
                return _q(INVITATION, f"invitation {label}")
            seen_noun = True
        if kind == "open":
            return _q(INVITATION, f"invitation {label}")
        if kind == "know":
            return _q(OPTION_POSING, f"yes/no {label}")
        if verb in _RU_NAME_VERBS:
            return _q(DIRECTIVE, f"request for a detail {label}")
        rest = words[j + 1 :]
        if rest:
            inner = self.classify(_Clause(words, j + 1, c.qmark, c.terminal, c.unpunctuated, c.commas))
            if inner.question:
                return inner
            return _q(DIRECTIVE, f"request {label}")
        return _q(INVITATION, f"invitation {label}")

    def wh_tail(self, tail: Sequence[str], kind: str, label: str) -> _Verdict:
        wh = tail[0]
        nxt = tail[1] if len(tail) > 1 else ""
        second = _coordinated_wh(tail, _RU_COORD, _RU_WH, _RU_PREPOSITIONS)
        if second and (wh not in _RU_OPEN_WH or second not in _RU_OPEN_WH):
            return _q(DIRECTIVE, f"faux invitation {label} + «{wh} и {second}»")
        if wh == "что":
            if self.what_happened(tail):
                return _q(INVITATION, f"invitation {label} + «что случилось/было»")
            if nxt in _RU_WHAT_DETAIL or any(x in _RU_DETAIL_NOUNS for x in tail[1:4]):
                return _q(DIRECTIVE, f"faux invitation {label} + «что {nxt}»")
            if kind == "open":
                return _q(INVITATION, f"invitation {label} + «что ...»")
            return _q(DIRECTIVE, f"faux invitation {label} + «что»")
        if kind == "open" and label.startswith(("«опиш", "«вы можете опис", "«можете опис")):
            return _q(INVITATION, f"invitation {label}")
        if wh == "как" and kind != "know" and nxt not in _RU_HOW_DETAIL:
            return _q(INVITATION, f"invitation {label} + «как ...»")
        if kind == "open" and wh not in ("как",):
            return _q(DIRECTIVE, f"faux invitation {label} + «{wh}»")
        if kind == "know":
            return _q(DIRECTIVE, f"indirect wh- question {label} + «{wh}»")
        return _q(DIRECTIVE, f"faux invitation {label} + «{wh}»")

    def what_happened(self, words: Sequence[str]) -> bool:
        window = words[:5]
        if any(x in _RU_HAPPEN for x in window):
            return True
        return "было" in window and any(x in _RU_NEXT for x in words[:6])

    def hypothetical(self, words: Sequence[str]) -> bool:
        """Say whether «что ...» asks what would happen («Что будет, если ...», «Что было бы, если бы ...»)."""
        return set(words[1:3]) == {"было", "бы"} or (words[1:2] == ["будет"] and "если" in words[2:4])

    # -- clause

    def classify(self, c: _Clause) -> _Verdict:
        c = self.cut_subordinate(c)
        words = c.words
        body = c.body
        if words and all(x in _RU_CONTINUATION_WORDS for x in words) and any(
            x in _RU_NEXT or x in _RU_HAPPEN for x in words
        ):
            return _q(INVITATION, f"continuation prompt «{' '.join(words)}»")
        if not body:
            return _stmt(f"facilitator «{words[0]}»" if words else "empty")
        if tuple(body) in _RU_FACILITATORS or tuple(words) in _RU_FACILITATORS:
            return _stmt(f"facilitator «{' '.join(body)}»")
        more = any(x in ("подробнее", "поподробнее") for x in body)
        if more and "ли" not in body and self.wh_at(words, c.start) < 0:
            return _q(INVITATION, "asks for «подробнее»")
        sug = self.suggestive(c)
        if sug is not None:
            return sug
        fr = self.frame(c)
        if fr is not None:
            return fr
        for seq in _RU_WELFARE_BY_FIRST.get(body[0], ()):
            if _starts(body, seq):
                return _stmt(f"welfare/procedural check «{' '.join(seq)}»")
        if body in (["как", "вы"], ["как", "ты"]):
            return _stmt("welfare check «как вы?»")
        if body[0] == "давайте" and len(body) > 2 and body[1] in _RU_TALK_ABOUT and body[2] in _RU_ABOUT:
            return _signpost(f"invitation «давайте {body[1]} {body[2]} ...»")
        if body[0] in _RU_OFFER_OPENERS and (len(body) == 1 or body[1] != "ли"):
            return _stmt(f"offer or proposal «{body[0]} ...»")
        if (c.qmark or c.unpunctuated) and any(x in ("что-нибудь", "что-то") for x in body) and "еще" in body:
            return _q(INVITATION, "asks for «что-нибудь ещё»")
        choice = any(x in _RU_CHOICE for x in body)
        wh_i = self.wh_at(words, c.start)
        if wh_i >= 0:
            wh = words[wh_i]
            explicit_stop = not c.qmark and c.terminal in (".", "!")
            if not (explicit_stop and wh_i > c.start):
                if wh in ("что", "чего") and self.what_happened(words[wh_i:]):
                    return _q(INVITATION, "«что случилось/что было дальше» prompt")
                if wh == "что" and self.hypothetical(words[wh_i:]):
                    # like "what would happen if ...": asks for an account, not a detail
                    return _q(INVITATION, "«что будет, если ...» prompt")
                if wh == "что" and any(x in _RU_INV_VERBS for x in words[wh_i + 1 : wh_i + 5]):
                    return _q(INVITATION, "«что вы можете рассказать ...» prompt")
                if wh == "что" and len(words) > wh_i + 1 and words[wh_i + 1] == "еще":
                    return _q(INVITATION, "«что ещё» prompt")
                if choice:
                    return _q(OPTION_POSING, f"wh- question offering choices («{wh} ... или ...»)")
                return _q(DIRECTIVE, f"wh- word «{wh}»")
        if "ли" in body:
            if choice:
                return _q(OPTION_POSING, "particle «ли» with «или»")
            return _q(OPTION_POSING, "particle «ли»")
        if c.qmark and body[-1] in _RU_WH and not _ru_complement(body[-2] if len(body) > 1 else ""):
            return _q(DIRECTIVE, f"echo wh- question «... {body[-1]}?»")
        if c.qmark:
            if choice:
                return _q(OPTION_POSING, "either/or choice («... или ...?»)")
            return _q(OPTION_POSING, "intonation question «...?»")
        if c.unpunctuated:
            cue = self.unpunctuated_question(body)
            if cue:
                return _q(OPTION_POSING, f"unpunctuated yes/no question ({cue})")
        return self.statement(c)

    def unpunctuated_question(self, body: Sequence[str]) -> str:
        """Name the cue that makes an unpunctuated clause a yes/no question, or return ''.

        Phone typists drop the «?»: «тебе платят», «у тебя есть документы», «договор подписывали». Reassurance
        («ты будешь в безопасности», «можешь не отвечать», «никто не узнает») stays a statement.
        """
        if any(x in _RU_REASSURANCE for x in body) or any(x in _RU_FIRST_PERSON for x in body):
            return ""
        if any(x in ("наверное", "наверно") for x in body) and _ru_empathy(body):
            return ""  # «тебе наверное очень тяжело сейчас»: empathy, not a question
        if body[0] in ("понятно", "ясно") and len(body) > 1 and body[1] == "что":
            return ""  # «понятно, что вы переживаете»: acknowledging a feeling
        for k, x in enumerate(body[:-1]):
            if x in _RU_MODALS and body[k + 1] == "не":
                return ""  # «можешь не отвечать»: permission
        has_you = any(x in _RU_SECOND_PERSON or x in ("ты", "вы") for x in body)
        if _has_seq(body, ("есть",)) >= 0 and has_you and "право" not in body and "права" not in body:
            return "«у вас есть ...»"
        if any(x.endswith(_RU_2ND_PERSON_ENDINGS) and len(x) > 4 for x in body):
            return "2nd-person verb"
        if has_you and any(x.endswith(_RU_3PL_ENDINGS) and len(x) > 4 for x in body):
            return "«вам/вас» + impersonal verb"
        if any(_ru_past(x) for x in body) and (has_you or len(body) <= 4):
            return "past-tense verb"
        return ""

    def suggestive(self, c: _Clause) -> _Verdict | None:
        words = c.words
        body = c.body
        question = c.qmark or c.unpunctuated
        for i, w in enumerate(words):
            cue = _RU_SUGGESTIVE_WORDS.get(w)
            if cue is not None:
                return _q(SUGGESTIVE, cue)
            if w == "ведь" and (question or any(_ru_past(x) for x in words)):
                return _q(SUGGESTIVE, "particle «ведь»")
            zhe = w == "же" and i > 0 and words[i - 1] not in _RU_ZHE_NOT_AFTER
            if zhe and (question or any(_ru_past(x) for x in words)) and self.wh_at(words, c.start) < 0:
                return _q(SUGGESTIVE, "particle «же»")
            if w in ("наверное", "наверно") and question and (c.qmark or not _ru_empathy(words)):
                return _q(SUGGESTIVE, "«наверное» in a question")
            must_be = w == "должно" and i + 1 < len(words) and words[i + 1] == "быть"
            # «Вас, должно быть, били» presumes an event; «Вам, должно быть, тяжело» is empathy.
            if must_be and "это" not in words and (question or any(_ru_past(x) for x in words)):
                return _q(SUGGESTIVE, "presumption «должно быть»")
        if _has_seq(words, ("не", "правда", "ли")) >= 0:
            return _q(SUGGESTIVE, "«не правда ли»")
        polite = len(body) > 1 and body[1] in ("хотите", "хотели", "могли", "можете")
        if body and body[0] == "не" and "ли" in body and not polite:
            return _q(SUGGESTIVE, "negative question «не ... ли»")
        return None

    def statement(self, c: _Clause) -> _Verdict:
        body = c.body
        if any(x in _RU_GREETING for x in c.words[:2]):
            return _stmt("greeting")
        if any(_has_seq(body, seq) >= 0 for seq in _RU_INTRO):
            return _stmt("introduction")
        return _stmt("statement, no question")


# --------------------------------------------------------------------------------------------- generic rules


_NO_SPELLING: dict[str, str] = {}


class _Generic:
    """Language-neutral fallback: question marks, a few wh- and invitation words and tag endings."""

    lang = LANG_OTHER
    spelling = _NO_SPELLING
    fuzzy: FuzzyVocabulary | None = None

    def classify_sentence(self, s: _Sentence) -> _Verdict:
        w = s.words
        for k in (3, 2, 1):
            tail = " ".join(w[-k:])
            if len(w) > k and (len(w) - k) in s.commas and tail in _GEN_TAG_PHRASES:
                return _q(SUGGESTIVE, f"tag ending ', {tail}?' (generic rules)")
        if w[0] in _GEN_INV or (len(w) > 1 and w[1] in _GEN_INV):
            return _q(INVITATION, f"invitation verb '{w[0]}' (generic rules)")
        if any(x in _GEN_WH for x in w[:2]):
            return _q(DIRECTIVE, "wh- word (generic rules)")
        if s.qmark:
            return _q(OPTION_POSING, "question mark, no wh- word (generic rules)")
        return _stmt("statement (generic rules)")


_EN_WELFARE_BY_FIRST = _by_first(_EN_WELFARE)
_RU_WELFARE_BY_FIRST = _by_first(_RU_WELFARE)
_ENGLISH = _English()
_RUSSIAN = _Russian()
_GENERIC = _Generic()


# ---------------------------------------------------------------------------------------------------- combine


def _purpose(words: Sequence[str], lang: str) -> bool:
    """Say whether a sentence explains the interviewer's purpose ("I was sent to find out whether ...")."""
    heads, markers, verbs = _PURPOSE[lang]
    if not words or words[0] not in heads:
        return False
    window = words[:PURPOSE_WINDOW]
    for k, x in enumerate(window):
        if x in verbs:
            return not markers.isdisjoint(window[:k])
    return False


def _classify_sentence(rules: _English | _Russian, s: _Sentence, unpunctuated: bool) -> list[_Verdict]:
    s = _drop_insertions(s, rules.insertions, rules.insertion_starts, rules.insertion_heads)
    if not s.qmark and _purpose(s.words[rules.skip_fillers(s.words) :], rules.lang):
        # «Меня направили выяснить, платят ли ...»: information about the visit, not an indirect question
        return [_stmt("explains the purpose of the interview")]
    tag = rules.tag(s)
    tag_cue = ""
    if tag is not None:
        end, tag_cue = tag
        s = _Sentence(s.words[:end], {i for i in s.commas if i < end}, s.qmark, s.terminal, s.colons)
    spans = rules.split(s)
    clauses: list[_Clause] = []
    russian = isinstance(rules, _Russian)
    for k, (start, end, alt, comma_end) in enumerate(spans):
        words = s.words[start:end]
        commas = {i - start for i in s.commas if start < i < end}
        skip = rules.skip_fillers(words)
        # English marks questions by word order, so only the clause the "?" ends owns it; Russian questions
        # are often marked by intonation alone, so every clause of a Russian question sentence keeps it,
        # except a lead-in before a wh- question after a bare comma («Вы упомянули долг, сколько ...?»).
        final = end == len(s.words)
        lead_in = not final and russian and comma_end and _RUSSIAN.wh_at(s.words, spans[k + 1][0]) >= 0
        qmark = s.qmark and (final or (russian and not lead_in))
        clause = _Clause(words, skip, qmark, s.terminal, unpunctuated, commas, alt, comma_end)
        if russian and not final and qmark and _RUSSIAN.preface(clause):
            clause.qmark = False  # «Простите за вопрос, но ...?», «Я знаю, что это тяжело, но ...?»
        clauses.append(clause)
    # A leading subordinate clause ("When you arrived, ...") or a bare frame ("Tell me, ...") asks nothing.
    while len(clauses) > 1 and (rules.subordinate(clauses[0]) or _bare_frame(rules, clauses[0])):
        clauses.pop(0)
    while len(clauses) > 1 and tuple(clauses[-1].body) in _AFTERTHOUGHTS:
        clauses.pop()  # "Do they get paid, do you know?": the afterthought asks nothing new
    verdicts: list[_Verdict] = []
    for clause in clauses:
        v = rules.classify(clause)
        if clause.alternative and verdicts and verdicts[-1].question:
            prev = verdicts[-1]
            if prev.qtype in (DIRECTIVE, OPTION_POSING):
                verdicts[-1] = _q(OPTION_POSING, "either/or choice ('... or ...')")
            continue
        verdicts.append(v)
    if tag is not None:
        for k in range(len(verdicts) - 1, -1, -1):
            if verdicts[k].question or k == len(verdicts) - 1:
                verdicts[k] = _q(SUGGESTIVE, tag_cue)
                break
        if not verdicts:
            verdicts.append(_q(SUGGESTIVE, tag_cue))
    return verdicts


# How far into a sentence the purpose verb of "I was sent here to find out whether ..." may stand.
PURPOSE_WINDOW = 8
_PURPOSE: dict[str, tuple[frozenset[str], frozenset[str], frozenset[str]]] = {
    LANG_EN: (
        _ws("i i'm we we're my our the i've we've"),
        _ws("sent here job task purpose role aim goal came asked mission"),
        _ws("find check establish understand learn see"),
    ),
    LANG_RU: (
        _ws("я мы меня нас моя наша мой наш наше моё мое нам мне"),
        _ws("направили прислали здесь задача цель работа пришли приехали пришел пришла поручили попросили чтобы"),
        _ws("выяснить узнать проверить разобраться убедиться понять установить посмотреть"),
    ),
}

_AFTERTHOUGHTS = frozenset(
    {
        ("do", "you", "know"), ("you", "know"), ("do", "you", "remember"), ("do", "you", "think"),
        ("you", "think"), ("вы", "не", "знаете"), ("не", "знаете"), ("знаете",), ("как", "думаете"),
        ("как", "вы", "думаете"), ("не", "помните"), ("вы", "не", "помните"), ("помните",),
    }
)


def _bare_frame(rules: _English | _Russian, c: _Clause) -> bool:
    """Say whether a clause is only a frame ("Tell me, ...", «Можете сказать, ...») opening the next one."""
    body = c.body
    if isinstance(rules, _English):
        verbs, allowed = _EN_TELL_VERBS, _EN_BARE_FRAME_WORDS
    else:
        verbs, allowed = _RU_BARE_FRAME_VERBS, _RU_BARE_FRAME_WORDS
    return not verbs.isdisjoint(body) and allowed.issuperset(body)


_EN_BARE_FRAME_WORDS = _EN_TELL_VERBS | _EN_FRAME_PREFIX | _ws("me us please this honestly frankly straight")
_RU_BARE_FRAME_VERBS = _RU_TELL_VERBS | _RU_INV_VERBS | _RU_ASK_VERBS | _ws("ответьте ответь спрошу")
# «Скажите так: ...?», «Ответьте просто: ...?», «Скажите честно: ...?» only open the question after them.
_RU_BARE_FRAME_WORDS = (
    _RU_BARE_FRAME_VERBS | _RU_FRAME_PREFIX | _RU_ASK_OBJECTS | _ws("мне пожалуйста так честно просто прямо откровенно")
)


def classify(text: str, lang: str = "auto") -> Classification:
    """Classify one utterance as a question type and say which cue decided."""
    hint = (lang or "auto").split("-")[0].lower()
    # The whole text is capped, not only each line, so a paste of thousands of short lines stays cheap.
    lines = [normalize(line) for line in text[:MAX_INPUT_CHARS].translate(_APOSTROPHES).splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines:
        return _result(OTHER, "no words", hint if hint in (LANG_EN, LANG_RU) else LANG_OTHER, 0)
    # Each line is tokenised once; language detection looks at the first tokens only, which bounds its work.
    token_lines = [_TOKEN_RE.findall(line) for line in lines]
    plain = token_lines[0] if len(token_lines) == 1 else [t for tl in token_lines for t in tl]
    language = _detect(plain[:DETECT_TOKENS], hint)
    rules: _English | _Russian | _Generic
    rules = _ENGLISH if language == LANG_EN else _RUSSIAN if language == LANG_RU else _GENERIC
    sentences: list[_Sentence] = []
    for tokens in token_lines:
        sentences.extend(_sentences(tokens, rules.spelling, rules.fuzzy))
    if not sentences:
        return _result(OTHER, "no words", language, 0)
    unpunctuated = all(s.terminal == "" for s in sentences)
    verdicts: list[_Verdict] = []
    for k, s in enumerate(sentences):
        if rules is _ENGLISH and k + 1 < len(sentences) and sentences[k + 1].qmark and _you_are(s):
            continue  # "and you are? your name?": the next question spells out the same request
        if isinstance(rules, _Generic):
            verdicts.append(rules.classify_sentence(s))
        else:
            verdicts.extend(_classify_sentence(rules, s, unpunctuated))
    return _combine(verdicts, language)


def _you_are(s: _Sentence) -> bool:
    """Say whether a sentence is only the elliptical "(and) you are?"."""
    return s.qmark and s.words[_ENGLISH.skip_fillers(s.words) :] == _EN_YOU_ARE


def _combine(verdicts: Sequence[_Verdict], language: str) -> Classification:
    questions = [v for v in verdicts if v.question and not v.soft]
    if not questions:
        questions = [v for v in verdicts if v.question]
    n = len(questions)
    suggestive = next((v for v in questions if v.qtype == SUGGESTIVE), None)
    if suggestive is not None:
        cue = suggestive.cue + (f" (in a turn of {n} questions)" if n > 1 else "")
        return _result(SUGGESTIVE, cue, language, n)
    if n >= 2:
        kinds = " + ".join(v.qtype for v in questions[:4])
        generic = " (generic rules)" if language == LANG_OTHER else ""
        return _result(MULTIPLE, f"{n} question clauses ({kinds}){generic}", language, n)
    if n == 1:
        return _result(questions[0].qtype, questions[0].cue, language, 1)
    cue = verdicts[0].cue if verdicts else "no words"
    return _result(OTHER, cue, language, 0)


def analyze_lines(lines: Iterable[str], lang: str = "auto") -> Iterator[dict[str, object]]:
    """Yield a JSON-ready classification for every non-empty line."""
    for line in lines:
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        c = classify(text, lang)
        yield {
            "text": text,
            "question_type": c.question_type,
            "cue": c.cue,
            "lang": c.lang,
            "recommended": c.recommended,
            "questions": c.questions,
        }
