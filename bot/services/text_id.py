"""Text analysis for matching questions in Indonesian (and some English) to the catalogue.

Pipeline, the same for catalogue entries and questions (so both sides meet in one vocabulary):
1. lower case, accents off, a few multi-word names folded into one token (``rapat anggota
   tahunan`` → ``rat``, ``dana bergulir`` → ``modal``);
2. tokens of letters and digits (a hyphen joins: ``e-katalog`` → ``ekatalog``);
3. spelling repair: a word the vocabulary does not know is replaced by its nearest known word
   (rapidfuzz ratio ≥ 80, words of 4+ letters) — typos such as ``koprasi``, ``pinjamn``;
4. chat spelling and English → Indonesian (``gimana`` → ``bagaimana``, ``loan`` → ``pinjaman``);
5. stop words out — but not the aspect words ``sudah`` / ``belum``: "kami belum RAT" asks
   about a late meeting, "kapan RAT" about the date, and only those words tell them apart;
6. Indonesian stemming (PySastrawi: ``persyaratan`` → ``syarat``);
7. synonyms folded onto one stem (``pinjam``, ``kredit``, ``permodalan`` → ``modal``;
   ``diklat``, ``bimtek`` → ``latih``).
Word order is ignored by design (a bag of words), which is what village phrasing needs.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from rapidfuzz import fuzz, process
from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

# Multi-word names and phrases, folded before tokenising (longest first).
PHRASES = {
    "rapat anggota tahunan": "rat", "annual general meeting": "rat", "annual meeting": "rat",
    "rapat anggota luar biasa": "ralb", "nomor induk koperasi": "nik",
    "online data system": "ods", "kredit usaha rakyat": "kur", "nomor induk berusaha": "nib",
    "sisa hasil usaha": "shu", "dana bergulir": "modal", "revolving fund": "modal",
    "anggaran dasar": "anggarandasar", "articles of association": "anggarandasar",
    "badan hukum": "badanhukum", "legal entity": "badanhukum", "legal status": "badanhukum",
    "pembiayaan": "modal", "dibiayai": "modal", "business matching": "temubisnis",
    "temu bisnis": "temubisnis", "self declare": "halal", "toko online": "online",
    "jual online": "jual online", "e commerce": "online", "non tunai": "qris",
    "mati suri": "vakum", "tidak aktif": "vakum", "inactive": "vakum", "dormant": "vakum",
    "pinjam meminjam": "pinjam", "jasa pinjaman": "bunga pinjaman",
    "apa itu": "definisi", "itu apa": "definisi", "what is": "definisi", "apakah itu": "definisi",
    "bikin koperasi": "mendirikan koperasi", "buat koperasi": "mendirikan koperasi",
    "membuat koperasi": "mendirikan koperasi", "membentuk koperasi": "mendirikan koperasi",
    "bentuk koperasi": "mendirikan koperasi", "new cooperative": "mendirikan koperasi", "simpan pinjam": "simpanpinjam", "savings and loan": "simpanpinjam",
}
_PHRASE_RE = re.compile(r"\b(" + "|".join(re.escape(p) for p in sorted(PHRASES, key=len, reverse=True)) + r")\b")

# Chat spellings and common English words, to one Indonesian word each.
WORDS = {
    # chat and village spelling
    "gimana": "bagaimana", "gmn": "bagaimana", "bgmn": "bagaimana", "bagaimanakah": "bagaimana",
    "gak": "tidak", "ga": "tidak", "nggak": "tidak", "ngga": "tidak", "enggak": "tidak",
    "tdk": "tidak", "gk": "tidak", "tak": "tidak", "yg": "yang", "dgn": "dengan", "utk": "untuk",
    "bs": "bisa", "bsa": "bisa", "brp": "berapa", "knp": "kenapa", "dpt": "dapat",
    "blm": "belum", "udh": "sudah", "sdh": "sudah", "udah": "sudah", "kalo": "kalau",
    "klo": "kalau", "tgl": "tanggal", "sy": "saya", "ak": "saya", "aku": "saya", "kmi": "kami",
    "kpn": "kapan", "dmn": "mana", "dimana": "mana", "bikin": "buat", "ngurus": "urus",
    "minjem": "pinjam", "minjam": "pinjam", "pinjem": "pinjam", "duit": "uang", "doi": "uang",
    "kop": "koperasi", "kopdit": "koperasi", "bmt": "syariah", "pengen": "ingin", "pingin": "ingin",
    "gratisan": "gratis", "dr": "dari", "aja": "saja", "prosedur": "cara", "prosedurnya": "cara",
    "caranya": "cara", "attend": "hadir", "attends": "hadir", "persyaratannya": "persyaratan", "hutang": "utang", "ktua": "ketua",
    # English
    "how": "bagaimana", "when": "kapan", "where": "mana", "who": "siapa", "what": "apa",
    "why": "kenapa", "cost": "biaya", "fee": "biaya", "fees": "biaya", "price": "biaya",
    "loan": "pinjaman", "loans": "pinjaman", "credit": "kredit", "capital": "modal",
    "funding": "modal", "fund": "modal", "funds": "modal", "money": "uang", "grant": "hibah",
    "grants": "hibah", "training": "pelatihan", "trainings": "pelatihan", "course": "pelatihan",
    "workshop": "pelatihan", "requirement": "syarat", "requirements": "syarat",
    "requirement's": "syarat", "documents": "dokumen", "document": "dokumen", "apply": "ajukan",
    "application": "ajukan", "register": "daftar", "registration": "daftar", "meeting": "rapat",
    "members": "anggota", "member": "anggota", "membership": "anggota", "cooperative": "koperasi",
    "cooperatives": "koperasi", "coop": "koperasi", "coops": "koperasi", "coop's": "koperasi",
    "certificate": "sertifikat", "exhibition": "pameran", "expo": "pameran", "fair": "pameran",
    "packaging": "kemasan", "label": "label", "sell": "jual", "selling": "jual", "buyer": "pembeli",
    "buyers": "pembeli", "market": "pasar", "online": "online", "bookkeeping": "pembukuan",
    "accounting": "akuntansi", "report": "laporan", "reports": "laporan", "chairman": "ketua",
    "chair": "ketua", "board": "pengurus", "supervisor": "pengawas", "supervisors": "pengawas",
    "dissolve": "bubar", "close": "tutup", "change": "ubah", "name": "nama", "interest": "bunga",
    "rate": "bunga", "collateral": "agunan", "guarantee": "jaminan", "profit": "shu",
    "dividend": "shu", "permit": "izin", "license": "izin", "licence": "izin", "tax": "pajak",
    "free": "gratis", "establish": "diri", "found": "diri", "start": "diri", "savings": "simpanan",
    "village": "desa", "office": "kantor", "address": "alamat", "hours": "jam", "officer": "petugas",
    "internship": "magang", "technology": "teknologi", "machine": "mesin", "equipment": "alat",
    "tools": "alat", "payment": "bayar", "quorum": "kuorum", "audit": "audit", "late": "terlambat",
    "held": "adakan", "hold": "adakan", "deadline": "batas", "annual": "tahunan", "year": "tahun",
    "every": "setiap", "data": "data", "update": "perbarui", "wrong": "salah", "join": "anggota",
    "leave": "keluar", "quit": "keluar", "halal": "halal", "food": "pangan", "government": "pemerintah",
}

# Stems that mean the same thing to a manager, folded onto one.
SYNONYMS = {
    "pinjam": "modal", "kredit": "modal", "utang": "modal", "dana": "modal", "henti": "keluar",
    "gulir": "modal", "lpdbkumkm": "lpdb",
    "diklat": "latih", "bimtek": "latih", "kursus": "latih", "training": "latih", "ajar": "latih",
    "register": "daftar", "registrasi": "daftar", "aju": "daftar", "mohon": "daftar",
    "ketentuan": "syarat", "kriteria": "syarat", "hibah": "bantu", "sumbang": "bantu",
    "daring": "online", "internet": "online", "digital": "online", "marketplace": "online",
    "ongkos": "biaya", "tarif": "biaya", "bayar": "biaya", "harga": "biaya",
    "agunan": "jamin", "kolateral": "jamin", "expo": "pamer", "bazar": "pamer",
    "vakum": "aktif", "hidup": "aktif", "reaktivasi": "aktif", "bubar": "bubar", "likuidasi": "bubar",
    "sertifikat": "sertifikat", "piagam": "sertifikat", "packaging": "kemas", "bungkus": "kemas",
    "notaris": "akta", "npak": "akta", "ubah": "ubah", "ganti": "ubah",
}

STOPWORDS = frozenset(["yang", "dan", "di", "ke", "dari", "untuk", "ini", "itu", "saya", "kami", "kita", "anda", "ada", "adalah", "dengan", "atau", "juga", "mau", "ingin", "akan", "bisa", "dapat", "apakah", "apa", "kah", "lah", "pun", "nya", "dong", "sih", "ya", "kok", "deh", "tolong", "mohon", "bapak", "ibu", "pak", "bu", "kak", "om", "mas", "mbak", "halo", "hai", "selamat", "pagi", "siang", "sore", "malam", "terima", "kasih", "makasih", "tanya", "bertanya", "mau", "minta", "boleh", "bagaimana", "cara", "gimana", "nih", "tuh", "oleh", "para", "sebagai", "pada", "dalam", "jika", "kalau", "the", "a", "an", "of", "to", "for", "is", "are", "do", "does", "can", "i", "we", "our", "my", "you", "your", "it", "in", "on", "and", "or", "be", "with", "please", "hello", "hi", "about", "there", "any", "this", "that", "what", "how", "which", "tahu", "info", "informasi", "soal", "tentang", "mengenai", "kami", "saja", "aja", "many", "much", "must", "should", "need", "needs", "does", "did", "has", "have", "had", "was", "were", "will", "would", "could"])


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    return StemmerFactory().create_stemmer()


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    """The Indonesian stem of one word, synonyms folded (cached: the same words recur)."""
    if len(word) <= 3 or word.isdigit():
        base = word
    else:
        base = _stemmer().stem(word) or word
    return SYNONYMS.get(base, base)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"(?<=\w)[-‐–'](?=\w)", "", text)
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return _PHRASE_RE.sub(lambda m: PHRASES[m.group(1)], f" {text} ")


def words(text: str) -> list[str]:
    """Lower-case words of `text`, phrases folded, chat spelling and English mapped."""
    out: list[str] = []
    for token in _fold(text).split():
        out.extend(WORDS.get(token, token).split())
    return out


class Analyser:
    """Text → index terms, with spelling repair against a known vocabulary of surface words."""

    def __init__(self, surface_vocabulary: Iterable[str]) -> None:
        known = set(surface_vocabulary) | set(WORDS) | set(WORDS.values()) | set(SYNONYMS) | STOPWORDS
        self.known = frozenset(known)
        self._choices = sorted(w for w in self.known if len(w) >= 4)
        self._repairs: dict[str, str] = {}

    def repair(self, token: str) -> str:
        """The nearest known word for an unknown one of 4+ letters, or the token itself."""
        if token in self.known or len(token) < 4 or token.isdigit():
            return token
        cached = self._repairs.get(token)
        if cached is None:
            best = process.extractOne(token, self._choices, scorer=fuzz.ratio, score_cutoff=80)
            cached = best[0] if best else token
            if len(self._repairs) < 100_000:
                self._repairs[token] = cached
        return cached

    def terms(self, text: str) -> list[str]:
        """Index terms of a question or entry text."""
        out: list[str] = []
        for token in _fold(text).split():
            if token in STOPWORDS or token.isdigit():
                continue
            token = self.repair(token)
            for word in WORDS.get(token, token).split():
                if word in STOPWORDS:
                    continue
                out.append(stem(word))
        return out


def surface_words(texts: Iterable[str]) -> set[str]:
    """Every folded word of the catalogue (the vocabulary for spelling repair)."""
    vocabulary: set[str] = set()
    for text in texts:
        vocabulary.update(_fold(text).split())
    return vocabulary
