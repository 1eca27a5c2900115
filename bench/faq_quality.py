"""Quality and speed of question matching (SPEC 5): prints JSON.

- top-1 / top-3: the expected entry is the first / among the answers (at most 3), over the
  questions that have an expected entry; false-answer rate: share of the "none" questions that
  got any answer. Reported for the dev part (the method was tuned on it), the held-out part
  (never tuned on) and all.
- latency: matching every question against the shipped catalogue plus synthetic entries up to
  2,000, after one warm-up pass; p50 / p99 in milliseconds, and the index build time.

Run: `.venv/bin/python -m bench.faq_quality` (no database, no network).
"""

from __future__ import annotations

import json
import random
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from bot.seed import SAMPLE_CATALOGUE
from bot.services.catalogue import parse_file
from bot.services.matching import Entry, MatchIndex, faq_entry, programme_entry

EVAL_FILE = Path(__file__).parent / "data" / "faq_eval.tsv"
TARGETS = {"top1": 0.85, "top3": 0.95, "false_answer_rate": 0.10, "p99_ms": 20.0}


@dataclass(frozen=True)
class Question:
    split: str
    expected: frozenset[str]  # empty = must match nothing
    text: str


def load_questions(path: Path = EVAL_FILE) -> list[Question]:
    """The evaluation questions, in file order."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith(("#", "split\t")):
            continue
        split, expected, text = line.split("\t", 2)
        keys = frozenset() if expected == "none" else frozenset(expected.split("|"))
        out.append(Question(split, keys, text))
    return out


def sample_entries() -> list[Entry]:
    """The shipped sample catalogue as matchable entries."""
    tz = ZoneInfo("Asia/Makassar")
    programmes, _ = parse_file(SAMPLE_CATALOGUE / "programmes.yaml", "programs", tz)
    faq, _ = parse_file(SAMPLE_CATALOGUE / "faq.yaml", "faq", tz)
    entries = [programme_entry(SimpleNamespace(id=i, **p)) for i, p in enumerate(programmes, 1)]
    entries += [faq_entry(SimpleNamespace(id=i, **f)) for i, f in enumerate(faq, 1)]
    return entries


def synthetic_entries(real: list[Entry], total: int, seed: int = 7) -> list[Entry]:
    """Extra entries made of the catalogue's own words, shuffled, up to `total` entries."""
    rng = random.Random(seed)
    words = sorted({w for e in real for w in (e.title + " " + e.body).split() if len(w) > 3})
    extra = []
    for n in range(max(0, total - len(real))):
        title = " ".join(rng.sample(words, 6))
        body = " ".join(rng.sample(words, 40))
        extra.append(Entry("faq", 100_000 + n, f"synthetic-{n}", title, tuple(rng.sample(words, 3)), body))
    return real + extra


def quality(index: MatchIndex, questions: list[Question]) -> dict[str, float | int]:
    """top-1, top-3 and false-answer rate of `index` on `questions`."""
    answerable = [q for q in questions if q.expected]
    unanswerable = [q for q in questions if not q.expected]
    top1 = top3 = false = 0
    for q in questions:
        found = [f"{m.entry.kind}:{m.entry.key}" for m in index.search(q.text)]
        if not q.expected:
            false += bool(found)
        else:
            top1 += bool(found) and found[0] in q.expected
            top3 += any(k in q.expected for k in found)
    return {
        "questions": len(questions),
        "top1": round(top1 / max(1, len(answerable)), 3),
        "top3": round(top3 / max(1, len(answerable)), 3),
        "false_answer_rate": round(false / max(1, len(unanswerable)), 3),
    }


def misses(index: MatchIndex, questions: list[Question]) -> list[dict[str, object]]:
    """The questions answered wrongly (for tuning on the dev part only)."""
    out = []
    for q in questions:
        found = [f"{m.entry.kind}:{m.entry.key}" for m in index.search(q.text)]
        ok = (not found) if not q.expected else (bool(found) and found[0] in q.expected)
        if not ok:
            out.append({"q": q.text, "expected": sorted(q.expected), "got": found})
    return out


def latency(entries: list[Entry], questions: list[Question]) -> dict[str, float]:
    """Index build time and per-question matching latency over a catalogue of `entries`."""
    started = time.perf_counter()
    index = MatchIndex(entries)
    build_ms = (time.perf_counter() - started) * 1000
    for q in questions:  # warm-up: the stemmer's and speller's caches, as in a running bot
        index.search(q.text)
    timings = []
    for _ in range(5):
        for q in questions:
            t0 = time.perf_counter()
            index.search(q.text)
            timings.append((time.perf_counter() - t0) * 1000)
    timings.sort()
    cold = MatchIndex(entries)  # the first search of each question, caches empty
    cold_timings = []
    for q in questions:
        t0 = time.perf_counter()
        cold.search(q.text)
        cold_timings.append((time.perf_counter() - t0) * 1000)
    cold_timings.sort()
    return {
        "entries": len(entries),
        "build_ms": round(build_ms, 1),
        "p50_ms": round(statistics.median(timings), 3),
        "p99_ms": round(timings[int(len(timings) * 0.99) - 1], 3),
        "cold_p99_ms": round(cold_timings[int(len(cold_timings) * 0.99) - 1], 3),
    }


def main() -> None:
    """Print the figures as JSON."""
    questions = load_questions()
    entries = sample_entries()
    index = MatchIndex(entries)
    result = {
        "catalogue_entries": len(entries),
        "dev": quality(index, [q for q in questions if q.split == "dev"]),
        "holdout": quality(index, [q for q in questions if q.split == "holdout"]),
        "all": quality(index, questions),
        "latency_2000": latency(synthetic_entries(entries, 2000), questions),
        "targets": TARGETS,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
