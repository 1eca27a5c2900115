"""Question matching: the quality targets on the evaluation set, speed, and its behaviours."""

from __future__ import annotations

import pytest

from bench.faq_quality import (
    TARGETS,
    latency,
    load_questions,
    quality,
    sample_entries,
    synthetic_entries,
)
from bot.services.matching import MAX_ANSWERS, Entry, MatchIndex
from bot.services.text_id import Analyser


@pytest.fixture(scope="module")
def index() -> MatchIndex:
    return MatchIndex(sample_entries())


def keys(index: MatchIndex, question: str) -> list[str]:
    return [f"{m.entry.kind}:{m.entry.key}" for m in index.search(question)]


def test_the_evaluation_set_is_large_and_mixed():
    questions = load_questions()
    assert len(questions) >= 120
    assert sum(1 for q in questions if not q.expected) >= 15
    assert sum(1 for q in questions if q.split == "holdout") >= 30
    known = {f"{e.kind}:{e.key}" for e in sample_entries()}
    assert {k for q in questions for k in q.expected} <= known


def test_quality_targets_on_the_evaluation_set(index):
    questions = load_questions()
    figures = quality(index, questions)
    assert figures["top1"] >= TARGETS["top1"], figures
    assert figures["top3"] >= TARGETS["top3"], figures
    assert figures["false_answer_rate"] <= TARGETS["false_answer_rate"], figures
    # The part never tuned on holds the top-1 target too.
    holdout = quality(index, [q for q in questions if q.split == "holdout"])
    assert holdout["top1"] >= TARGETS["top1"], holdout


def test_p99_latency_with_2000_entries():
    entries = synthetic_entries(sample_entries(), 2000)
    questions = load_questions()
    # Best of three: the figure is the method's, not a neighbour's load on a shared machine.
    best = min(latency(entries, questions)["p99_ms"] for _ in range(3))
    assert best < TARGETS["p99_ms"]


def test_typos_synonyms_english_and_word_order(index):
    assert keys(index, "pelatian akuntansi koprasi") == keys(index, "pelatihan akuntansi koperasi")
    assert keys(index, "pelatian akuntansi koprasi")[0] == "program:pelatihan-akuntansi-koperasi"
    # bimtek ≈ diklat ≈ pelatihan
    assert {"faq:jadwal-pelatihan", "program:diklat-perkoperasian-dasar"} & set(keys(index, "jadwal bimtek"))
    # pinjaman ≈ dana bergulir ≈ modal
    assert keys(index, "syarat dana bergulir koperasi")[0] in {"faq:lpdb-syarat", "program:lpdb-dana-bergulir"}
    assert keys(index, "what are the requirements for an LPDB loan")[0] in {
        "faq:lpdb-syarat", "program:lpdb-dana-bergulir"}
    assert keys(index, "KUR bunga berapa") == keys(index, "berapa bunga KUR")


def test_nothing_for_questions_outside_the_catalogue(index):
    assert index.search("harga cabai di pasar hari ini") == []
    assert index.search("") == []
    assert index.search("!!! ???") == []


def test_at_most_three_answers_best_first(index):
    found = index.search("rapat anggota tahunan")
    assert 1 <= len(found) <= MAX_ANSWERS
    assert [m.score for m in found] == sorted((m.score for m in found), reverse=True)


def test_spelling_repair_uses_known_words_only():
    analyser = Analyser({"koperasi", "pelatihan"})
    assert analyser.repair("koprasi") == "koperasi"
    assert analyser.repair("xyzw") == "xyzw"
    assert analyser.repair("ok") == "ok"


def test_an_index_of_nothing_answers_nothing():
    assert MatchIndex([]).search("modal") == []
    one = MatchIndex([Entry("faq", 1, "a", "Apa itu RAT?", (), "Rapat anggota tahunan.")])
    assert [m.entry.key for m in one.search("apa itu rat")] == ["a"]
