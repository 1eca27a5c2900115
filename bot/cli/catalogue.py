"""Catalogue commands of the `kopdesk` CLI: `programs import|export`, `faq import|export`.

Registered on the main group by `bot.cli`. An import refuses a bad file whole and prints one
line per problem (file, entry, field, why), exit status 1; nothing is written then.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from bot.cli.common import prepare, run_with_database


def _import(kind: str, file: Path) -> None:
    from bot.services.catalogue import import_catalogue

    settings = prepare()

    async def work(db: Any) -> Any:
        async with db.session() as session:
            result = await import_catalogue(session, file, kind, settings.tz)  # type: ignore[arg-type]
            if result.problems:
                await session.rollback()
            return result

    result = run_with_database(settings, work)
    for problem in result.problems:
        click.echo(str(problem))
    if result.problems:
        click.echo(f"nothing imported: {len(result.problems)} problem(s) in {file.name}")
        sys.exit(1)
    click.echo(
        f"{kind}: {result.inserted} inserted, {result.updated} updated, "
        f"{result.unchanged} unchanged, {result.retired} retired"
    )


def _export(kind: str, output: Path | None) -> None:
    from bot.services.catalogue import export_catalogue

    settings = prepare()

    async def work(db: Any) -> str:
        async with db.session() as session:
            return await export_catalogue(session, kind, settings.tz)  # type: ignore[arg-type]

    text = run_with_database(settings, work)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"{kind} written to {output}")


_FILE = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
_OUTPUT = click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
                       help="Write to this file instead of standard output.")


@click.group("programs")
def programs() -> None:
    """The catalogue of support programmes."""


@programs.command("import")
@_FILE
def programs_import(file: Path) -> None:
    """Import programmes from FILE.yaml: upsert by key, retire those not in the file."""
    _import("programs", file)


@programs.command("export")
@_OUTPUT
def programs_export(output: Path | None) -> None:
    """Write every programme in the import format."""
    _export("programs", output)


@click.group("faq")
def faq() -> None:
    """The FAQ: questions with the office's answers."""


@faq.command("import")
@_FILE
def faq_import(file: Path) -> None:
    """Import FAQ entries from FILE.yaml: upsert by key, retire those not in the file."""
    _import("faq", file)


@faq.command("export")
@_OUTPUT
def faq_export(output: Path | None) -> None:
    """Write every FAQ entry (drafts included) in the import format."""
    _export("faq", output)


def register(main: click.Group) -> None:
    """Add the catalogue commands to the `kopdesk` group."""
    main.add_command(programs)
    main.add_command(faq)
