"""Texts for parse errors, report rules, plausibility warnings and status reasons (id, en).

Field and choice names are not here: they are in the catalogues (report.field.*,
report.obstacle.*, report.support.*).

Each entry is one line: the reason and, where it helps, an example of a good answer. Placeholders
use `str.format` names and are the same in both languages; values are formatted for the reader's
language by `render` (amounts as "Rp 1.250.000", dates as "15 Maret 2026"). These dicts are
waiting to move into bot/locales/*.toml; until then `render` reads them directly.
"""

from __future__ import annotations

from typing import Any

from bot.services.parsing import ParseError, format_value

MESSAGES: dict[str, dict[str, str]] = {
    "id": {
        "parse.money": "Jumlah uang tidak terbaca. Contoh: Rp 1.250.000 / 1,25 jt / 2 M / 500 rb.",
        "parse.int": "Mohon tulis bilangan bulat. Contoh: 25 atau 1.250.",
        "parse.date": "Tanggal tidak terbaca. Contoh: 15/03/2026 atau 15 Maret 2026.",
        "parse.date_invalid": "Tanggal itu tidak ada di kalender. Contoh: 28/02/2026.",
        "parse.yes_no": "Mohon jawab ya atau tidak.",
        "parse.too_big": "Angka terlalu besar: paling banyak {max}.",
        "parse.too_small": "Angka terlalu kecil: paling sedikit {min}.",
        "parse.negative": "Jumlah ini tidak boleh negatif. Contoh: Rp 1.250.000.",
        "parse.too_long": "Terlalu panjang: {length} karakter, paling banyak {max}. "
                          "Mohon persingkat.",
        "parse.empty": "Jawaban kosong. Mohon ketik jawaban, atau /lewati bila boleh dilewati.",
        "parse.choice": "Pilihan tidak dikenal. Pilih dengan tombol atau ketik nomor 1–{count}, "
                        "misalnya: 1, 3.",
        "report.date_future": "Tanggal tidak boleh melewati hari ini ({today}).",
        "report.rat_date_range": "Tanggal RAT harus antara {first} dan {last}.",
        "report.rat_date_required": "Tanggal RAT wajib diisi bila RAT sudah diadakan.",
        "report.rat_date_unexpected": "Tanggal RAT hanya diisi bila RAT sudah diadakan.",
        "report.fiscal_year_range": "Tahun buku harus antara {first} dan {last}.",
        "warn.assets_halved": "Total aset turun lebih dari separuh: {old} (tahun buku {year}) "
                              "menjadi {new}.",
        "warn.assets_tenfold": "Total aset naik lebih dari sepuluh kali: {old} (tahun buku "
                               "{year}) menjadi {new}. Apakah ada angka nol berlebih?",
        "warn.members_halved": "Jumlah anggota turun lebih dari separuh: {old} (tahun buku "
                               "{year}) menjadi {new}.",
        "warn.capital_exceeds_assets": "Modal sendiri + modal luar ({capital}) lebih besar "
                                       "daripada total aset ({assets}).",
        "warn.members_zero_but_operating": "Koperasi masih beroperasi tetapi jumlah anggota 0.",
        "warn.pengurus_zero": "Koperasi masih beroperasi tetapi jumlah pengurus 0.",
        "warn.surplus_exceeds_volume": "SHU ({surplus}) lebih besar daripada volume usaha "
                                       "({volume}).",
        "status.active": "Masih beroperasi dan mengadakan RAT dalam {years} tahun buku terakhir.",
        "status.no_report": "Belum ada laporan tahunan.",
        "status.not_operating": "Laporan terakhir menyatakan koperasi tidak beroperasi lagi.",
        "status.no_recent_rat": "Tidak ada RAT dalam {years} tahun buku terakhir.",
    },
    "en": {
        "parse.money": "Cannot read that amount. Example: Rp 1,250,000 / 1.25 million / 500k.",
        "parse.int": "Please type a whole number. Example: 25 or 1,250.",
        "parse.date": "Cannot read that date. Example: 15/03/2026 or 15 March 2026.",
        "parse.date_invalid": "That date is not on the calendar. Example: 28/02/2026.",
        "parse.yes_no": "Please answer yes or no.",
        "parse.too_big": "Too large: at most {max}.",
        "parse.too_small": "Too small: at least {min}.",
        "parse.negative": "This amount cannot be negative. Example: Rp 1,250,000.",
        "parse.too_long": "Too long: {length} characters, at most {max}. Please shorten it.",
        "parse.empty": "The answer is empty. Please type it, or /skip if it may be skipped.",
        "parse.choice": "Unknown choice. Use the buttons or type numbers 1–{count}, "
                        "for example: 1, 3.",
        "report.date_future": "The date cannot be after today ({today}).",
        "report.rat_date_range": "The RAT date must be between {first} and {last}.",
        "report.rat_date_required": "The RAT date is required when a RAT was held.",
        "report.rat_date_unexpected": "A RAT date is only given when a RAT was held.",
        "report.fiscal_year_range": "The fiscal year must be between {first} and {last}.",
        "warn.assets_halved": "Total assets fell by more than half: {old} (fiscal year {year}) "
                              "to {new}.",
        "warn.assets_tenfold": "Total assets grew more than tenfold: {old} (fiscal year {year}) "
                               "to {new}. Is there an extra zero?",
        "warn.members_halved": "Membership fell by more than half: {old} (fiscal year {year}) "
                               "to {new}.",
        "warn.capital_exceeds_assets": "Own + external capital ({capital}) is larger than total "
                                       "assets ({assets}).",
        "warn.members_zero_but_operating": "The cooperative is still operating but has 0 "
                                           "members.",
        "warn.pengurus_zero": "The cooperative is still operating but has 0 managers.",
        "warn.surplus_exceeds_volume": "The surplus ({surplus}) is larger than the business "
                                       "volume ({volume}).",
        "status.active": "Still operating and held a RAT in the last {years} fiscal years.",
        "status.no_report": "No annual report yet.",
        "status.not_operating": "The latest report says the cooperative no longer operates.",
        "status.no_recent_rat": "No RAT in the last {years} fiscal years.",
    },
}


def _language(lang: str) -> str:
    return lang if lang in MESSAGES else "id"


def render(key: str, values: dict[str, Any], lang: str) -> str:
    """The text of `key` in `lang` with `values` formatted for that language."""
    text = MESSAGES[_language(lang)][key]
    return text.format(**{name: format_value(value, lang) for name, value in values.items()})


def describe(error: ParseError, lang: str) -> str:
    """The one-line reason (and example) for a parse error, in `lang`."""
    return render(error.key, error.values, lang)

