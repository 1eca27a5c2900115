"""`seed_demo`: the kecamatan of Kabupaten Kupang and the synthetic registry of 401."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from bot.seed import KECAMATAN_KABUPATEN_KUPANG, demo_registry, seed_demo
from storage.models import Cooperative, CoopStatus, CoopType, Kecamatan


async def snapshot(db) -> list[tuple]:
    async with db.session() as session:
        rows = (await session.execute(select(Cooperative).order_by(Cooperative.registration_number))).scalars()
        return [
            tuple(getattr(c, col.key) for col in Cooperative.__table__.columns if col.key != "id")
            for c in rows
        ]


async def test_seed_loads_401_cooperatives_157_active_in_24_kecamatan(runtime):
    result = await seed_demo(runtime.db, reference_year=2025)
    assert (result.kecamatan, result.counts.inserted) == (24, 401)
    async with runtime.db.session() as session:
        names = set((await session.execute(select(Kecamatan.name))).scalars())
        coops = list((await session.execute(select(Cooperative))).scalars())
    assert names == set(KECAMATAN_KABUPATEN_KUPANG) and len(names) == 24
    assert len(coops) == 401
    status = Counter(c.status for c in coops)
    assert status == {CoopStatus.AKTIF: 157, CoopStatus.TIDAK_AKTIF: 244}
    assert all(c.synthetic and c.registration_number.startswith("DEMO-") for c in coops)
    assert len({c.name for c in coops}) == 401
    # Spread over every kecamatan; savings and loan dominates, as in NTT.
    by_kecamatan = {kecamatan_id: 0 for kecamatan_id in await _ids(runtime.db)}
    for c in coops:
        by_kecamatan[c.kecamatan_id] += 1
    assert min(by_kecamatan.values()) >= 3
    types = Counter(c.type for c in coops)
    assert types.most_common(1)[0][0] is CoopType.SIMPAN_PINJAM
    assert types[CoopType.SIMPAN_PINJAM] / 401 >= 0.6
    # Active ones held a RAT for one of the last two fiscal years.
    assert all(c.last_rat_year in (2024, 2025) for c in coops if c.status is CoopStatus.AKTIF)


async def _ids(db) -> dict[int, str]:
    async with db.session() as session:
        return dict((await session.execute(select(Kecamatan.id, Kecamatan.name))).all())


def test_local_business_follows_the_kecamatan():
    rows = demo_registry(2025)
    seaweed = {r["kecamatan"] for r in rows if "Rumput Laut" in r["name"]}
    weaving = {r["kecamatan"] for r in rows if "Tenun" in r["name"]}
    assert seaweed and seaweed <= {"Kupang Barat", "Semau", "Semau Selatan", "Sulamu"}
    assert weaving and all(k.startswith("Amarasi") for k in weaving)


def test_registry_is_deterministic():
    assert demo_registry(2025) == demo_registry(2025)
    # The reference year moves RAT years only, never who is who.
    other = demo_registry(2030)
    assert [(r["registration_number"], r["name"], r["status"]) for r in other] == [
        (r["registration_number"], r["name"], r["status"]) for r in demo_registry(2025)
    ]


async def test_seeding_twice_changes_nothing(runtime):
    await seed_demo(runtime.db, reference_year=2025)
    before = await snapshot(runtime.db)  # includes created_at and updated_at
    again = await seed_demo(runtime.db, reference_year=2025)
    assert (again.counts.inserted, again.counts.updated, again.counts.unchanged) == (0, 0, 401)
    assert await snapshot(runtime.db) == before
    async with runtime.db.session() as session:
        assert len((await session.execute(select(Kecamatan))).all()) == 24
