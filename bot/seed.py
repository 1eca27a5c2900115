"""`kopdesk seed-demo`: the kecamatan of Kabupaten Kupang and a synthetic registry.

The registry is invented, not copied: 401 cooperatives, 157 aktif and 244 tidak aktif, the
regency's December 2022 totals, with the local mix of business (savings and loan dominates;
seaweed on the coast and Semau, weaving and cattle in Amarasi). Every row has ``synthetic=True``
and a registration number starting with ``DEMO-``, so it cannot pass for real data. The same
reference year gives the same rows, and seeding again changes nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from storage.db import Database
from storage.models import CoopForm, CoopStatus, CoopType
from storage.repositories import registry as repo
from storage.types import utcnow

KECAMATAN_KABUPATEN_KUPANG: tuple[str, ...] = (
    "Semau", "Semau Selatan", "Kupang Barat", "Nekamese", "Kupang Tengah", "Taebenu",
    "Amarasi", "Amarasi Barat", "Amarasi Selatan", "Amarasi Timur", "Kupang Timur",
    "Amabi Oefeto Timur", "Amabi Oefeto", "Sulamu", "Fatuleu", "Fatuleu Tengah",
    "Fatuleu Barat", "Takari", "Amfoang Selatan", "Amfoang Barat Daya", "Amfoang Tengah",
    "Amfoang Utara", "Amfoang Barat Laut", "Amfoang Timur",
)
TOTAL = 401
ACTIVE = 157
_SEED = 5301_2022  # fixed: the demo registry must be the same on every machine
REGION_CODE = "5301"  # BPS code of Kabupaten Kupang, used in the synthetic numbers

# Relative number of cooperatives: the towns near Kota Kupang have many, the Amfoang few.
_WEIGHTS = {
    "Kupang Timur": 40, "Kupang Tengah": 34, "Kupang Barat": 22, "Taebenu": 14,
    "Amarasi": 20, "Amarasi Barat": 18, "Amarasi Selatan": 14, "Amarasi Timur": 12,
    "Fatuleu": 18, "Fatuleu Tengah": 8, "Fatuleu Barat": 10, "Takari": 16, "Sulamu": 14,
    "Semau": 14, "Semau Selatan": 8, "Nekamese": 12, "Amabi Oefeto Timur": 14,
    "Amabi Oefeto": 10, "Amfoang Selatan": 12, "Amfoang Barat Daya": 7, "Amfoang Tengah": 6,
    "Amfoang Utara": 10, "Amfoang Barat Laut": 7, "Amfoang Timur": 7,
}
# A few villages per kecamatan for the desa column (elsewhere the column stays empty).
_DESA = {
    "Kupang Timur": ("Oesao", "Babau", "Naibonat", "Oelatimo", "Pukdale", "Tuatuka"),
    "Kupang Tengah": ("Tarus", "Noelbaki", "Oebelo", "Penfui Timur", "Mata Air"),
    "Kupang Barat": ("Tablolong", "Sumlili", "Bolok", "Lifuleo"),
    "Semau": ("Uitao", "Hansisi", "Uiboa", "Batuinan"),
    "Semau Selatan": ("Akle", "Uitiuhtuan", "Onansila"),
    "Taebenu": ("Baumata", "Kuaklalo"),
    "Amarasi": ("Oekabiti", "Ponain", "Tesbatan"),
    "Amarasi Barat": ("Baun", "Teunbaun", "Nekbaun"),
    "Amarasi Selatan": ("Sonraen", "Buraen"),
    "Amarasi Timur": ("Pakubaun", "Oebesi"),
    "Sulamu": ("Sulamu", "Pariti", "Pantai Beringin"),
    "Fatuleu": ("Camplong", "Oebola"),
    "Takari": ("Takari", "Oesusu"),
    "Amfoang Selatan": ("Lelogama", "Oelbanu"),
    "Amfoang Utara": ("Naikliu",),
}
_SEAWEED = {"Kupang Barat", "Semau", "Semau Selatan", "Sulamu"}
_AMARASI = {"Amarasi", "Amarasi Barat", "Amarasi Selatan", "Amarasi Timur"}
_SALT = {"Kupang Timur", "Sulamu", "Kupang Barat"}
_CASHEW = {"Amfoang Selatan", "Amfoang Barat Daya", "Amfoang Tengah", "Amfoang Utara",
           "Amfoang Barat Laut", "Amfoang Timur", "Takari"}
_CATTLE = _AMARASI | {"Takari", "Fatuleu", "Amabi Oefeto Timur"}
_COFFEE = {"Fatuleu Barat", "Amfoang Selatan", "Amfoang Tengah"}


@dataclass(frozen=True)
class _Kind:
    prefix: str
    type: CoopType
    sector: str
    weight: int
    form: CoopForm = CoopForm.PRIMER


# Everywhere: savings and loan about three quarters of the base mix, as across NTT.
_COMMON = (
    _Kind("Koperasi Simpan Pinjam", CoopType.SIMPAN_PINJAM, "simpan pinjam", 30),
    _Kind("Kopdit", CoopType.SIMPAN_PINJAM, "simpan pinjam (credit union)", 22),
    _Kind("KSP", CoopType.SIMPAN_PINJAM, "simpan pinjam", 14),
    _Kind("KPRI", CoopType.SIMPAN_PINJAM, "simpan pinjam pegawai", 3),
    _Kind("KSU", CoopType.KONSUMEN, "serba usaha: kios dan simpan pinjam", 6),
    _Kind("Koperasi Konsumen", CoopType.KONSUMEN, "toko kebutuhan pokok", 4),
    _Kind("KUD", CoopType.PEMASARAN, "pertanian pangan", 4),
    _Kind("Koperasi Jasa Angkutan", CoopType.JASA, "angkutan pedesaan", 2),
    _Kind("Puskopdit", CoopType.SIMPAN_PINJAM, "simpan pinjam (koperasi sekunder)", 1,
          CoopForm.SEKUNDER),
)
_LOCAL = (
    (_SEAWEED, _Kind("Koperasi Produsen Rumput Laut", CoopType.PRODUSEN, "budidaya rumput laut", 14)),
    (_AMARASI, _Kind("Koperasi Produsen Tenun Ikat", CoopType.PRODUSEN, "tenun ikat Amarasi", 8)),
    (_CATTLE, _Kind("Koperasi Peternak Sapi", CoopType.PRODUSEN, "penggemukan sapi", 7)),
    (_SALT, _Kind("Koperasi Produsen Garam", CoopType.PRODUSEN, "garam rakyat", 4)),
    (_CASHEW, _Kind("Koperasi Pemasaran Jambu Mete", CoopType.PEMASARAN, "jambu mete", 6)),
    (_COFFEE, _Kind("Koperasi Pemasaran Kopi", CoopType.PEMASARAN, "kopi", 4)),
)
_WORDS = (
    "Sehati", "Tunas Harapan", "Maju Bersama", "Sinar Timor", "Flobamora", "Lontar", "Cendana",
    "Kasih", "Mandiri", "Sejahtera", "Harapan Baru", "Bina Usaha", "Karya Bersama", "Damai",
    "Sumber Rejeki", "Fajar", "Bintang Timur", "Pelita", "Sumber Kasih", "Mutiara", "Nusa Indah",
    "Setia Kawan", "Suka Maju", "Usaha Tani", "Tekun", "Swadaya", "Gotong Royong", "Talenta",
    "Sinar Pagi", "Bukit Harapan", "Ina Mandiri", "Bahtera", "Kristal", "Pelangi",
    "Sumber Air", "Mekar", "Tunas Muda", "Cahaya", "Berkat",
)
_INACTIVE_REASONS = (
    "tidak melaksanakan RAT dua tahun berturut-turut",
    "tidak menyampaikan laporan RAT",
    "usaha tidak berjalan",
    "pengurus tidak dapat dihubungi",
)


def _allocate(total: int) -> list[str]:
    """Kecamatan of each cooperative: proportional to the weights, largest remainder first."""
    weight_sum = sum(_WEIGHTS.values())
    shares = {k: total * w / weight_sum for k, w in _WEIGHTS.items()}
    counts = {k: int(s) for k, s in shares.items()}
    by_remainder = sorted(_WEIGHTS, key=lambda k: (-(shares[k] - counts[k]), k))
    for k in by_remainder[: total - sum(counts.values())]:
        counts[k] += 1
    return [k for k in KECAMATAN_KABUPATEN_KUPANG for _ in range(counts[k])]


def demo_registry(reference_year: int) -> list[dict[str, Any]]:
    """The synthetic registry as rows for `upsert_cooperatives` (kecamatan by name).

    `reference_year` is the last closed fiscal year; aktif cooperatives held their RAT for it or
    the year before, the others earlier or never.
    """
    rng = random.Random(_SEED)
    kecamatan = _allocate(TOTAL)
    active = set(rng.sample(range(TOTAL), ACTIVE))
    names: set[str] = set()
    rows: list[dict[str, Any]] = []
    for i, kec in enumerate(kecamatan):
        kinds = [*_COMMON, *(kind for places, kind in _LOCAL if kec in places)]
        kind = rng.choices(kinds, weights=[k.weight for k in kinds])[0]
        desa = rng.choice(_DESA[kec]) if kec in _DESA else None
        name = f"{kind.prefix} {rng.choice(_WORDS)} {desa or kec}"
        base, numeral = name, 2
        while name in names:  # two alike in one place: number them as offices do
            name, numeral = f"{base} {'I' * numeral}", numeral + 1
        names.add(name)
        founded = date(rng.randint(1978, 2021), rng.randint(1, 12), rng.randint(1, 28))
        is_active = i in active
        if is_active:
            last_rat = reference_year - rng.randint(0, 1)
        else:
            last_rat = None if rng.random() < 0.35 else reference_year - rng.randint(2, 8)
            last_rat = None if last_rat is not None and last_rat < founded.year else last_rat
        rows.append({
            "registration_number": f"DEMO-{i + 1:04d}/BH/{REGION_CODE}/{founded.year}",
            "nik": f"{REGION_CODE}{i + 1:012d}" if is_active and rng.random() < 0.6 else None,
            "name": name,
            "form": kind.form,
            "type": kind.type,
            "sector": kind.sector,
            "kecamatan": kec,
            "desa": desa,
            "address": f"Desa {desa}, Kecamatan {kec}" if desa else f"Kecamatan {kec}",
            "phone": f"0812-0000-{i + 1:04d}",
            "incorporated_on": founded,
            "status": CoopStatus.AKTIF if is_active else CoopStatus.TIDAK_AKTIF,
            "status_reason": None if is_active else rng.choice(_INACTIVE_REASONS),
            "last_rat_year": last_rat,
            "synthetic": True,
        })
    return rows


@dataclass(frozen=True)
class SeedResult:
    """What seeding did."""

    kecamatan: int
    counts: repo.UpsertCounts
    # Sample catalogue entries loaded (0 when the office's own catalogue was already there).
    programmes: int = 0
    faq: int = 0


SAMPLE_CATALOGUE = Path(__file__).parent / "data"
WITA = ZoneInfo("Asia/Makassar")  # the demo region's timezone


async def seed_catalogue(session: Any, tz: ZoneInfo) -> tuple[int, int]:
    """Load the sample programmes and FAQ, each only into an empty catalogue (never overwrite)."""
    from bot.services.catalogue import MODEL, import_catalogue
    from storage.repositories import catalogue as catalogue_repo

    loaded: list[int] = []
    for kind, name in (("programs", "programmes.yaml"), ("faq", "faq.yaml")):
        if await catalogue_repo.all_entries(session, MODEL[kind]):
            loaded.append(0)
            continue
        result = await import_catalogue(session, SAMPLE_CATALOGUE / name, kind, tz)  # type: ignore[arg-type]
        if result.problems:  # the shipped sample is tested; this is a packaging fault
            raise ValueError("; ".join(map(str, result.problems)))
        loaded.append(result.inserted)
    return loaded[0], loaded[1]


async def seed_demo(
    db: Database, *, reference_year: int | None = None, tz: ZoneInfo = WITA
) -> SeedResult:
    """Load the 24 kecamatan, the synthetic registry and the sample catalogue; idempotent."""
    year = reference_year if reference_year is not None else utcnow().year - 1
    rows = demo_registry(year)
    async with db.session() as session:
        ids = await repo.ensure_kecamatan(session, KECAMATAN_KABUPATEN_KUPANG)
        for row in rows:
            row["kecamatan_id"] = ids[row.pop("kecamatan")]
        counts = await repo.upsert_cooperatives(session, rows)
        programmes, faq = await seed_catalogue(session, tz)
    return SeedResult(kecamatan=len(ids), counts=counts, programmes=programmes, faq=faq)
