"""Compile a persona into a matching index and match analysed utterances against it.

A term is a word, a phrase (several words) or a concept reference ``@name`` that expands to the concept's terms. Each
word is normalised and stemmed once at compile time; at match time the utterance is analysed once, unknown words are
corrected to the nearest known word within a length-scaled edit distance, and an inverted index (stem -> rules) yields
the candidate rules, so the cost of a turn grows with the utterance, not with the number of rules.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from bot.errors import PersonaError
from bot.persona.model import Condition, Match, Persona, Reply, Rule, as_reply, parse_comparison

from .lexicon import COMMON_EN, COMMON_RU
from .text import FuzzyVocabulary, Stemmer, analyse, is_cyrillic, normalize, tokenize

# A phrase still matches with this many other words between two of its words ("sent back home" for "sent home").
PHRASE_MAX_GAP = 1
# Russian word order is free: a Cyrillic phrase matches its words in any order within a window this much wider
# than the phrase ("нашел эту работу" also matches "как ты эту работу нашел").
FREE_ORDER_SLACK = 1
FREE_ORDER_MIN_WORDS = 3
FREE_ORDER_MIN_STEM = 4
# A real Russian word may be corrected only into a word sharing all but its last two letters, at least four.
SAME_WORD_MIN_PREFIX = 4
SAME_WORD_ENDING = 2
SAME_WORD_MIN_STEM = 3
# Prefix of an exact term: the word as written, neither stemmed nor typo-corrected ("=заем" does not match "за").
EXACT = "="

Stems = tuple[str, ...]


@dataclass(frozen=True)
class CompiledTerm:
    """One author term: the text as written and its alternative stem sequences (several for a concept).

    Single-word alternatives are kept as one set and phrases with the set of their stems, so the common case is
    one C-level set operation rather than a Python loop over every synonym.
    """

    text: str
    alternatives: tuple[Stems, ...]
    singles: frozenset[str] = field(init=False)
    phrases: tuple[tuple[Stems, frozenset[str]], ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "singles", frozenset(a[0] for a in self.alternatives if len(a) == 1))
        phrases = tuple((a, frozenset(a)) for a in self.alternatives if len(a) > 1)
        object.__setattr__(self, "phrases", phrases)


@dataclass(frozen=True)
class CompiledMatch:
    """A compiled ``match`` block."""

    any: tuple[CompiledTerm, ...]
    all: tuple[CompiledTerm, ...]
    none: tuple[CompiledTerm, ...]
    question_types: frozenset[str]

    @property
    def positive(self) -> tuple[CompiledTerm, ...]:
        """Return the terms whose presence counts towards a match."""
        return self.any + self.all


@dataclass(frozen=True)
class Comparison:
    """A parsed numeric comparison such as ``>= 5`` or ``2..6``."""

    op: str
    value: float
    upper: float | None = None

    def holds(self, x: float) -> bool:
        """Say whether ``x`` satisfies the comparison."""
        if self.op == "..":
            assert self.upper is not None
            return self.value <= x <= self.upper
        return {
            "==": x == self.value,
            "!=": x != self.value,
            "<": x < self.value,
            "<=": x <= self.value,
            ">": x > self.value,
            ">=": x >= self.value,
        }[self.op]


@dataclass(frozen=True)
class CompiledCondition:
    """A compiled ``if`` block."""

    vars: tuple[tuple[str, Comparison], ...] = ()
    disclosed: tuple[str, ...] = ()
    not_disclosed: tuple[str, ...] = ()
    topics: frozenset[str] = frozenset()
    fired: Comparison | None = None
    turn: Comparison | None = None

    @property
    def empty(self) -> bool:
        """Say whether the condition always holds."""
        return not (self.vars or self.disclosed or self.not_disclosed or self.topics or self.fired or self.turn)


@dataclass(frozen=True)
class CompiledRule:
    """A rule with its compiled match and condition, and its place in the precedence order."""

    rule: Rule
    topic: str | None
    order: int
    match: CompiledMatch
    condition: CompiledCondition
    reply: Reply

    @property
    def id(self) -> str:
        """Return the rule id."""
        return self.rule.id


@dataclass
class Utterance:
    """An analysed trainee utterance: what the matcher needs, computed once per turn."""

    text: str
    normalized: str
    tokens: list[str]
    stems: list[str]
    stem_set: frozenset[str]
    corrections: dict[str, str] = field(default_factory=dict)
    seen: dict[str, bool] = field(default_factory=dict)


def _compare(value: str | int | float) -> Comparison:
    op, operand, upper = parse_comparison(value)
    return Comparison(op, operand, upper)


def compile_condition(cond: Condition) -> CompiledCondition:
    """Compile an ``if`` block."""
    return CompiledCondition(
        vars=tuple((name, _compare(v)) for name, v in cond.vars.items()),
        disclosed=tuple(cond.disclosed),
        not_disclosed=tuple(cond.not_disclosed),
        topics=frozenset(cond.topic),
        fired=None if cond.fired is None else _compare(cond.fired),
        turn=None if cond.turn is None else _compare(cond.turn),
    )


class Lexicon(Protocol):
    """Real words of a language that typo correction must leave alone ("course" is not a typo of "court")."""

    def __contains__(self, word: object) -> bool: ...


COMMON_WORDS: Lexicon = COMMON_EN | COMMON_RU


class CompiledPersona:
    """A persona compiled for matching: term stems, fuzzy vocabulary, inverted index and rule order.

    ``lexicon`` holds the real words that are never typo-corrected into the persona's words; it is injected because
    a full dictionary is loaded from disk at the edge (``bot.lexicon``), and the engine does no I/O.
    """

    def __init__(self, persona: Persona, version: str, lexicon: Lexicon = COMMON_WORDS) -> None:
        self.persona = persona
        self.version = version
        self.lexicon = lexicon
        self.language = persona.language
        self.stemmer = Stemmer(persona.language)
        self._concepts: dict[str, tuple[Stems, ...]] = {}
        self._surface_words: set[str] = set()
        self._stem_words: set[str] = set()
        for name, terms in persona.concepts.items():
            self._concepts[name] = tuple(s for t in terms if (s := self._stems_of(t)))
        self.rules: list[CompiledRule] = []
        self.rules_by_id: dict[str, CompiledRule] = {}
        for order, (topic, rule) in enumerate(persona.all_rules()):
            cr = CompiledRule(
                rule=rule,
                topic=topic,
                order=order,
                match=self.compile_match(rule.match, f"rule '{rule.id}'"),
                condition=compile_condition(rule.if_),
                reply=as_reply(rule.reply),
            )
            self.rules.append(cr)
            self.rules_by_id.setdefault(rule.id, cr)
        self.fact_presumptions: dict[str, CompiledMatch] = {
            f.id: self.compile_match(f.presumed_by, f"fact '{f.id}'") for f in persona.facts if f.presumed_by
        }
        # Inverted index: the first stem of every alternative of every positive term -> rule positions.
        self._index: dict[str, set[int]] = {}
        self._always: list[int] = []
        for i, cr in enumerate(self.rules):
            firsts = {alt[0] for term in cr.match.positive for alt in term.alternatives}
            if not cr.match.positive:
                self._always.append(i)
            for stem in firsts:
                self._index.setdefault(stem, set()).add(i)
        self.vocabulary = FuzzyVocabulary(self._stem_words)
        self.surface_vocabulary = FuzzyVocabulary(self._surface_words)
        self.facts = {f.id: f for f in persona.facts}
        # Fallbacks, endings and the opening are compiled on first use; keyed by object identity because the
        # persona model is frozen and lives as long as this compiled persona.
        self._conditions: dict[int, CompiledCondition] = {}
        self._replies: dict[int, Reply] = {}

    def condition(self, cond: Condition) -> CompiledCondition:
        """Return the compiled form of a condition of this persona."""
        found = self._conditions.get(id(cond))
        if found is None:
            found = self._conditions[id(cond)] = compile_condition(cond)
        return found

    def reply(self, spec: Reply | str | list[Any]) -> Reply:
        """Return the :class:`Reply` of a reply spec of this persona."""
        found = self._replies.get(id(spec))
        if found is None:
            found = self._replies[id(spec)] = as_reply(spec)
        return found

    def _stems_of(self, term: str) -> Stems:
        if term.strip().startswith(EXACT):
            return tuple(EXACT + w for w in tokenize(normalize(term.strip()[len(EXACT) :])))
        words = tokenize(normalize(term))
        self._surface_words.update(words)
        stems = tuple(self.stemmer.stems(words))
        self._stem_words.update(stems)
        return stems

    def compile_term(self, term: str, where: str) -> CompiledTerm:
        """Compile one author term; raise PersonaError for an unknown concept."""
        text = term.strip()
        if text.startswith("@"):
            name = text[1:]
            if name not in self._concepts:
                raise PersonaError(f"{where} uses unknown concept '@{name}'", self.persona.id)
            return CompiledTerm(text, self._concepts[name])
        stems = self._stems_of(text)
        return CompiledTerm(text, (stems,) if stems else ())

    def compile_match(self, match: Match, where: str) -> CompiledMatch:
        """Compile a ``match`` block."""
        return CompiledMatch(
            any=tuple(self.compile_term(t, where) for t in match.any),
            all=tuple(self.compile_term(t, where) for t in match.all),
            none=tuple(self.compile_term(t, where) for t in match.none),
            question_types=frozenset(q.value for q in match.question_type),
        )

    def analyse(self, text: str) -> Utterance:
        """Analyse an utterance once: normalise, tokenise, stem, and correct typos against the persona's words."""
        norm, tokens, stems = analyse(text, self.stemmer)
        corrected: list[str] = []
        corrections: dict[str, str] = {}
        for tok, stem in zip(tokens, stems, strict=True):
            real = tok in self.lexicon
            if stem in self.vocabulary or (real and not is_cyrillic(tok)):
                corrected.append(stem)
                continue
            # Correct the surface form first: a typo can change how a word stems ("workin" vs "work").
            surface = self.surface_vocabulary.correct(tok)
            fixed = self.stemmer.stem(surface) if surface is not None else self.vocabulary.correct(stem)
            if fixed is not None and real and not _same_word(stem, fixed):
                fixed = None  # a real Russian word may only change its ending («перерыва» -> «перерыв»)
            if fixed is not None and fixed != stem:
                corrections[tok] = fixed
                corrected.append(fixed)
            else:
                corrected.append(stem)
        exact = [EXACT + t for t in tokens]
        return Utterance(text, norm, tokens, corrected, frozenset(corrected).union(exact), corrections)

    def candidates(self, utt: Utterance) -> list[CompiledRule]:
        """Return the rules that could match ``utt`` (index hits and rules without positive terms), in order."""
        hits: set[int] = set(self._always)
        for stem in utt.stem_set:
            found = self._index.get(stem)
            if found:
                hits |= found
        return [self.rules[i] for i in sorted(hits)]


def _same_word(stem: str, other: str) -> bool:
    """Say whether two stems differ only in their last letters, as Russian case endings Snowball missed do.

    Snowball sometimes cuts one form shorter than another («отдых» -> «отд», «отдыха» -> «отдых»), so the shorter
    stem may be a prefix of the longer one.
    """
    short, long_ = sorted((stem, other), key=len)
    if len(short) < SAME_WORD_MIN_STEM:
        return False
    keep = min(len(short), max(SAME_WORD_MIN_PREFIX, len(long_) - SAME_WORD_ENDING))
    return short[:keep] == long_[:keep]


def _has_sequence(stems: list[str], seq: Stems) -> bool:
    """Say whether ``seq`` occurs in order with at most PHRASE_MAX_GAP other words between neighbours."""
    n = len(stems)
    for start in range(n):
        if stems[start] != seq[0]:
            continue
        pos = start
        ok = True
        for want in seq[1:]:
            window = stems[pos + 1 : pos + 2 + PHRASE_MAX_GAP]
            if want not in window:
                ok = False
                break
            pos = pos + 1 + window.index(want)
        if ok:
            return True
    return False


def _free_order(seq: Stems) -> bool:
    """Say whether a Cyrillic phrase may match in any order: three words or more, or two content words.

    Two-word phrases with a pronoun or particle ("кто вы", "о нем") keep their order, or they would match questions
    that merely contain both words.
    """
    return len(seq) >= FREE_ORDER_MIN_WORDS or all(len(s) >= FREE_ORDER_MIN_STEM for s in seq)


def _in_window(stems: list[str], seq: Stems) -> bool:
    """Say whether every stem of ``seq`` occurs, in any order, within a window a little wider than ``seq``.

    Repeated words count: "пока пока" needs two of them.
    """
    width = len(seq) + FREE_ORDER_SLACK
    need = Counter(seq)
    return any(
        not need - Counter(stems[start : start + width]) for start in range(max(1, len(stems) - width + 1))
    )


def term_present(term: CompiledTerm, utt: Utterance) -> bool:
    """Say whether any alternative of ``term`` occurs in the utterance.

    A single word must occur (as a stem, or exactly for ``=word``). A phrase's words must occur in order with at
    most PHRASE_MAX_GAP words between neighbours; a Cyrillic phrase may take any order within a small window.
    Results are remembered per utterance, since concepts are shared by many rules.
    """
    known = utt.seen.get(term.text)
    if known is not None:
        return known
    found = not term.singles.isdisjoint(utt.stem_set) or any(
        bag <= utt.stem_set and _phrase_in(utt, alt) for alt, bag in term.phrases
    )
    utt.seen[term.text] = found
    return found


def _phrase_in(utt: Utterance, alt: Stems) -> bool:
    """Say whether a phrase whose stems all occur also meets the order rules."""
    words = [EXACT + t for t in utt.tokens] if alt[0].startswith(EXACT) else utt.stems
    if _has_sequence(words, alt):
        return True
    return is_cyrillic(alt[0]) and _free_order(alt) and _in_window(words, alt)


MatchResult = tuple[bool, list[str]]


def match_terms(match: CompiledMatch, utt: Utterance, question_type: str | None) -> MatchResult:
    """Return whether the match block holds for the utterance, and the positive terms that matched."""
    if match.question_types and question_type not in match.question_types:
        return False, []
    for term in match.none:
        if term_present(term, utt):
            return False, []
    matched: list[str] = []
    for term in match.all:
        if not term_present(term, utt):
            return False, []
        matched.append(term.text)
    if match.any:
        found = [t.text for t in match.any if term_present(t, utt)]
        if not found:
            return False, []
        matched.extend(found)
    return True, matched


Scope = Literal["topic", "global"]
