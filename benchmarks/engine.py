"""Engine benchmark: Understudy's engine against python-aiml on the same generated keyword persona and inputs.

Run with ``make bench`` or ``.venv/bin/python -m benchmarks.engine``. Both sides answer the same utterances in the same
process, interleaved in rounds, so machine noise hits both; the result that matters is the ratio.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from bot.engine.analysis import Classification, classify
from bot.engine.dialogue import Classifier, start, step
from bot.engine.matcher import CompiledPersona
from bot.lexicon import default_lexicon
from bot.persona.model import Persona

from .common import Timing, fmt_us, time_calls

SYLLABLES = ["ka", "lo", "mi", "ran", "tes", "vo", "zu", "pel", "dor", "fin", "gar", "hus", "jen", "ket", "mar"]
FILLER = ["please", "tell", "me", "about", "the", "your", "was", "it", "there", "what", "and", "how", "when", "now"]


def keywords(n: int, rng: random.Random) -> list[str]:
    """Return ``n`` distinct pseudo-words of 3 or more syllables (long enough to get typo tolerance)."""
    syllables = 3
    while len(SYLLABLES) ** syllables < 2 * n:  # keep the space sparse so drawing n distinct words ends quickly
        syllables += 1
    out: set[str] = set()
    while len(out) < n:
        out.add("".join(rng.choice(SYLLABLES) for _ in range(syllables)))
    return sorted(out)


def persona_data(words: list[str]) -> dict[str, Any]:
    """Return a persona with one keyword rule per word, all global, plus a fallback."""
    return {
        "id": "bench",
        "name": "Bench",
        "role": "witness",
        "language": "en",
        "case": {"id": "bench", "title": "Benchmark"},
        "briefing": {"role": "r", "situation": "s", "objectives": ["o"]},
        "instructor_notes": {"ground_truth": "g", "learning_objectives": ["l"]},
        "variables": {"trust": {"initial": 5}, "fear": {"initial": 5}},
        "opening": "Hi.",
        "start_topic": "main",
        "topics": {"main": {}},
        "rules": [
            {"id": f"r{i}", "match": {"any": [w]}, "reply": f"Answer about {w}."} for i, w in enumerate(words)
        ],
        "fallbacks": [{"reply": "Sorry?"}],
    }


def aiml_file(words: list[str], directory: Path) -> Path:
    """Write the equivalent AIML set: the keyword alone, first, last or anywhere in the sentence."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>', '<aiml version="1.0.1">']
    for w in words:
        up = escape(w.upper())
        for pattern in (up, f"{up} *", f"_ {up}", f"_ {up} *"):
            parts.append(f"<category><pattern>{pattern}</pattern><template>Answer about {escape(w)}.</template>"
                         "</category>")
    parts.append("<category><pattern>*</pattern><template>Sorry?</template></category>")
    parts.append("</aiml>")
    path = directory / "bench.aiml"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def inputs(words: list[str], n: int, rng: random.Random) -> list[str]:
    """Return trainee-like sentences: a keyword among filler words; a fifth have no keyword."""
    out = []
    for i in range(n):
        filler = rng.sample(FILLER, rng.randint(3, 7))
        if i % 5:
            filler.insert(rng.randrange(len(filler) + 1), rng.choice(words))
        out.append(" ".join(filler) + "?")
    return out


def no_analysis(text: str, language: str) -> Classification:
    """Stand in for the question classifier, to time matching alone (python-aiml classifies nothing)."""
    return Classification("other", "benchmark: analysis off", language, False)


def understudy_runner(cp: CompiledPersona, classifier: Classifier = classify) -> Any:
    """Return a one-argument callable that plays a turn, keeping the state between calls."""
    state = start(cp).state

    def run(text: str) -> None:
        nonlocal state
        state = step(cp, state, text, classifier).state

    return run


def compile_persona(words: list[str]) -> tuple[CompiledPersona, float]:
    """Validate and compile a generated persona; return it and the seconds it took."""
    t0 = time.perf_counter()
    cp = CompiledPersona(Persona.model_validate(persona_data(words)), "bench", default_lexicon())
    return cp, time.perf_counter() - t0


def row(t: Timing) -> str:
    """Return one Markdown table row for a timing."""
    return f"| {t.label} | {t.per_second:,.0f} | {fmt_us(t.percentile(50))} | {fmt_us(t.percentile(99))} |"


def main() -> None:
    """Run the benchmark and print Markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rules", type=int, default=500)
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--personas", default="personas", help="directory of shipped personas to time")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    rng = random.Random(1)
    words = keywords(args.rules, rng)
    texts = inputs(words, args.turns, rng)
    cp, _ = compile_persona(words)

    import aiml  # benchmark-only dependency

    with tempfile.TemporaryDirectory() as tmp:
        kernel = aiml.Kernel()
        kernel.verbose(False)
        kernel.learn(str(aiml_file(words, Path(tmp))))

    full, matching = understudy_runner(cp), understudy_runner(cp, no_analysis)
    ours: list[float] = []
    bare: list[float] = []
    theirs: list[float] = []
    for _ in range(args.rounds):  # interleave so all sides see the same machine load
        ours += time_calls("understudy", full, texts).latencies
        bare += time_calls("matching", matching, texts).latencies
        theirs += time_calls("aiml", kernel.respond, texts).latencies
    t_ours = Timing("Understudy step, full (stemming + typos + question analysis)", ours)
    t_bare = Timing("Understudy step, question analysis off (stemming + typos)", bare)
    t_aiml = Timing("python-aiml", theirs)
    print(f"## Engine vs python-aiml: {args.rules} keyword rules, {len(texts)} inputs x {args.rounds} rounds\n")
    print("| engine | turns/s | p50 | p99 |\n|---|---:|---:|---:|")
    for t in (t_ours, t_bare, t_aiml):
        print(row(t))
    print(f"\nratio, full step / python-aiml: **{t_ours.per_second / t_aiml.per_second:.2f}x**  ")
    print(f"ratio, analysis off / python-aiml: **{t_bare.per_second / t_aiml.per_second:.2f}x**\n")

    _, compile_s = compile_persona(keywords(2000, random.Random(2)))
    print(f"compile time of a 2,000-rule persona: {compile_s * 1000:.0f} ms\n")

    print("## Cost per turn as rules grow\n\n| rules | turns/s | p50 | relative to 50 rules |\n|---:|---:|---:|---:|")
    base: float | None = None
    for n in (50, 500, 5000):
        wr = keywords(n, random.Random(n))
        cpn, _ = compile_persona(wr)
        t = time_calls(str(n), understudy_runner(cpn), inputs(wr, 1000, random.Random(n)), repeat=2)
        med = statistics.median(t.latencies)
        base = base or med
        print(f"| {n} | {t.per_second:,.0f} | {fmt_us(t.percentile(50))} | {med / base:.2f}x |")
    shipped_personas(Path(args.personas))


def shipped_personas(directory: Path) -> None:
    """Time every shipped persona on its own paraphrase suite, each utterance from that group's starting state."""
    from bot.persona.catalog import load_catalog
    from bot.persona.testing import apply_given, load_test_file

    catalog = load_catalog(directory)
    print("\n## Shipped personas, replaying their paraphrase suites\n")
    print("| persona | rules | utterances | turns/s | p50 | p99 |\n|---|---:|---:|---:|---:|---:|")
    for entry in catalog.entries():
        suite = directory / "tests" / f"{entry.persona.id}.paraphrases.yaml"
        if not suite.exists():
            continue
        cp = CompiledPersona(entry.persona, entry.version, default_lexicon())
        spec, _ = load_test_file(suite)
        cases = [(apply_given(cp, start(cp).state, g.given), said) for g in spec.paraphrases for said in g.say]
        latencies: list[float] = []
        for _ in range(3):
            for state, said in cases:
                t0 = time.perf_counter()
                step(cp, state, said)
                latencies.append(time.perf_counter() - t0)
        t = Timing(entry.persona.id, latencies)
        print(
            f"| {entry.persona.id} | {len(cp.rules)} | {len(cases)} | {t.per_second:,.0f} | "
            f"{fmt_us(t.percentile(50))} | {fmt_us(t.percentile(99))} |"
        )


if __name__ == "__main__":
    main()
