"""`kopdesk invites create`: invitation sheets for whole kecamatan, as handed out at a rakor.

Registered on the main group by `bot.cli` (the package) through `register(main)`. The codes are made by
`bot.services.bulk_invites` in one transaction, and the files are written inside it: if writing
fails nothing is committed, and if the commit fails the files are removed, so no sheet ever
carries a code the database does not have.

The deep link needs the bot's username: `--bot-username`, else the Bot API's getMe with
BOT_TOKEN at TELEGRAM_API_URL (checked before anything is written).
"""

from __future__ import annotations

import asyncio
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from bot.cli.common import prepare, run_with_database
from tqdm import tqdm

from bot.settings import Settings

_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_FORMATS = {"pdf": (True, False), "png": (False, True), "both": (True, True)}


@click.group("invites")
def invites() -> None:
    """Invite codes for cooperative managers."""


@invites.command("create")
@click.option("--kecamatan", "names", multiple=True, metavar="NAME",
              help="A kecamatan by name (any case); repeat for several.")
@click.option("--all", "every", is_flag=True, help="Every kecamatan of the registry.")
@click.option("--out", "out_dir", default=".", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Folder for the files (created if missing).")
@click.option("--format", "sheet_format", type=click.Choice(list(_FORMATS)), default="pdf", show_default=True,
              help="The printable sheet: an A4 PDF, PNG pages, or both.")
@click.option("--include-managed", is_flag=True,
              help="Also cooperatives that already have a manager (skipped by default).")
@click.option("--bot-username", default=None, help="The bot's @username (default: asked from the Bot API).")
@click.option("--lang", type=click.Choice(["id", "en"]), default=None,
              help="Language of the cards (default: DEFAULT_LANGUAGE).")
@click.option("--officer", "officer_id", type=int, default=0, show_default=True,
              help="Telegram id recorded as the invites' creator (0: the command line).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def invites_create(
    names: tuple[str, ...], every: bool, out_dir: Path, sheet_format: str, include_managed: bool,
    bot_username: str | None, lang: str | None, officer_id: int, no_progress: bool,
) -> None:
    """Invite codes for the cooperatives of some kecamatan: a CSV and printable cards with QR codes."""

    if bool(names) == every:
        click.echo("error: give --kecamatan NAME (one or more) or --all", err=True)
        sys.exit(2)
    settings = prepare()
    username = _bot_username(settings, bot_username)
    out_dir.mkdir(parents=True, exist_ok=True)
    job = _Job(settings, None if every else list(names), out_dir, sheet_format, include_managed, username,
               lang or settings.default_language, officer_id=officer_id, progress=not no_progress)
    from bot.services.officers import UnknownKecamatan

    try:
        run_with_database(settings, job.run)
    except UnknownKecamatan as exc:
        click.echo(f"error: {exc} (see the kecamatan loaded by `kopdesk seed-demo` or an import)", err=True)
        sys.exit(2)
    for line in job.report:
        click.echo(line)


def _bot_username(settings: Settings, given: str | None) -> str:
    """The username from the option, else from getMe; exits 2 if neither can be had."""
    if given is not None:
        username = given.removeprefix("@")
        if not _USERNAME.match(username):
            click.echo(f"error: --bot-username: {given!r} is not a Telegram username", err=True)
            sys.exit(2)
        return username
    if settings.bot_token is None:
        click.echo("error: the bot's username is needed for the links: give --bot-username "
                   "or set BOT_TOKEN so it can be asked from the Bot API", err=True)
        sys.exit(2)
    from telegram import Bot
    from telegram.error import TelegramError

    from bot.logging_setup import redact

    async def get_me() -> str:
        async with Bot(settings.bot_token.get_secret_value(), base_url=settings.telegram_api_url) as bot:
            return bot.username

    try:
        return asyncio.run(get_me())
    except TelegramError as exc:
        click.echo(f"error: could not ask the Bot API for the bot's username "
                   f"({type(exc).__name__}: {redact(str(exc), settings.secrets())}); "
                   "give --bot-username", err=True)
        sys.exit(2)


@dataclass
class _Job:
    """One run of `invites create`: codes, then files, in one transaction."""

    settings: Settings
    names: list[str] | None  # None: every kecamatan
    out_dir: Path
    sheet_format: str
    include_managed: bool
    username: str
    lang: str
    officer_id: int = 0
    progress: bool = True
    written: list[Path] = field(default_factory=list)
    report: list[str] = field(default_factory=list)

    @property
    def pdf(self) -> bool:
        return _FORMATS[self.sheet_format][0]

    @property
    def png(self) -> bool:
        return _FORMATS[self.sheet_format][1]

    def _bar(self, desc: str, unit: str) -> Any:
        return tqdm(desc=desc, unit=unit, file=sys.stderr, disable=not self.progress, mininterval=0.5)

    async def run(self, db: Any) -> None:
        from bot.services import bulk_invites
        from storage.types import utcnow

        try:
            async with db.session() as session:
                kecamatan = await bulk_invites.resolve_kecamatan(session, self.names)
                now = utcnow()
                with self._bar("codes", " codes") as bar:
                    batch = await bulk_invites.invite_kecamatan(
                        session, kecamatan.values(), include_managed=self.include_managed,
                        officer_telegram_id=self.officer_id, now=now, on_each=bar.update,
                        on_total=lambda n: bar.reset(total=n),
                    )
                self._write(batch, kecamatan, now)
        except BaseException:
            for path in self.written:  # nothing committed: no file may show these codes
                path.unlink(missing_ok=True)
            raise

    def _write(self, batch: Any, kecamatan: dict[str, int], now: datetime) -> None:
        from bot import invite_sheet
        from bot.formatting import local_time, long_date, zone_name
        from bot.services.bulk_invites import deep_link

        tz = self.settings.tz
        skipped = (f"skipped: {batch.skipped_managed} with a manager already"
                   f"{'' if self.include_managed else ' (--include-managed to include them)'}, "
                   f"{batch.skipped_dissolved} dissolved")
        if not batch.issued:
            self.report.append(f"no cooperative to invite in {len(kecamatan)} kecamatan; {skipped}")
            return
        expires_at = batch.issued[0].invite.expires_at
        cards = [
            invite_sheet.Card(
                number=i.cooperative.registration_number, name=i.cooperative.name, kecamatan=i.kecamatan,
                desa=i.cooperative.desa or "", code=i.invite.code,
                link=deep_link(self.username, i.invite.code),
                expires=f"{long_date(i.invite.expires_at.astimezone(tz).date(), self.lang)}, "
                        f"{local_time(i.invite.expires_at, self.lang, tz)}",
            )
            for i in batch.issued
        ]
        stem = self.out_dir / _stem(self.names, now.astimezone(tz))
        csv_path = stem.with_suffix(".csv")
        self.written.append(csv_path)
        invite_sheet.write_csv(csv_path, cards)
        local = expires_at.astimezone(tz)
        self.report.append(
            f"{len(cards)} invites for {len(kecamatan)} kecamatan, valid until "
            f"{local:%Y-%m-%d %H:%M} {zone_name(tz)}; {skipped}"
        )
        self.report.append(f"CSV: {csv_path}")
        if not (self.pdf or self.png):
            return
        with self._bar("cards", " cards") as bar:
            bar.reset(total=len(cards))
            pdf = invite_sheet.render_pdf(cards, lang=self.lang, bot_username=self.username, on_each=bar.update)
        pages = invite_sheet.page_count(len(cards))
        if self.pdf:
            pdf_path = stem.with_suffix(".pdf")
            self.written.append(pdf_path)
            pdf_path.write_bytes(pdf)
            self.report.append(f"PDF: {pdf_path} ({pages} pages of {invite_sheet.CARDS_PER_PAGE} cards, A4)")
        if self.png:
            with self._bar("pages", " pages") as bar:
                bar.reset(total=pages)
                pngs = invite_sheet.write_pngs(pdf, stem, on_each=bar.update, written=self.written)
            self.report.append(f"PNG: {pngs[0]} … {pngs[-1].name} ({len(pngs)} pages)")


def _stem(names: list[str] | None, local_now: datetime) -> str:
    """'undangan-amarasi-20261201-1046', '…-semua-…' for --all, '…-3-kecamatan-…' for several."""
    if names is None:
        what = "semua"
    elif len(names) == 1:
        what = re.sub(r"[^a-z0-9]+", "-", names[0].lower()).strip("-") or "kecamatan"
    else:
        what = f"{len(names)}-kecamatan"
    return f"undangan-{what}-{local_now:%Y%m%d-%H%M}"


def register(main: click.Group) -> None:
    """Add `invites` to the `kopdesk` group."""
    main.add_command(invites)
