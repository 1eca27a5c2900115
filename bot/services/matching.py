"""Matching a manager's question to programmes and FAQ entries (SPEC 5). No telegram, no DB.

Method (measured with bench/faq_quality.py; figures and the reasons in docs/MATCHING.md):
- Text → terms with `bot.services.text_id` (spelling repair, chat spelling, English words,
  stop words, Indonesian stemming, synonyms).
- BM25 over an inverted index; an entry's question/title counts three times, its keywords
  twice, its answer/summary once (BM25F by repetition).
- Confidence: the share of the question's weight (idf) that the best entry covers. Words the
  catalogue never uses weigh like rare words, so "harga cabai di pasar" covers little of any
  entry and gets no answer; a question must also share at least one rare-enough term.
- At most 3 answers: the best, and the next ones scoring at least RELATIVE of the best.
The index is built once per catalogue version (the caller rebuilds it when an import changed
the catalogue) and answers in well under a millisecond for the shipped catalogue.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.services.text_id import Analyser, surface_words

K1 = 1.2
B = 0.75
TITLE_WEIGHT = 3
KEYWORD_WEIGHT = 2
CONFIDENCE = 0.42  # below: no answer, the ticket is offered at once
UNKNOWN_FACTOR = 1.0  # weight of a word the catalogue never uses, relative to the rarest
# A term in most entries (idf below this) says nothing about which one is meant: skipped.
MIN_IDF = 0.2
RELATIVE = 0.6  # a further answer scores at least this share of the best
MAX_ANSWERS = 3


@dataclass(frozen=True)
class Entry:
    """One answerable thing: a programme or a FAQ entry."""

    kind: str  # "program" | "faq"
    id: int
    key: str
    title: str  # the FAQ question or the programme title
    keywords: tuple[str, ...] = ()
    body: str = ""  # the answer or the summary and eligibility


@dataclass(frozen=True)
class Match:
    """An entry that answers the question, with its score and confidence (0..1)."""

    entry: Entry
    score: float
    confidence: float


class MatchIndex:
    """BM25 over the catalogue; `search` is pure and thread-safe after construction."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.entries = list(entries)
        texts = [t for e in self.entries for t in (e.title, e.body, *e.keywords)]
        self.analyser = Analyser(surface_words(texts))
        self._postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self._lengths: list[int] = []
        for number, entry in enumerate(self.entries):
            terms = (self.analyser.terms(entry.title) * TITLE_WEIGHT
                     + self.analyser.terms(" ".join(entry.keywords)) * KEYWORD_WEIGHT
                     + self.analyser.terms(entry.body))
            for term, count in Counter(terms).items():
                self._postings[term].append((number, count))
            self._lengths.append(len(terms))
        n = max(1, len(self.entries))
        self._average = (sum(self._lengths) / n) or 1.0
        self._idf = {t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self._postings.items()}
        # BM25 term weights computed once here, so a search only adds numbers.
        self._weights: dict[str, list[tuple[int, float]]] = {
            term: [
                (number, self._idf[term] * tf * (K1 + 1)
                 / (tf + K1 * (1 - B + B * self._lengths[number] / self._average)))
                for number, tf in postings
            ]
            for term, postings in self._postings.items()
        }
        # An unknown word weighs like a word found in a single entry.
        self._unknown_idf = UNKNOWN_FACTOR * math.log(1 + (n - 0.5) / 1.5)

    def __len__(self) -> int:
        return len(self.entries)

    def search(self, question: str, limit: int = MAX_ANSWERS) -> list[Match]:
        """The entries answering `question`, best first; empty when none is confident."""
        terms = list(dict.fromkeys(self.analyser.terms(question)))
        if not terms or not self.entries:
            return []
        terms = [t for t in terms if self._idf.get(t, self._unknown_idf) >= MIN_IDF]
        if not terms:
            return []
        weights = {t: self._idf.get(t, self._unknown_idf) for t in terms}
        total = sum(weights.values())
        scores: dict[int, float] = defaultdict(float)
        covered: dict[int, float] = defaultdict(float)
        for term in terms:
            postings = self._weights.get(term)
            if not postings:
                continue
            idf = self._idf[term]
            for number, weight in postings:
                scores[number] += weight
                covered[number] += idf
        if not scores:
            return []
        ranked = sorted(scores, key=lambda i: (-scores[i], i))
        best = scores[ranked[0]]
        out: list[Match] = []
        for number in ranked[:limit]:
            confidence = covered[number] / total
            if confidence < CONFIDENCE or scores[number] < RELATIVE * best:
                break
            out.append(Match(self.entries[number], scores[number], round(confidence, 3)))
        return out


def programme_entry(p: Any) -> Entry:
    """The matchable parts of a programme (a model row or anything with its attributes)."""
    body = " ".join(str(getattr(p, name) or "") for name in ("summary", "eligibility", "how_to_apply"))
    return Entry("program", int(getattr(p, "id", 0) or 0), str(p.key),
                 str(p.title), tuple(p.keywords or ()), body)


def faq_entry(f: Any) -> Entry:
    """The matchable parts of a FAQ entry."""
    return Entry("faq", int(getattr(f, "id", 0) or 0), str(f.key),
                 str(f.question), tuple(f.keywords or ()),
                 str(f.answer))
