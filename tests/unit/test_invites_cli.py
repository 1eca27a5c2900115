"""`kopdesk invites create` on the demo registry, checked against the database and by reading
the QR codes back off the printed pages."""

from __future__ import annotations

import asyncio
import csv
import os
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pypdf
import pypdfium2
import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import func, select, update

from bot.sandbox import Sandbox
from bot.seed import seed_demo
from bot.services.registration import ALPHABET
from storage.db import Database
from storage.models import Cooperative, CoopStatus, Invite, Kecamatan, ManagerLink, ManagerPosition
from storage.repositories import people, registry
from tests.conftest import TEST_TOKEN
from tests.support.cli import REPO

BOT = "kupang_koperasi_bot"  # not the sandbox's default: the link must come from getMe
MONTHS = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
          "November", "Desember"]
A4 = (595.28, 841.89)


@pytest.fixture
async def demo(runtime) -> AsyncIterator[Database]:
    """The demo registry; in Amarasi one cooperative has a manager and one is dissolved."""
    await seed_demo(runtime.db)
    async with runtime.db.session() as session:
        amarasi = (await session.execute(select(Kecamatan.id).where(Kecamatan.name == "Amarasi"))).scalar_one()
        ids = list((await session.execute(
            select(Cooperative.id).where(Cooperative.kecamatan_id == amarasi).order_by(Cooperative.id))).scalars())
        person = await people.seen(session, telegram_id=555, first_name="Ina", last_name=None, username=None,
                                   telegram_language="id")
        await registry.link_manager(session, person_id=person.id, cooperative_id=ids[0],
                                    position=ManagerPosition.KETUA)
        await session.execute(update(Cooperative).where(Cooperative.id == ids[1]).values(status=CoopStatus.DIBUBARKAN))
    yield runtime.db


@pytest.fixture
async def named_sandbox() -> AsyncIterator[Sandbox]:
    box = Sandbox(bot_token=TEST_TOKEN, bot_username=BOT)
    await box.start()
    yield box
    await box.stop()


async def kopdesk(database_url: str, cwd: Path, *args: str, **env: str) -> tuple[int, str, str]:
    """Run the CLI without blocking the loop (the sandbox answering getMe runs in it)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "DATABASE_"))}
    environment.update(DATABASE_URL=database_url, PYTHONPATH=str(REPO), **env)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "invites", "create", *args, cwd=cwd, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 240)
    return proc.returncode, out.decode(), err.decode()


async def invites(db: Database) -> dict[str, tuple[Invite, Cooperative, str]]:
    async with db.session() as session:
        rows = await session.execute(
            select(Invite, Cooperative, Kecamatan.name).join(Cooperative, Cooperative.id == Invite.cooperative_id)
            .join(Kecamatan, Kecamatan.id == Cooperative.kecamatan_id))
        return {invite.code: (invite, coop, kecamatan) for invite, coop, kecamatan in rows}


async def managed_ids(db: Database) -> set[int]:
    async with db.session() as session:
        return set((await session.execute(select(ManagerLink.cooperative_id))).scalars())


def wita(moment) -> str:
    local = moment + timedelta(hours=8)  # WITA is UTC+8 all year
    return f"{local.day} {MONTHS[local.month - 1]} {local.year}, {local:%H.%M} WITA"


def decoded(image: Image.Image) -> set[str]:
    return {r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode}


async def test_sheets_for_two_kecamatan_match_the_database_and_scan_back(
    demo: Database, database_url: str, named_sandbox: Sandbox, tmp_path: Path
) -> None:
    """CSV rows are the database's new invites; every page's QR codes decode to its rows' links."""
    code, out, err = await kopdesk(
        database_url, tmp_path, "--kecamatan", "amarasi", "--kecamatan", "Kupang Timur", "--out", "sheets",
        "--format", "both", "--no-progress", BOT_TOKEN=TEST_TOKEN, TELEGRAM_API_URL=named_sandbox.base_url,
    )
    assert code == 0, err
    async with demo.session() as session:
        in_both = list((await session.execute(
            select(Cooperative.id).join(Kecamatan, Kecamatan.id == Cooperative.kecamatan_id)
            .where(Kecamatan.name.in_(["Amarasi", "Kupang Timur"]))
            .where(Cooperative.status != CoopStatus.DIBUBARKAN))).scalars())
    expected = set(in_both) - await managed_ids(demo)
    stored = await invites(demo)
    [csv_path] = (tmp_path / "sheets").glob("undangan-2-kecamatan-*.csv")
    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["nomor_badan_hukum", "nama", "kecamatan", "desa_kelurahan", "kode", "tautan",
                             "berlaku_sampai"]
    # One invite per cooperative of the two kecamatan, less the managed and the dissolved one.
    assert len(rows) == len(stored) == len(expected) == len(in_both) - 1 and len(rows) > 40
    assert {coop.id for _, coop, _ in stored.values()} == expected
    assert f"{len(rows)} invites for 2 kecamatan" in out and "skipped: 1 with a manager already" in out
    assert "1 dissolved" in out
    for row in rows:
        invite, coop, kecamatan = stored[row["kode"]]
        assert (row["nomor_badan_hukum"], row["nama"], row["kecamatan"], row["desa_kelurahan"]) == (
            coop.registration_number, coop.name, kecamatan, coop.desa or "")
        assert coop.status is not CoopStatus.DIBUBARKAN and kecamatan in ("Amarasi", "Kupang Timur")
        assert len(invite.code) == 8 and set(invite.code) <= set(ALPHABET)
        assert invite.used_at is None and invite.created_by == 0
        assert invite.expires_at - invite.created_at == timedelta(days=14)
        assert row["berlaku_sampai"] == wita(invite.expires_at)
        assert row["tautan"] == f"https://t.me/{BOT}?start={invite.code}"

    [pdf_path] = (tmp_path / "sheets").glob("*.pdf")
    reader = pypdf.PdfReader(pdf_path)
    pages = -(-len(rows) // 8)
    assert len(reader.pages) == pages
    assert all((round(float(p.mediabox.width), 2), round(float(p.mediabox.height), 2)) == A4 for p in reader.pages)
    pngs = sorted((tmp_path / "sheets").glob("*.png"))
    assert len(pngs) == pages
    document = pypdfium2.PdfDocument(pdf_path.read_bytes())
    for number in range(pages):
        on_page = rows[number * 8:(number + 1) * 8]
        links = {r["tautan"] for r in on_page}
        assert decoded(document[number].render(scale=200 / 72).to_pil()) == links, f"PDF page {number + 1}"
        assert decoded(Image.open(pngs[number])) == links, pngs[number].name
        text = reader.pages[number].extract_text()
        assert all(r["kode"] in text for r in on_page)
    document.close()


async def test_include_managed_and_bot_username_option(demo: Database, database_url: str, tmp_path: Path) -> None:
    """--include-managed takes the managed cooperative too; --bot-username needs no Bot API."""
    code, out, err = await kopdesk(database_url, tmp_path, "--kecamatan", "Amarasi", "--include-managed",
                                   "--bot-username", "@kopdesk_kupang_bot", "--format", "png", "--no-progress")
    assert code == 0, err
    assert "skipped: 0 with a manager already" in out and "1 dissolved" in out
    stored = await invites(demo)
    assert set(await managed_ids(demo)) <= {coop.id for _, coop, _ in stored.values()}
    assert all(k == "Amarasi" and c.status is not CoopStatus.DIBUBARKAN for _, c, k in stored.values())
    [csv_path] = tmp_path.glob("undangan-amarasi-*.csv")
    with csv_path.open(encoding="utf-8-sig") as handle:
        links = [r["tautan"] for r in csv.DictReader(handle)]
    assert sorted(links) == sorted(f"https://t.me/kopdesk_kupang_bot?start={c}" for c in stored)
    assert not list(tmp_path.glob("*.pdf")) and len(list(tmp_path.glob("*.png"))) == -(-len(links) // 8)


@pytest.mark.parametrize("args, message", [
    (("--kecamatan", "Amarasi", "--kecamatan", "Atlantis", "--bot-username", "kopdesk_bot"),
     "error: unknown kecamatan: Atlantis"),
    (("--kecamatan", "Amarasi"), "error: the bot's username is needed"),
    (("--bot-username", "kopdesk_bot"), "error: give --kecamatan NAME (one or more) or --all"),
    (("--all", "--kecamatan", "Amarasi", "--bot-username", "kopdesk_bot"), "error: give --kecamatan"),
    (("--all", "--bot-username", "not a name"), "error: --bot-username"),
])
async def test_refusals_write_nothing(demo: Database, database_url: str, tmp_path: Path, args, message) -> None:
    """A bad kecamatan, no way to know the bot, or a bad choice: one line, exit 2, nothing made."""
    code, _, err = await kopdesk(database_url, tmp_path, *args, "--out", "sheets")
    assert code == 2 and err.startswith(message), err
    async with demo.session() as session:
        assert (await session.execute(select(func.count()).select_from(Invite))).scalar_one() == 0
    assert not (tmp_path / "sheets").exists() or not list((tmp_path / "sheets").iterdir())


async def test_an_unreachable_bot_api_is_said_and_nothing_made(
    demo: Database, database_url: str, tmp_path: Path
) -> None:
    """No --bot-username and getMe fails: exit 2 with the reason, the token never printed."""
    code, out, err = await kopdesk(database_url, tmp_path, "--all", BOT_TOKEN=TEST_TOKEN,
                                   TELEGRAM_API_URL="http://127.0.0.1:9/bot")
    assert code == 2 and err.startswith("error: could not ask the Bot API for the bot's username (")
    assert "give --bot-username" in err and TEST_TOKEN not in out + err
    async with demo.session() as session:
        assert (await session.execute(select(func.count()).select_from(Invite))).scalar_one() == 0


async def test_a_failure_while_writing_commits_no_code_and_leaves_no_file(
    demo: Database, runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The PDF fails after the CSV is written: the codes roll back and the CSV is removed."""
    from bot import invite_sheet
    from bot.cli import invites as cli_invites

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(invite_sheet, "render_pdf", broken)
    out = tmp_path / "sheets"
    out.mkdir()
    job = cli_invites._Job(runtime.settings, ["Amarasi"], out, sheet_format="pdf", include_managed=False,
                           username="kopdesk_bot", lang="id", progress=False)
    with pytest.raises(OSError):
        await job.run(demo)
    assert [p.suffix for p in job.written] == [".csv"] and not list(out.iterdir())
    async with demo.session() as session:
        assert (await session.execute(select(func.count()).select_from(Invite))).scalar_one() == 0
