"""What the fuzz generator writes: commands, plain and hostile texts, people's names."""

from __future__ import annotations

import random
from typing import Any

ANONYMOUS_ADMIN = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
COMMANDS = [
    "start", "bantuan", "help", "bahasa", "language", "batal", "cancel", "daftar", "register", "profil",
    "profile", "laporan", "report", "lewati", "skip", "undang", "invite", "koperasi", "coop", "status",
    "setstatus", "petugas", "officers", "siaran", "broadcast", "tanya", "program", "statistik", "ekspor",
    "unknown_cmd",
]
STAFF_COMMANDS = ["koperasi", "coop", "undang", "invite", "status", "setstatus", "siaran", "broadcast", "petugas"]
REGISTRY_ARGS = ["KSP", "Amarasi", "Tunas", "Koperasi", "DEMO-0001", "DEMO-0002/BH/5301/1990", "Uitao",
                 "DEMO-0003 tidak_aktif <alasan> & {{x}}", "DEMO-0001 aktif", "add 777 --name X", "list"]
MENU_KEYS = ["help", "language", "register", "profile", "report"]
HOSTILE = [
    "<b>", "</b>", "<b>tebal", "&", "&amp;", "&lt;", "a < b > c", "<script>alert(1)</script>",
    '<a href="javascript:alert(1)">x</a>', "{{", "}}", "{name}", "{0}", "%s %d", "\\", "`code`",
    "*bold* _it_ [x](y)", "\u202eRTL override\u202c", "مرحبا بالعالم", "שלום", "👨‍👩‍👧‍👦🇮🇩🔥",
    "\u200b\u200c\u200d\ufeff", "\u2400 \x01 \x1b \x7f \ufffd \u0085", "'; DROP TABLE people; --",
    "Ñoño ÄÖÜ ß", "\t tab \n newline \r\n", "   spaces   ", "-1", "0", "99999999999999999999999",
    "1e309", "NaN", "-0,5 M", "Rp -", "31/02/2025", "15/03/2099", "ya", "tidak", "YA!!", "null",
]
PLAIN = [
    "halo", "selamat pagi", "apa kabar?", "saya mau lapor", "terima kasih", "bagaimana cara daftar",
    "1.250", "980", "Rp 2,5 M", "1,5 juta", "500 rb", "15/03/2025", "15 Maret 2025", "2025-03-15",
    "Simpan pinjam", "ok", "Koperasi Sejahtera", "Amarasi", "KSP", "12", "3",
]
EMOJI = ["👍", "🔥", "😂", "❤", "🙏"]


def fit(text: str, units: int) -> str:
    """At most `units` UTF-16 code units (Telegram's measure), cut at a character boundary."""
    while len(text.encode("utf-16-le")) // 2 > units:
        text = text[: max(1, len(text) - max(1, (len(text.encode("utf-16-le")) // 2 - units) // 2))]
    return text


def user_object(user_id: int, rng: random.Random, *, is_bot: bool = False) -> dict[str, Any]:
    """A Bot API User with a name that varies per id (deterministic) and sometimes hostile."""
    names = ["Maria", "Yohanes <b>", "Ana & Co", "{{nama}}", "مريم", "👩‍🌾 Ibu", "A" * 64, "Nus\u200bra"]
    user: dict[str, Any] = {"id": user_id, "is_bot": is_bot, "first_name": names[user_id % len(names)]}
    if user_id % 3 == 0:
        user["last_name"] = "Tefa"
    if is_bot:
        user["username"] = f"helper{user_id}_bot"
    else:
        user["language_code"] = ["id", "en", "fr", None][user_id % 4] or "id"
    return user
