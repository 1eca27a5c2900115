"""Scripted sequences that take the fuzz run down the deep paths, by pressing real buttons.

They run beside the random traffic, each as its own user, so that the random updates hit a bot
that is in the middle of registrations, reports and broadcasts:

- `invite_and_report`: an officer's /undang code → /start CODE → position → /laporan answered
  to the summary → 📨 Kirim (a submitted report);
- `request_and_approval`: /daftar without a code → kecamatan → cooperative → position → an
  officer presses Setujui in the officers' chat (an approved registration);
- `broadcast`: an officer's /siaran → text → all managers → Kirim → the final report.

Each returns normally when its path was completed and raises (with what the user saw) when not.
"""

from __future__ import annotations

import re
from typing import Any

from bot.i18n import t
from bot.sandbox import SandboxClient
from tests.e2e.conftest import wait_until

STEP_TIMEOUT = 90.0  # the bot is busy with the random traffic at the same time


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


def data_of(message: dict[str, Any], prefix: str) -> str:
    found = [d for _, d in buttons(message) if d.startswith(prefix)]
    if not found:
        raise AssertionError(f"no button {prefix}… in {message.get('text')!r} {buttons(message)}")
    return found[0]


class Chat:
    """One user's side of a private chat (or of a group, for presses there)."""

    def __init__(self, client: SandboxClient, user: int) -> None:
        self.client, self.user, self.last_id = client, user, 0

    async def sync(self) -> Chat:
        """Start after the messages the chat already holds."""
        self.last_id = max([m["message_id"] for m in await self.client.messages(self.user)], default=0)
        return self

    async def find(self, predicate) -> dict[str, Any]:
        """The next message satisfying `predicate` (others in between are passed over)."""
        for _ in range(500):
            message = await self.next()
            if predicate(message):
                return message
        raise AssertionError("the awaited message did not come")

    async def next(self) -> dict[str, Any]:
        messages = await self.client.wait_for_messages(self.user, after_id=self.last_id, timeout=STEP_TIMEOUT)
        self.last_id = messages[0]["message_id"]
        return messages[0]

    async def settle(self) -> dict[str, Any]:
        """The newest of the messages that arrived (after the first one is there)."""
        first = await self.next()
        later = await self.client.messages(self.user, after_id=self.last_id)
        if later:
            self.last_id = later[-1]["message_id"]
            return later[-1]
        return first

    async def say(self, text: str, *, settle: bool = False) -> dict[str, Any]:
        await self.client.send_text(self.user, text)
        return await (self.settle() if settle else self.next())

    async def press(self, message: dict[str, Any], data: str) -> dict[str, Any]:
        await self.client.press(self.user, message["message_id"], data)
        return await self.next()

    async def current(self, message_id: int) -> dict[str, Any]:
        return next(m for m in await self.client.messages(self.user) if m["message_id"] == message_id)


async def invite_code(officer: Chat, registration_number: str) -> str:
    answer = await officer.say(f"/undang {registration_number}")
    match = re.search(r"\?start=([A-Z0-9]{8})", answer.get("text") or "")
    if not match:
        raise AssertionError(f"/undang gave no invite link: {answer.get('text')!r}")
    return match.group(1)


def report_answers(year: int) -> dict[str, str]:
    return {
        "rat_held": "press:rp:yn:",
        "rat_date": f"15/03/{year + 1}",
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
        "main_business": "Simpan pinjam <dan> toko & sembako",
        "obstacles": "tap:modal,lainnya",
        "obstacles_other": "Harga pupuk naik {{x}}",
        "support_needed": "tap:permodalan",
        "notes": "/lewati",
    }


async def invite_and_report(client: SandboxClient, officer_id: int, manager_id: int,
                            registration_number: str, year: int) -> None:
    """A submitted report, starting from an invite code."""
    officer, manager = await Chat(client, officer_id).sync(), await Chat(client, manager_id).sync()
    code = await invite_code(officer, registration_number)
    await client.send_text(manager_id, f"/start {code}")
    welcome = await manager.next()
    if not (welcome.get("text") or "").startswith("✅"):
        raise AssertionError(f"/start CODE did not register: {welcome.get('text')!r}")
    question = await manager.next()
    await client.press(manager_id, question["message_id"], data_of(question, "pos:").rsplit(":", 1)[0] + ":ketua")
    message = await manager.say("/laporan", settle=True)
    if "rp:resume:" in str(buttons(message)):
        message = await manager.press(message, data_of(message, "rp:resume:"))
    elif any(d.startswith("rp:year:") for _, d in buttons(message)):
        message = await manager.press(message, data_of(message, "rp:year:").rsplit(":", 1)[0] + f":{year}")
    answers = report_answers(year)
    for _ in range(40):
        text = message.get("text") or ""
        if "Ringkasan laporan" in text:
            send = [d for _, d in buttons(message) if d.startswith("rp:send")]
            done = await manager.press(message, send[0] if send else data_of(message, "rp:"))
            if not (done.get("text") or "").startswith("✅"):
                raise AssertionError(f"the report was not submitted: {done.get('text')!r}")
            return
        asked = [n for n in answers if t("id", f"report.q.{n}", year=year, next_year=year + 1) in text]
        if not asked:
            raise AssertionError(f"unexpected message in the report: {text!r}")
        value = answers[asked[-1]]
        if value.startswith("tap:"):
            for option in value[4:].split(","):
                await client.press(manager_id, message["message_id"],
                                   data_of(message, "rp:ms:").rsplit(":", 1)[0] + f":{option}")
            message = await manager.press(message, data_of(message, "rp:done:"))
        elif value.startswith("press:"):
            message = await manager.press(message, data_of(message, value[6:]))
        else:
            message = await manager.say(value)
    raise AssertionError("no summary after 40 steps")


async def request_and_approval(client: SandboxClient, officer_id: int, applicant_id: int,
                               officers_chat: int, kecamatan: str, coop_id: int) -> None:
    """An approved registration request, from /daftar to Setujui."""
    applicant = await Chat(client, applicant_id).sync()
    ask = await applicant.say("/daftar")
    await client.press(applicant_id, ask["message_id"], data_of(ask, "reg:nocode"))
    mid = ask["message_id"]

    seen: set[tuple] = set()  # states already pressed: the next step waits for the edit

    async def press_listed(wanted) -> None:
        """Press the wanted button of the edited message, turning pages with ▶️ until it shows."""
        while True:
            async def shown():
                state = tuple(buttons(await applicant.current(mid)))
                useful = any(wanted(label, d) or label == "▶️" for label, d in state)
                return state if useful and state not in seen else None

            state = await wait_until(shown, timeout=STEP_TIMEOUT, what="the next list of buttons")
            seen.add(state)
            hit = [d for label, d in state if wanted(label, d)]
            if hit:
                await client.press(applicant_id, mid, hit[0])
                return
            await client.press(applicant_id, mid, [d for label, d in state if label == "▶️"][0])

    await press_listed(lambda label, d: label == kecamatan)
    await press_listed(lambda label, d: d == f"reg:c:{coop_id}")
    officers = await Chat(client, officers_chat).sync()
    await press_listed(lambda label, d: d == f"reg:p:{coop_id}:bendahara")
    request = await officers.find(lambda m: str(applicant_id) in (m.get("text") or "") and bool(buttons(m)))
    await client.press(officer_id, request["message_id"], data_of(request, "apr:ok:"), chat_id=officers_chat)
    await applicant.find(lambda m: (m.get("text") or "").startswith("✅"))


async def broadcast(client: SandboxClient, officer_id: int) -> None:
    """A sent broadcast with its final report."""
    officer = await Chat(client, officer_id).sync()
    prompt = await officer.say("/siaran")
    if not (prompt.get("text") or "").startswith((t("id", "siaran.history_none")[:10], t("id", "siaran.history_header")[:10])):
        raise AssertionError(f"/siaran did not start: {prompt.get('text')!r}")
    menu = await officer.say("Rapat koordinasi <b>Senin</b> pukul 09.00 WITA {{agenda}} 👍")
    await client.press(officer_id, menu["message_id"], data_of(menu, "sia:all:"))
    await officer.next()  # the preview
    control = await officer.next()
    await client.press(officer_id, control["message_id"], data_of(control, "sia:go:"))
    await officer.find(lambda m: "✅ Terkirim" in (m.get("text") or ""))
