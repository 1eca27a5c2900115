"""`kopdesk export KIND … FILE`: the exports of /ekspor from the command line (SPEC 8, 12).

One subcommand per export kind of bot.exports (reports, registry, log — and any kind added
later, such as tickets), with the options its period needs: `--year` for a fiscal year,
`--from`/`--to` for a date range (inclusive, in the office's timezone). `--kecamatan` narrows
to some kecamatan (repeatable). There is no size limit here: the file is written whole.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from bot.cli.common import prepare, run_with_database


def _day(text: str | None, today: date) -> date | None:
    from bot.services.parsing import ParseError, parse_date

    if text is None:
        return None
    try:
        return parse_date(text, today=today)
    except ParseError:
        raise click.BadParameter(f"{text!r} is not a date; use YYYY-MM-DD or DD/MM/YYYY") from None


def _command(kind: Any) -> click.Command:
    def run(file: Path, kecamatan: tuple[str, ...], year: int | None = None,
            first: str | None = None, last: str | None = None) -> None:
        from bot import exports
        from bot.exports.base import ExportError, ExportRequest, check_range
        from bot.i18n import t
        from bot.services.coop_status import last_closed_fiscal_year
        from bot.services.roles import Identity, Role
        from bot.services.scope import UnknownKecamatan, fiscal_year_allowed, narrow_scope
        from storage.types import utcnow

        if file.suffix.lower() != f".{kind.extension}":
            click.echo(f"error: {file.name}: this export is written as .{kind.extension}", err=True)
            sys.exit(2)
        settings = prepare()
        now = utcnow()
        today = now.astimezone(settings.tz).date()
        values: dict[str, Any] = {}
        if kind.period == "year":
            newest = last_closed_fiscal_year(today)
            values["fiscal_year"] = year if year is not None else newest
            if not fiscal_year_allowed(values["fiscal_year"], newest):
                click.echo(f"error: --year must be a closed fiscal year, 2000 to {newest}", err=True)
                sys.exit(2)
        if kind.period == "range":
            first_day, last_day = _day(first, today), _day(last, today)
            if first_day is None or last_day is None:
                click.echo("error: give both --from and --to", err=True)
                sys.exit(2)
            try:
                values["first_day"], values["last_day"] = check_range(first_day, last_day, today)
            except ExportError as exc:
                click.echo(f"error: {t('en', exc.key, **exc.values)}", err=True)
                sys.exit(2)

        async def work(db: Any) -> Any:
            async with db.session() as session:
                scope = await narrow_scope(session, Identity(Role.ADMIN), list(kecamatan))
            request = ExportRequest(kind=kind.key, scope=scope, out_dir=file.parent, tz=settings.tz, now=now,
                                    stem=file.stem, **values)
            return await exports.run(db, request)

        file.parent.mkdir(parents=True, exist_ok=True)
        try:
            result = run_with_database(settings, work)
        except UnknownKecamatan as exc:
            click.echo(f"error: unknown kecamatan: {', '.join(exc.names)}", err=True)
            sys.exit(2)
        except ExportError as exc:
            click.echo(f"error: {t('en', exc.key, **exc.values)}", err=True)
            sys.exit(1)
        figures = "".join(f", {name} {count}" for name, count in result.figures.items())
        click.echo(f"{result.rows} rows written to {result.files[0]}{figures}")

    params: list[click.Parameter] = [
        click.Argument(["file"], type=click.Path(dir_okay=False, path_type=Path)),
        click.Option(["--kecamatan"], multiple=True, help="Only this kecamatan (repeatable; none = all)."),
    ]
    if kind.period == "year":
        params.append(click.Option(["--year"], type=int, help="Fiscal year (default: the last closed one)."))
    if kind.period == "range":
        params += [click.Option(["--from", "first"], required=True, help="First day (YYYY-MM-DD or DD/MM/YYYY)."),
                   click.Option(["--to", "last"], required=True, help="Last day, inclusive.")]
    helps = {"reports": "XLSX of the annual reports of one fiscal year, one row per cooperative.",
             "registry": "CSV of the registry (the import format).",
             "log": "CSV of the message log (in and out) for a date range.",
             "tickets": "CSV of the tickets opened in a date range."}
    return click.Command(kind.key, callback=run, params=params,
                         help=helps.get(kind.key, f"The {kind.key} export ({kind.extension})."))


def register(main: click.Group) -> None:
    """Add `kopdesk export` with one subcommand per export kind."""
    from bot.exports.base import kinds

    group = click.Group("export", help="Files for officers: annual reports, registry, message log, tickets.")
    for kind in kinds():
        group.add_command(_command(kind))
    main.add_command(group)
