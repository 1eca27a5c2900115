"""Registry commands of the `kopdesk` CLI: `coops import|export`, `officers`, `seed-demo`.

Registered on the main group by `bot.cli` (the package) through `register(main)`. Every command loads the
settings and brings the database up to date first, as `kopdesk db upgrade` would.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from bot.cli.common import prepare, run_with_database
from storage.models import OfficerRole

# --- coops --------------------------------------------------------------------------------


@click.group("coops")
def coops() -> None:
    """The cooperative registry."""


@coops.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="Write the good rows even if some rows are bad.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--create-kecamatan", is_flag=True, help="Add kecamatan the database does not know yet.")
def coops_import(file: Path, skip_invalid: bool, no_progress: bool, create_kecamatan: bool) -> None:
    """Upsert cooperatives from FILE (.csv or .xlsx; see docs/IMPORT_FORMAT.md)."""
    from bot.registry_io import import_cooperatives

    settings = prepare()
    try:
        result = run_with_database(settings, lambda db: import_cooperatives(
            db, file, skip_invalid=skip_invalid, progress=not no_progress,
            create_kecamatan=create_kecamatan,
        ))
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    for error in result.errors:
        click.echo(str(error))
    if result.created_kecamatan:
        click.echo("new kecamatan: " + ", ".join(result.created_kecamatan))
    click.echo(
        f"{result.rows} rows: {result.inserted} inserted, {result.updated} updated, "
        f"{result.unchanged} unchanged, {result.invalid} invalid"
    )
    if result.fatal:
        click.echo("nothing written: the file cannot be imported as it is")
        sys.exit(1)
    if result.invalid and not result.written:
        hint = "" if skip_invalid else "; fix them, or use --skip-invalid to write the good rows"
        click.echo(f"nothing written: {result.invalid} bad rows{hint}")
        sys.exit(1)


@coops.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def coops_export(file: Path) -> None:
    """Write the whole registry to FILE (.csv or .xlsx) in the import format."""
    from bot.registry_io import export_cooperatives

    settings = prepare()
    try:
        count = run_with_database(settings, lambda db: export_cooperatives(db, file))
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"{count} cooperatives written to {file}")


# --- officers -----------------------------------------------------------------------------


@click.group("officers")
def officers() -> None:
    """Officers and admins of the Dinas, and their kecamatan scope."""


@officers.command("add")
@click.argument("telegram_id", type=int)
@click.option("--name", required=True, help="The officer's name, as colleagues know it.")
@click.option("--role", type=click.Choice([r.value for r in OfficerRole]), default="officer", show_default=True)
@click.option("--kecamatan", multiple=True, help="Limit to this kecamatan (repeatable; none = all).")
def officers_add(telegram_id: int, name: str, role: str, kecamatan: tuple[str, ...]) -> None:
    """Add an officer (or update one: name, role and scope are replaced).

    A running bot applies it within 10 seconds (it remembers its senders that long).
    """
    from bot.services.officers import UnknownKecamatan, add_officer

    settings = prepare()

    async def work(db: Any) -> Any:
        async with db.session() as session:
            return await add_officer(
                session, telegram_id=telegram_id, name=name, role=OfficerRole(role), kecamatan=kecamatan
            )

    try:
        change = run_with_database(settings, work)
    except UnknownKecamatan as exc:
        click.echo(f"error: {exc} (see the kecamatan loaded by `kopdesk seed-demo` or an import)", err=True)
        sys.exit(2)
    scope = ", ".join(change.kecamatan) if change.kecamatan else "all kecamatan"
    click.echo(f"{'added' if change.created else 'updated'} {role} {telegram_id} ({name}); scope: {scope}")


@officers.command("remove")
@click.argument("telegram_id", type=int)
def officers_remove(telegram_id: int) -> None:
    """Remove an officer (deactivated; the audit log keeps his name).

    A running bot applies it within 10 seconds (it remembers its senders that long).
    """
    from bot.services.officers import remove_officer

    settings = prepare()

    async def work(db: Any) -> bool:
        async with db.session() as session:
            return await remove_officer(session, telegram_id)

    if not run_with_database(settings, work):
        click.echo(f"no active officer with Telegram id {telegram_id}", err=True)
        sys.exit(1)
    click.echo(f"removed officer {telegram_id}")


@officers.command("list")
def officers_list() -> None:
    """List active officers with role and scope."""
    from storage.repositories import registry as repo

    settings = prepare()

    async def work(db: Any) -> list[repo.OfficerView]:
        async with db.session() as session:
            return await repo.list_officers(session)

    rows = run_with_database(settings, work)
    if not rows:
        click.echo("no officers (admins may also come from ADMIN_IDS)")
    for o in rows:
        scope = ", ".join(o.kecamatan) if o.kecamatan else "all kecamatan"
        click.echo(f"{o.telegram_id}\t{o.role.value}\t{o.name}\t{scope}")


# --- seed ---------------------------------------------------------------------------------


@click.command("seed-demo")
def seed_demo() -> None:
    """Load the 24 kecamatan of Kabupaten Kupang and a synthetic registry of 401 cooperatives."""
    from bot.seed import seed_demo as seed

    settings = prepare()
    result = run_with_database(settings, lambda db: seed(db, tz=settings.tz))
    c = result.counts
    click.echo(
        f"{result.kecamatan} kecamatan; synthetic registry: {c.inserted} inserted, "
        f"{c.updated} updated, {c.unchanged} unchanged; sample catalogue: "
        f"{result.programmes} programmes, {result.faq} FAQ entries loaded"
    )


def register(main: click.Group) -> None:
    """Add the registry commands to the `kopdesk` group."""
    main.add_command(coops)
    main.add_command(officers)
    main.add_command(seed_demo)
