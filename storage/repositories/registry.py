"""The cooperative registry: kecamatan, cooperatives, their managers (officers: see officers.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rapidfuzz import fuzz, process, utils
from sqlalchemy import RowMapping, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Cooperative,
    CoopStatus,
    Kecamatan,
    ManagerLink,
    ManagerPosition,
    Person,
    StatusSource,
)
from storage.repositories.common import insert_for
from storage.repositories.officers import (  # noqa: F401  re-exported: one module for callers
    OfficerView,
    add_officer,
    get_officer,
    list_officers,
    officer_scope,
    remove_officer,
)
from storage.types import utcnow

# Columns an import may set; `status_source`/`status_set_at` follow `status` and are not compared.
DATA_COLUMNS: tuple[str, ...] = (
    "nik", "name", "form", "type", "sector", "kecamatan_id", "desa", "address", "phone",
    "incorporated_on", "status", "status_reason", "last_rat_year", "synthetic",
)
_DEFAULTS: dict[str, Any] = {c: None for c in DATA_COLUMNS} | {
    "status": CoopStatus.TIDAK_AKTIF,
    "synthetic": False,
}
# Words in nearly every cooperative's name: matching on them would rank everything alike.
_GENERIC = {"koperasi", "simpan", "pinjam", "ksp", "ksu", "kud", "kopdit", "serba", "usaha",
            "produsen", "konsumen", "unit", "desa", "credit", "union", "jasa", "pemasaran"}
_SCAN_PAGE = 20_000


# --- kecamatan ---------------------------------------------------------------------------


async def list_kecamatan(session: AsyncSession) -> list[Kecamatan]:
    """Every kecamatan, by name."""
    return list((await session.execute(select(Kecamatan).order_by(Kecamatan.name))).scalars())


async def ensure_kecamatan(session: AsyncSession, names: Iterable[str]) -> dict[str, int]:
    """Create the kecamatan not there yet; returns name → id for the given names."""
    wanted = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    if wanted:
        await session.execute(
            insert_for(session, Kecamatan)
            .values([{"name": n} for n in wanted])
            .on_conflict_do_nothing(index_elements=["name"])
        )
    rows = await session.execute(
        select(Kecamatan.name, Kecamatan.id).where(Kecamatan.name.in_(wanted))
    )
    return {name: kecamatan_id for name, kecamatan_id in rows.all()}


async def kecamatan_ids_by_name(session: AsyncSession, names: Iterable[str]) -> dict[str, int | None]:
    """Each given name (case-insensitive) → its kecamatan id, None when unknown."""
    known = {k.name.lower(): k.id for k in await list_kecamatan(session)}
    return {name: known.get(name.strip().lower()) for name in names}


# --- cooperatives: bulk upsert ---------------------------------------------------------------


@dataclass
class UpsertCounts:
    """What an upsert did, row by row."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: UpsertCounts) -> None:
        """Accumulate another batch's counts."""
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged


async def prepare_bulk_upsert(session: AsyncSession) -> None:
    """Call once in a transaction before many `upsert_cooperatives` batches.

    On PostgreSQL, asyncpg's prepared statements switch to a generic plan after five runs. Made
    while the table is still small, that plan scans the whole table, and is then reused as the
    table grows: a 210,000-row import spent 4/5 of its time there. Custom plans avoid it.
    """
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


async def upsert_cooperatives(
    session: AsyncSession,
    rows: Sequence[Mapping[str, Any]],
    *,
    columns: Collection[str] = DATA_COLUMNS,
    now: datetime | None = None,
) -> UpsertCounts:
    """Insert or update one batch of cooperatives by registration number.

    Each row has ``registration_number`` and the `columns` it provides; other columns of an
    existing cooperative are left alone (a file without a ``nik`` column keeps the NIKs), and a
    new one gets the defaults. ``status`` None means "keep it" (new rows: tidak aktif). Rows equal
    to what is stored are not written at all, so ``updated_at`` moves only on a real change.
    Registration numbers must be unique within the batch.
    """
    now = now or utcnow()
    provided = [c for c in DATA_COLUMNS if c in columns]
    numbers = [r["registration_number"] for r in rows]
    table = Cooperative.__table__
    existing = {
        row.registration_number: row
        for row in (
            await session.execute(
                select(
                    table.c.registration_number,
                    table.c.status_source,
                    table.c.status_set_at,
                    *(table.c[c] for c in provided),
                ).where(table.c.registration_number.in_(numbers))
            )
        ).all()
    }
    counts = UpsertCounts()
    to_write: list[dict[str, Any]] = []
    for row in rows:
        found = existing.get(row["registration_number"])
        old = None if found is None else found._mapping
        values = _DEFAULTS | {c: row[c] for c in provided}
        explicit = values["status"] is not None and "status" in provided
        if values["status"] is None:
            values["status"] = old["status"] if old is not None else CoopStatus.TIDAK_AKTIF
        if old is None:
            counts.inserted += 1
            # A status given by the office counts as set by an officer; a default is the rule's.
            values["status_source"] = StatusSource.OFFICER if explicit else StatusSource.DERIVED
            values["status_set_at"] = now
        elif any(old[c] != values[c] for c in provided):
            counts.updated += 1
            changed = "status" in provided and old["status"] != values["status"]
            values["status_source"] = StatusSource.OFFICER if changed else old["status_source"]
            values["status_set_at"] = now if changed else old["status_set_at"]
        else:
            counts.unchanged += 1
            continue
        to_write.append(
            {"registration_number": row["registration_number"], "created_at": now,
             "updated_at": now, **values}
        )
    if to_write:
        stmt = insert_for(session, Cooperative)
        excluded = stmt.excluded
        set_cols = [*provided, "updated_at"]
        if "status" in provided:
            set_cols += ["status_source", "status_set_at"]
        # The WHERE repeats the comparison in SQL: a concurrent writer's identical row stays put.
        stmt = stmt.on_conflict_do_update(
            index_elements=["registration_number"],
            set_={c: excluded[c] for c in set_cols},
            where=or_(*(table.c[c].is_distinct_from(excluded[c]) for c in provided)),
        )
        await session.execute(stmt, to_write)
    return counts


async def iter_cooperatives(
    session: AsyncSession, page: int = 1000, *, kecamatan_ids: Collection[int] | None = None
) -> AsyncIterator[RowMapping]:
    """Every cooperative (in these kecamatan, if given) as a plain row (plus ``kecamatan_name``),
    in id order, page by page.

    Plain rows rather than ORM objects: the session's identity map must not grow with the
    whole registry during an export.
    """
    table = Cooperative.__table__
    last_id = 0
    while True:
        batch = (
            await session.execute(
                select(*table.c, Kecamatan.name.label("kecamatan_name"))
                .join(Kecamatan, Kecamatan.id == table.c.kecamatan_id)
                .where(table.c.id > last_id, *(
                    [] if kecamatan_ids is None else [table.c.kecamatan_id.in_(list(kecamatan_ids))]
                ))
                .order_by(table.c.id)
                .limit(page)
            )
        ).mappings().all()
        if not batch:
            return
        for row in batch:
            yield row
        last_id = batch[-1]["id"]


# --- cooperatives: lookups ------------------------------------------------------------------


async def get_cooperative(session: AsyncSession, cooperative_id: int) -> Cooperative | None:
    """The cooperative with this id."""
    return await session.get(Cooperative, cooperative_id)


def _scoped(stmt: Any, kecamatan_ids: Collection[int] | None) -> Any:
    return stmt if kecamatan_ids is None else stmt.where(Cooperative.kecamatan_id.in_(list(kecamatan_ids)))


async def get_by_registration_number(
    session: AsyncSession, number: str, *, kecamatan_ids: Collection[int] | None = None
) -> Cooperative | None:
    """The cooperative with exactly this registration number (and in scope, if given)."""
    stmt = select(Cooperative).where(Cooperative.registration_number == number.strip())
    return (await session.execute(_scoped(stmt, kecamatan_ids))).scalar_one_or_none()


@dataclass(frozen=True)
class CoopMatch:
    """A search hit: the cooperative and how well it matched (100 = exact number or NIK)."""

    cooperative: Cooperative
    score: float


async def search_cooperatives(
    session: AsyncSession,
    query: str,
    *,
    kecamatan_ids: Collection[int] | None = None,
    limit: int = 10,
    score_cutoff: float = 70,
) -> list[CoopMatch]:
    """Find cooperatives by registration number, NIK or (typo-tolerant) name, best first.

    `kecamatan_ids` limits the search to an officer's scope (None: everywhere).
    """
    query = " ".join(query.split())
    if not query:
        return []
    exact = or_(Cooperative.registration_number == query, Cooperative.nik == query)
    hits = (await session.execute(_scoped(select(Cooperative).where(exact), kecamatan_ids))).scalars().all()
    if hits:
        return [CoopMatch(c, 100.0) for c in hits[:limit]]
    if not utils.default_process(query).split():
        return []  # only punctuation or symbols ("{{"): no name to compare with
    # Cheap first try: names containing a distinctive word of the query.
    words = [w for w in utils.default_process(query).split() if len(w) >= 3 and w not in _GENERIC]
    best: list[tuple[float, int]] = []
    if words:
        stmt = select(Cooperative.id, Cooperative.name).where(
            or_(*(Cooperative.name.ilike(f"%{w}%") for w in words))
        )
        candidates = (await session.execute(_scoped(stmt, kecamatan_ids).limit(2000))).all()
        best = _top(query, candidates, limit, score_cutoff)
    # A typo defeats LIKE: then score every name in scope, a page at a time.
    if not best or best[0][0] < 90:
        best = []
        last_id = 0
        while True:
            stmt = select(Cooperative.id, Cooperative.name).where(Cooperative.id > last_id)
            page = (await session.execute(
                _scoped(stmt, kecamatan_ids).order_by(Cooperative.id).limit(_SCAN_PAGE)
            )).all()
            if not page:
                break
            best = _best(best + _top(query, page, limit, score_cutoff), limit)
            last_id = page[-1][0]
    if not best:
        return []
    coops = {
        c.id: c
        for c in (await session.execute(
            select(Cooperative).where(Cooperative.id.in_([i for _, i in best]))
        )).scalars()
    }
    return [CoopMatch(coops[i], score) for score, i in best]


def _name_scorer(query: str) -> Any:
    """A rapidfuzz scorer for cooperative names.

    Whole-string scorers rate "KSP Sehati Oesao" and "KSP Damai Oesao" alike, since most of a
    name is the generic "Koperasi Simpan Pinjam". So each distinctive query word is matched to
    its most similar word of the name (a typo costs a little, a missing word a lot); the
    similarity of the whole strings only breaks ties.
    """
    processed = utils.default_process(query)
    tokens = processed.split()
    words = [t for t in tokens if t not in _GENERIC] or tokens

    def score(_query: str, name: str, **_: Any) -> float:
        name_words = name.split()
        if not name_words or not words:
            return 0.0
        word_score = sum(max(fuzz.ratio(w, n) for n in name_words) for w in words) / len(words)
        return 0.9 * word_score + 0.1 * fuzz.ratio(processed, name)

    return score


def _top(query: str, rows: Sequence[Any], limit: int, cutoff: float) -> list[tuple[float, int]]:
    found = process.extract(
        query,
        {r[0]: r[1] for r in rows},
        scorer=_name_scorer(query),
        processor=utils.default_process,
        limit=None,
        score_cutoff=cutoff,
    )
    return _best([(score, key) for _name, score, key in found], limit)


def _best(hits: list[tuple[float, int]], limit: int) -> list[tuple[float, int]]:
    # Ties go to the lower id (the older entry), so results do not depend on page order.
    return sorted(hits, key=lambda t: (-t[0], t[1]))[:limit]


async def count_by_status(
    session: AsyncSession, *, kecamatan_ids: Collection[int] | None = None
) -> dict[CoopStatus, int]:
    """How many cooperatives have each status (in scope, if given)."""
    stmt = _scoped(select(Cooperative.status, func.count()).group_by(Cooperative.status), kecamatan_ids)
    return {status: n for status, n in (await session.execute(stmt)).all()}


# --- managers ---------------------------------------------------------------------------------


async def link_manager(
    session: AsyncSession, *, person_id: int, cooperative_id: int, position: ManagerPosition
) -> None:
    """Make a person a manager of a cooperative (or update the position if already linked)."""
    stmt = insert_for(session, ManagerLink).values(
        person_id=person_id, cooperative_id=cooperative_id, position=position, created_at=utcnow()
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["person_id", "cooperative_id"], set_={"position": position}
        )
    )


async def managers_of(session: AsyncSession, cooperative_id: int) -> list[tuple[Person, ManagerPosition]]:
    """The people managing a cooperative with their positions, earliest linked first."""
    stmt = (
        select(Person, ManagerLink.position)
        .join(ManagerLink, ManagerLink.person_id == Person.id)
        .where(ManagerLink.cooperative_id == cooperative_id)
        .order_by(ManagerLink.id)
    )
    return [(p, pos) for p, pos in (await session.execute(stmt)).all()]


async def cooperatives_of(session: AsyncSession, person_id: int) -> list[tuple[Cooperative, ManagerPosition]]:
    """The cooperatives a person manages, with the position in each, by name."""
    stmt = (
        select(Cooperative, ManagerLink.position)
        .join(ManagerLink, ManagerLink.cooperative_id == Cooperative.id)
        .where(ManagerLink.person_id == person_id)
        .order_by(Cooperative.name)
    )
    return [(c, pos) for c, pos in (await session.execute(stmt)).all()]
