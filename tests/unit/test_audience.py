"""The audience service: who a broadcast (or a meeting invitation) reaches, and how many."""

from __future__ import annotations

from datetime import date

import pytest

from bot.runtime import Runtime
from bot.services import audience
from bot.services.audience import Audience, AudienceSize
from storage.models import Cooperative, CoopForm, CoopStatus, CoopType, Person
from storage.repositories import registry


@pytest.fixture
async def world(runtime: Runtime) -> dict[str, int]:
    """Two kecamatan; four cooperatives; managers, one of two cooperatives, one unreachable."""
    async with runtime.db.session() as session:
        k = await registry.ensure_kecamatan(session, ["Amarasi", "Sulamu"])
        spec = [  # name, kecamatan, status, type
            ("A1", "Amarasi", CoopStatus.AKTIF, CoopType.SIMPAN_PINJAM),
            ("A2", "Amarasi", CoopStatus.TIDAK_AKTIF, CoopType.KONSUMEN),
            ("A3", "Amarasi", CoopStatus.AKTIF, CoopType.PRODUSEN),  # nobody linked
            ("S1", "Sulamu", CoopStatus.AKTIF, CoopType.SIMPAN_PINJAM),
        ]
        coops = {}
        for name, kec, status, type_ in spec:
            coop = Cooperative(registration_number=name, name=f"Koperasi {name}", form=CoopForm.PRIMER,
                               type=type_, status=status, kecamatan_id=k[kec], incorporated_on=date(2010, 1, 1))
            session.add(coop)
            await session.flush()
            coops[name] = coop.id
        people = {}
        for tid, unreachable in ((101, False), (102, False), (103, True), (104, False)):
            person = Person(telegram_id=tid, first_name="P", unreachable=unreachable)
            session.add(person)
            await session.flush()
            people[tid] = person.id
        links = [(101, "A1"), (101, "A2"), (102, "A2"), (103, "A1"), (104, "S1")]
        for tid, coop in links:
            await registry.link_manager(session, person_id=people[tid], cooperative_id=coops[coop],
                                        position=registry.ManagerPosition.KETUA)
        return {"amarasi": k["Amarasi"], "sulamu": k["Sulamu"], **coops}


async def _who(runtime: Runtime, aud: Audience, scope: list[int] | None = None) -> tuple[list[int], AudienceSize]:
    async with runtime.db.session() as session:
        people = await audience.recipients(session, aud, scope=scope)
        size = await audience.size(session, aud, scope=scope)
    assert size.recipients == len(people)  # the preview's count is the list's length
    return [r.chat_id for r in people], size


async def test_everyone_once_and_unreachable_excluded(runtime: Runtime, world: dict[str, int]) -> None:
    """All: each reachable manager once (101 manages two), the unreachable 103 left out."""
    ids, size = await _who(runtime, Audience.everyone())
    assert ids == [101, 102, 104]
    assert size == AudienceSize(cooperatives=4, reached_cooperatives=3, recipients=3)


async def test_kecamatan_status_type_and_chosen(runtime: Runtime, world: dict[str, int]) -> None:
    """Each kind of audience selects its cooperatives' managers."""
    assert (await _who(runtime, Audience.in_kecamatan(world["sulamu"])))[0] == [104]
    assert (await _who(runtime, Audience.with_status(CoopStatus.TIDAK_AKTIF)))[0] == [101, 102]
    assert (await _who(runtime, Audience.of_type(CoopType.SIMPAN_PINJAM)))[0] == [101, 104]
    assert (await _who(runtime, Audience.of_type(CoopType.PRODUSEN)))[1] == AudienceSize(1, 0, 0)
    assert (await _who(runtime, Audience.chosen(world["A2"], world["S1"])))[0] == [101, 102, 104]


async def test_scope_is_respected(runtime: Runtime, world: dict[str, int]) -> None:
    """An officer scoped to Amarasi reaches nobody in Sulamu, whatever the audience says."""
    amarasi = [world["amarasi"]]
    assert (await _who(runtime, Audience.everyone(), amarasi))[0] == [101, 102]
    assert (await _who(runtime, Audience.in_kecamatan(world["sulamu"]), amarasi))[0] == []
    assert (await _who(runtime, Audience.chosen(world["S1"]), amarasi))[1] == AudienceSize(0, 0, 0)


async def test_audience_round_trips_as_json() -> None:
    """Stored with a draft or a meeting and read back unchanged."""
    for aud in (Audience.everyone(), Audience.in_kecamatan(3, 1), Audience.with_status(CoopStatus.AKTIF),
                Audience.of_type(CoopType.SIMPAN_PINJAM), Audience.chosen(5, 2)):
        assert Audience.from_json(aud.to_json()) == aud


async def test_toggling_chosen_cooperatives_within_scope(runtime: Runtime, world: dict[str, int]) -> None:
    """The picker of /siaran and /rapat_baru: tick, untick, and refuse what is out of scope,
    unknown, or one too many — the stored audience unchanged then."""
    from bot.services.roles import Identity, Role

    amarasi = Identity(Role.OFFICER, frozenset({world["amarasi"]}))
    async with runtime.db.session() as session:
        first = await audience.toggle_chosen(session, None, world["A1"], amarasi)
        assert first == Audience.chosen(world["A1"])
        both = await audience.toggle_chosen(session, first.to_json(), world["A2"], amarasi)
        assert audience.chosen_ids(both.to_json()) == {world["A1"], world["A2"]}
        assert await audience.toggle_chosen(session, both.to_json(), world["S1"], amarasi) is None  # Sulamu
        assert await audience.toggle_chosen(session, both.to_json(), 999_999, amarasi) is None  # unknown
        again = await audience.toggle_chosen(session, both.to_json(), world["A1"], amarasi)
        assert again == Audience.chosen(world["A2"])
        # A kecamatan chosen before: picking starts afresh.
        fresh = await audience.toggle_chosen(session, Audience.in_kecamatan(world["amarasi"]).to_json(),
                                             world["A3"], amarasi)
        assert fresh == Audience.chosen(world["A3"])
        full = Audience.chosen(*range(1_000_000, 1_000_000 + audience.MAX_CHOSEN)).to_json()
        assert await audience.toggle_chosen(session, full, world["A1"], amarasi) is None  # one too many
