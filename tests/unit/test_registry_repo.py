"""Registry repository: search by number and fuzzy name, kecamatan scope, managers, officers."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from bot.services.officers import UnknownKecamatan, add_officer, remove_officer
from storage.models import (
    AuditEntry, Cooperative, CoopForm, CoopStatus, CoopType, ManagerPosition, OfficerRole, StatusSource,
)
from storage.repositories import people
from storage.repositories import registry as repo

NAMES = {
    "1/BH/1990": ("Koperasi Simpan Pinjam Sehati Oesao", "Kupang Timur"),
    "2/BH/1991": ("Koperasi Simpan Pinjam Damai Oesao", "Kupang Timur"),
    "3/BH/1992": ("KSP Sejahtera Babau", "Kupang Timur"),
    "4/BH/1993": ("Kopdit Sehati Baun", "Amarasi Barat"),
    "5/BH/1994": ("Koperasi Produsen Rumput Laut Mutiara Uitao", "Semau"),
}


def row(number: str, name: str, kecamatan_id: int, **extra) -> dict:
    values = {c: None for c in repo.DATA_COLUMNS}
    values.update(
        registration_number=number, name=name, kecamatan_id=kecamatan_id, form=CoopForm.PRIMER,
        type=CoopType.SIMPAN_PINJAM, status=CoopStatus.AKTIF, synthetic=False,
        incorporated_on=date(1990, 1, 1),
    )
    values.update(extra)
    return values


@pytest.fixture
async def registry(runtime):
    async with runtime.db.session() as session:
        ids = await repo.ensure_kecamatan(session, ["Kupang Timur", "Amarasi Barat", "Semau"])
        await repo.upsert_cooperatives(
            session,
            [row(n, name, ids[k], nik="5301000000000003" if n == "3/BH/1992" else None)
             for n, (name, k) in NAMES.items()],
        )
    return ids


async def names(session, query, **kw) -> list[str]:
    return [m.cooperative.name for m in await repo.search_cooperatives(session, query, **kw)]


async def test_search_by_registration_number_and_nik(runtime, registry):
    async with runtime.db.session() as session:
        hits = await repo.search_cooperatives(session, " 4/BH/1993 ")
        assert [(h.cooperative.name, h.score) for h in hits] == [("Kopdit Sehati Baun", 100.0)]
        assert await names(session, "5301000000000003") == ["KSP Sejahtera Babau"]
        coop = await repo.get_by_registration_number(session, "5/BH/1994")
        assert coop is not None and coop.name.endswith("Uitao")


async def test_fuzzy_name_tolerates_a_typo(runtime, registry):
    async with runtime.db.session() as session:
        assert (await names(session, "sehti oesao"))[0] == "Koperasi Simpan Pinjam Sehati Oesao"
        assert (await names(session, "rumput laot mutiara"))[0].startswith("Koperasi Produsen Rumput Laut")
        assert (await names(session, "KSP Sejahtra"))[0] == "KSP Sejahtera Babau"
        assert await names(session, "xylofon") == []


async def test_kecamatan_scope_filters_the_search(runtime, registry):
    amarasi_barat = [registry["Amarasi Barat"]]
    async with runtime.db.session() as session:
        everywhere = await names(session, "sehati")
        assert {"Koperasi Simpan Pinjam Sehati Oesao", "Kopdit Sehati Baun"} <= set(everywhere)
        assert await names(session, "sehati", kecamatan_ids=amarasi_barat) == ["Kopdit Sehati Baun"]
        assert await names(session, "1/BH/1990", kecamatan_ids=amarasi_barat) == []
        assert await repo.get_by_registration_number(session, "1/BH/1990", kecamatan_ids=amarasi_barat) is None
        counts = await repo.count_by_status(session, kecamatan_ids=[registry["Kupang Timur"]])
        assert counts == {CoopStatus.AKTIF: 3}


async def test_status_change_is_recorded_and_absent_status_kept(runtime, registry):
    async with runtime.db.session() as session:
        before = await repo.get_by_registration_number(session, "2/BH/1991")
        set_at = before.status_set_at
        counts = await repo.upsert_cooperatives(
            session, [row("2/BH/1991", NAMES["2/BH/1991"][0], registry["Kupang Timur"],
                          status=CoopStatus.TIDAK_AKTIF, status_reason="tidak RAT")]
        )
        assert (counts.updated, counts.unchanged) == (1, 0)
        coop = (await session.execute(
            select(Cooperative).where(Cooperative.registration_number == "2/BH/1991")
            .execution_options(populate_existing=True)
        )).scalar_one()
        assert (coop.status, coop.status_source) == (CoopStatus.TIDAK_AKTIF, StatusSource.OFFICER)
        assert coop.status_set_at > set_at
        # A file without a status column leaves the status alone.
        cols = [c for c in repo.DATA_COLUMNS if c not in ("status", "status_reason")]
        counts = await repo.upsert_cooperatives(
            session, [row("2/BH/1991", "KSP Damai Oesao", registry["Kupang Timur"])], columns=cols
        )
        assert counts.updated == 1
        coop = (await session.execute(
            select(Cooperative).where(Cooperative.registration_number == "2/BH/1991")
            .execution_options(populate_existing=True)
        )).scalar_one()
        assert (coop.name, coop.status) == ("KSP Damai Oesao", CoopStatus.TIDAK_AKTIF)


async def test_managers_and_their_cooperatives(runtime, registry):
    async with runtime.db.session() as session:
        ana = await people.seen(session, telegram_id=501, first_name="Ana", last_name=None,
                                username=None, telegram_language="id")
        budi = await people.seen(session, telegram_id=502, first_name="Budi", last_name=None,
                                 username=None, telegram_language="id")
        sehati = await repo.get_by_registration_number(session, "1/BH/1990")
        baun = await repo.get_by_registration_number(session, "4/BH/1993")
        await repo.link_manager(session, person_id=ana.id, cooperative_id=sehati.id, position=ManagerPosition.KETUA)
        await repo.link_manager(session, person_id=budi.id, cooperative_id=sehati.id, position=ManagerPosition.BENDAHARA)
        await repo.link_manager(session, person_id=ana.id, cooperative_id=baun.id, position=ManagerPosition.LAINNYA)
        # Linking again updates the position instead of failing on the unique pair.
        await repo.link_manager(session, person_id=ana.id, cooperative_id=baun.id, position=ManagerPosition.SEKRETARIS)
        managers = await repo.managers_of(session, sehati.id)
        assert [(p.first_name, pos) for p, pos in managers] == [
            ("Ana", ManagerPosition.KETUA), ("Budi", ManagerPosition.BENDAHARA)
        ]
        mine = await repo.cooperatives_of(session, ana.id)
        assert [(c.name, pos) for c, pos in mine] == [
            ("Kopdit Sehati Baun", ManagerPosition.SEKRETARIS),
            ("Koperasi Simpan Pinjam Sehati Oesao", ManagerPosition.KETUA),
        ]
        assert await repo.cooperatives_of(session, 999_999) == []


async def test_officers_add_list_remove_with_scope(runtime, registry):
    async with runtime.db.session() as session:
        change = await add_officer(session, telegram_id=7001, name="Ana", kecamatan=["semau", "Amarasi Barat"])
        assert change.created
        await add_officer(session, telegram_id=7002, name="Budi", role=OfficerRole.ADMIN)
        listed = await repo.list_officers(session)
        assert [(o.telegram_id, o.role, o.kecamatan) for o in listed] == [
            (7001, OfficerRole.OFFICER, ["Amarasi Barat", "Semau"]),
            (7002, OfficerRole.ADMIN, []),
        ]
        assert sorted(await repo.officer_scope(session, 7001)) == sorted(
            [registry["Semau"], registry["Amarasi Barat"]]
        )
        assert await repo.officer_scope(session, 7002) is None
        # Adding again replaces the scope rather than adding to it.
        again = await add_officer(session, telegram_id=7001, name="Ana S.", kecamatan=["Kupang Timur"])
        assert not again.created
        assert await repo.officer_scope(session, 7001) == [registry["Kupang Timur"]]
        with pytest.raises(UnknownKecamatan):
            await add_officer(session, telegram_id=7003, name="X", kecamatan=["Nowhere"])

        assert await remove_officer(session, 7001)
        assert not await remove_officer(session, 7001)  # already gone
        assert await repo.get_officer(session, 7001) is None
        assert [o.telegram_id for o in await repo.list_officers(session)] == [7002]
        assert [o.telegram_id for o in await repo.list_officers(session, include_inactive=True)] == [7001, 7002]
        actions = list((await session.execute(select(AuditEntry.action).order_by(AuditEntry.id))).scalars())
        assert actions == ["officer_added", "officer_added", "officer_changed", "officer_removed"]
