"""The demo's face: `kopdesk demo --no-chat` as an operator starts it, and a headless Chromium
that registers with the printed invite code and files a complete annual report through the
browser chat, on a desktop and on a 390×844 phone. What is asserted is what the user sees."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, or_, select

from bot.i18n import t
from bot.sandbox import SandboxClient
from bot.services.coop_status import last_closed_fiscal_year
from storage.db import Database
from storage.models import AnnualReportRecord, InboundUpdate
from storage.types import utcnow
from tests.browser.conftest import VIEWPORTS, Shots
from tests.e2e.conftest import wait_until

pytestmark = pytest.mark.e2e
YEAR = last_closed_fiscal_year(utcnow().date())
# Field → what the user does: type a text, press a button (by its label), or tick options.
ANSWERS: dict[str, str] = {
    "rat_held": "press:" + t("id", "report.yes"),
    "rat_date": f"15/03/{YEAR + 1}",
    "members_men": "1.250",
    "members_women": "980",
    "pengurus": "5",
    "pengawas": "3",
    "employees": "12",
    "total_assets": "2,5 M",
    "own_capital": "1,2 M",
    "external_capital": "800 jt",
    "business_volume": "Rp 3.100.000.000",
    "surplus": "-5 juta",
    "still_operating": "ya",
    "main_business": "Simpan pinjam dan toko sembako",
    "obstacles": "tick",
    "obstacles_other": "Harga pupuk naik",
    "support_needed": "tick",
    "notes": "/lewati",
}


class Demo:
    """A running `kopdesk demo --no-chat` process."""

    def __init__(self, proc: asyncio.subprocess.Process, log: Path, url: str, code: str) -> None:
        self.proc, self.log, self.url, self.code = proc, log, url, code


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def demo(database_url: str, tmp_path: Path) -> AsyncIterator[Demo]:
    """The demo on its own port and the test's database; its invite code read from its output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "DATABASE_"))}
    # The test types a whole report within seconds: above the default flood limit.
    env.update(DATABASE_URL=database_url, FLOOD_LIMIT_PER_MINUTE="300", PYTHONUNBUFFERED="1")
    port = _free_port()
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "demo", "--no-chat", "--port", str(port),
            env=env, stdout=out, stderr=out, stdin=asyncio.subprocess.DEVNULL,
        )

    async def started() -> re.Match[str] | None:
        if proc.returncode is not None:
            raise AssertionError(f"kopdesk demo exited {proc.returncode}:\n{log.read_text()}")
        return re.search(r"/start (\S+).*\n.*Running", log.read_text())

    found = await wait_until(started, timeout=90, what="the demo to print its invite code")
    demo = Demo(proc, log, f"http://127.0.0.1:{port}/", found.group(1))
    yield demo
    proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), 20)
    except TimeoutError:
        proc.kill()
        await proc.wait()
    sys.stdout.write(f"\n--- demo log ---\n{log.read_text(errors='replace')[-4000:]}\n")


class Flow:
    """The user's hands on the page, and a wait for the bot to finish each step."""

    def __init__(self, page: Any, db: Database, client: SandboxClient, user: int) -> None:
        self.page, self.db, self.client, self.user = page, db, client, user
        self.sent = 0  # updates the user caused: messages and button presses

    async def settle(self) -> None:
        """Every update handled, and the page shows every message the bot sent."""
        async def handled() -> bool:
            async with self.db.session() as session:
                done = (await session.execute(select(func.count()).where(
                    InboundUpdate.user_id == self.user,
                    or_(InboundUpdate.handled_at.is_not(None), InboundUpdate.throttled.is_(True)),
                ))).scalar_one()
            return done >= self.sent

        await wait_until(handled, timeout=30, what=f"{self.sent} updates of {self.user} handled")
        live = [m for m in await self.client.messages(self.user) if not m["deleted"]]
        from playwright.async_api import expect

        await expect(self.page.locator(".row.in")).to_have_count(len(live))

    async def say(self, text: str, parts: int = 1) -> None:
        box = self.page.locator("#text")
        await box.fill(text)
        await box.press("Enter")
        self.sent += parts
        await self.settle()

    async def press(self, label: str | re.Pattern[str]) -> None:
        """A button of the bot's latest message that has buttons."""
        button = self.page.locator(".row.in:has(.ikb)").last.get_by_role("button", name=label, exact=True)
        await button.click()
        self.sent += 1
        await self.settle()

    async def menu(self, label: str) -> None:
        await self.page.locator("#reply").get_by_role("button", name=label, exact=True).click()
        self.sent += 1
        await self.settle()

    async def last_text(self) -> str:
        return await self.page.locator(".row.in .bubble").last.inner_text()


async def fill_report(flow: Flow) -> None:
    """Answer every question the bot asks until the summary."""
    questions = {name: t("id", f"report.q.{name}", year=YEAR, next_year=YEAR + 1) for name in ANSWERS}
    for _ in range(40):
        text = await flow.last_text()
        if f"Ringkasan laporan tahunan {YEAR}" in text:
            return
        asked = [name for name, question in questions.items() if question in text]
        assert asked, f"unexpected message: {text}"
        answer = ANSWERS[asked[0]]
        if answer.startswith("press:"):
            await flow.press(answer[6:])
        elif answer == "tick":
            latest = flow.page.locator(".row.in:has(.ikb)").last
            await latest.locator(".ikb button").first.click()
            flow.sent += 1
            await flow.settle()
            await flow.press(t("id", "report.done_button"))
        else:
            await flow.say(answer)
    raise AssertionError("no summary after 40 steps")


async def sizes(page: Any) -> dict[str, Any]:
    return await page.evaluate("""() => {
        const heights = (sel) => [...document.querySelectorAll(sel)]
            .filter((el) => el.offsetParent !== null).map((el) => el.getBoundingClientRect().height);
        return {
            inline: heights(".ikb button"), reply: heights("#reply button"), send: heights("#send"),
            font: getComputedStyle(document.querySelector("#text")).fontSize,
            scrollWidth: document.documentElement.scrollWidth,
            composerBottom: document.querySelector("#composer").getBoundingClientRect().bottom,
        };
    }""")


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
async def test_register_and_report_in_the_browser(
    viewport: str, browser: Any, demo: Demo, database_url: str, shots: Shots
) -> None:
    from playwright.async_api import expect

    settings = VIEWPORTS[viewport]
    user = 7001 if viewport == "desktop" else 7002
    context = await browser.new_context(**settings)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    db = Database(database_url)
    try:
        async with SandboxClient(demo.url + "_sandbox") as client:
            await page.goto(demo.url)
            await expect(page.locator("#status")).to_have_text("bot")
            # Who the user is: chosen once, kept by the browser.
            await page.locator("#me").click()
            await page.locator("#who-id").fill(str(user))
            await page.locator("#who-name").fill("Maria")
            await page.get_by_role("button", name="Simpan").click()
            await expect(page.locator("#me-label")).to_have_text(f"Maria · {user}")
            await shots.take(page, "empty")
            flow = Flow(page, db, client, user)

            # Registration with the invite code the demo printed.
            await flow.say(f"/start {demo.code}")
            assert "Terdaftar" in await page.locator(".row.in").first.inner_text()
            await flow.press(t("id", "position.ketua"))
            await shots.take(page, "registered")

            # The complete annual report, through the menu button.
            await flow.menu(t("id", "menu.report"))
            await flow.press(str(YEAR))
            await fill_report(flow)
            summary = page.locator(".row.in .bubble").last
            await expect(summary.locator("b").first).to_contain_text(f"Ringkasan laporan tahunan {YEAR}")
            await shots.take(page, "summary")
            await flow.press(re.compile("^📨"))
            assert "revisi 1" in await flow.last_text()
            async with db.session() as session:
                [record] = (await session.execute(select(AnnualReportRecord))).scalars().all()
            assert (record.fiscal_year, record.members_men, record.total_assets) == (YEAR, 1250, 2_500_000_000)

            # /profil: the cooperative's name in bold; a position button answers with a toast.
            await flow.menu(t("id", "menu.profile"))
            card = page.locator(".row.in:has(.ikb)").last
            await expect(card.locator("b").first).to_be_visible()
            await flow.press(t("id", "position.sekretaris"))
            toast = page.locator("#toast")
            await expect(toast).to_be_visible()
            await expect(toast).to_have_text(t("id", "profile.position_saved", position=t("id", "position.sekretaris")))
            await shots.take(page, "toast")

            # Touch targets and the input font; nothing wider than the screen.
            await flow.menu(t("id", "menu.language"))
            measured = await sizes(page)
            assert measured["inline"] and min(measured["inline"]) >= 40, measured
            assert measured["reply"] and min(measured["reply"]) >= 40, measured
            assert measured["send"][0] >= 40 and measured["font"] == "16px", measured
            width, height = settings["viewport"]["width"], settings["viewport"]["height"]
            assert measured["scrollWidth"] <= width and measured["composerBottom"] <= height, measured

            # Reload: the same user and both sides of the conversation, from the sandbox.
            before = await page.locator(".row").all_inner_texts()
            await page.reload()
            await expect(page.locator(".row")).to_have_count(len(before))
            assert await page.locator(".row").all_inner_texts() == before
            await expect(page.locator("#me-label")).to_have_text(f"Maria · {user}")
            assert any(text.startswith(f"/start {demo.code}") for text in before)
            assert any(text.startswith("Simpan pinjam dan toko sembako") for text in before)

            # /bahasa English: the page's own words follow, and stay after a reload.
            await flow.press(t("en", "lang.button_en"))
            for _ in range(2):
                await expect(page.locator("#send")).to_have_attribute("aria-label", "Send")
                await expect(page.locator("#hint")).to_have_text("Enter to send · Shift+Enter for a new line")
                await expect(page).to_have_title("KopDesk — sandbox chat")
                assert await page.locator("html").get_attribute("lang") == "en"
                await page.reload()
                await expect(page.locator("#status")).to_have_text("bot")
            await shots.take(page, "english")

            # 5,000 characters: two messages, nothing lost.
            long_text = " ".join(f"word{i:04d}" for i in range(600))[:5000].rstrip()
            await page.locator("#text").fill(long_text)
            await expect(page.locator("#notice")).to_contain_text("2 messages")
            await flow.say(long_text, parts=2)
            await expect(page.locator("#text")).to_have_value("")
            mine = await page.locator(".row.out .text").all_inner_texts()
            assert " ".join(mine[-2:]) == long_text
            await shots.take(page, "long")
            assert errors == []
    finally:
        await context.close()
        await db.dispose()
