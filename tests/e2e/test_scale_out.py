"""Scale-out (SPEC 13): nginx in front of two `kopdesk web`, three `kopdesk worker`, PostgreSQL.

The sandbox delivers its webhooks through nginx to either receiver; the receivers only log;
the workers take the updates chat by chat. Mid-burst one worker is killed with SIGKILL (and
started again later, as its service manager would) and one receiver is restarted.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.sandbox import Sandbox, SandboxClient
from storage.db import Database
from storage.models import AnnualReportRecord, Cooperative, InboundUpdate, ManagerPosition, Person
from storage.models_meetings import Meeting, MeetingState
from storage.repositories import people, registry
from storage.repositories.meetings import Invitee, add_invitations
from bot.seed import seed_demo
from tests.e2e.conftest import BotProcess, wait_until
from tests.e2e.test_report import FULL, YEAR, Chat, answer_until_summary, data_of

pytestmark = pytest.mark.e2e

USERS = range(40_001, 40_051)  # 50 people, 20 commands each
MESSAGES = 20
MANAGERS = (42_001, 42_002, 42_003)  # each types a whole annual report meanwhile
INVITEES = range(41_001, 41_021)  # a reminder falls due during the run: one copy each
SECRET = "s3cret-Token_for-webhooks"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is missing on CI (.ci/run installs Debian's nginx-light)")
        pytest.skip("nginx is not installed (Debian: apt-get install nginx-light)")
    return found


NGINX_CONF = """
worker_processes 1;
daemon off;
master_process on;
user root;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream kopdesk_web {{
        server 127.0.0.1:{web1} max_fails=1 fail_timeout=2s;
        server 127.0.0.1:{web2} max_fails=1 fail_timeout=2s;
        keepalive 8;
    }}
    server {{
        listen 127.0.0.1:{port};
        location /telegram/ {{
            proxy_pass http://kopdesk_web;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_connect_timeout 1s;
            proxy_next_upstream error timeout http_502 http_503 non_idempotent;
        }}
    }}
}}
"""


@pytest.fixture
def nginx(tmp_path: Path) -> tuple[str, int, int, int]:
    """A running nginx balancing /telegram/ over two receiver ports; (url, port, web1, web2)."""
    binary = _nginx()
    port, web1, web2 = _free_port(), _free_port(), _free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp_path, port=port, web1=web1, web2=web2))
    proc = subprocess.Popen([binary, "-c", str(conf), "-p", str(tmp_path), "-e", str(tmp_path / "nginx-error.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None:
                raise AssertionError((tmp_path / "nginx-error.log").read_text())
            time.sleep(0.05)  # until nginx listens
        yield f"http://127.0.0.1:{port}/telegram/hook", port, web1, web2
    finally:
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


async def _seed(db: Database, client: SandboxClient) -> tuple[list[int], int]:
    """Three managers with a cooperative each; a meeting whose reminder is due; (coop ids, meeting)."""
    await seed_demo(db)
    async with db.session() as session:
        coops = list((await session.execute(select(Cooperative).order_by(Cooperative.id).limit(3))).scalars())
        for telegram_id, coop in zip(MANAGERS, coops, strict=True):
            person = await people.seen(session, telegram_id=telegram_id, first_name="Maria", last_name=None,
                                       username=None, telegram_language="id")
            await registry.link_manager(session, person_id=person.id, cooperative_id=coop.id,
                                        position=ManagerPosition.KETUA)
        invitees = [Person(telegram_id=i, first_name="Undangan") for i in INVITEES]
        session.add_all(invitees)
        await session.flush()
        now = datetime.now(UTC)
        starts = now + timedelta(days=1)
        offsets = [int(timedelta(days=2).total_seconds())]  # due a day ago: sent at the first tick
        meeting = Meeting(title="Rapat koordinasi", kind="rakor", starts_at=starts, place="Aula",
                          audience={"kind": "all"}, audience_label="Semua", offsets=offsets,
                          state=MeetingState.SCHEDULED.value, created_by=1, chat_id=1, sent_at=now)
        session.add(meeting)
        await session.flush()
        await add_invitations(session, meeting.id,
                              [Invitee(p.id, p.telegram_id, None, None) for p in invitees],  # type: ignore[arg-type]
                              offsets, starts, now)
    for i in INVITEES:
        await client.register_chat(i, type="private")
    return [c.id for c in coops], meeting.id


async def _report(client: SandboxClient, manager: int, coop_id: int) -> str:
    chat = Chat(client, manager)
    years = await chat.say("/laporan")
    question = await chat.press(years, f"rp:year:{coop_id}:{YEAR}")
    summary = await answer_until_summary(chat, question, FULL)
    done = await chat.press(summary, data_of(summary, "rp:send:"))
    return done["text"]


async def _burst(client: SandboxClient, user: int) -> None:
    for n in range(1, MESSAGES + 1):
        await client.send_text(user, f"/c{user}_{n}")


async def test_two_receivers_three_workers_kill_and_restart(
    bot_env: dict[str, str], sandbox: Sandbox, client: SandboxClient, db: Database,
    tmp_path: Path, nginx: tuple[str, int, int, int],
) -> None:
    if db.is_sqlite:
        pytest.skip("several workers share updates through PostgreSQL only; SQLite runs `kopdesk run`")
    url, _, web1, web2 = nginx
    coop_ids, _meeting = await _seed(db, client)
    # The send limit lifted (as for paid broadcasts): the test is about the pipeline, and 1,000
    # replies at Telegram's 25 a second would take 40 s.
    env = dict(bot_env, WEBHOOK_URL=url, WEBHOOK_SECRET=SECRET, FLOOD_LIMIT_PER_MINUTE="1000",
               REMINDER_TICK_SECONDS="1", DELIVERY_LEASE_SECONDS="5",
               PAID_BROADCASTS="true", SEND_RATE="600")
    receivers = [BotProcess(env, tmp_path / f"web{n}.log", client, args=("web", "--port", str(port)),
                            ready_method="setWebhook") for n, port in ((1, web1), (2, web2))]
    workers = [BotProcess(env, tmp_path / f"w{n}.log", client,
                          args=("worker", "--worker-id", f"w{n}", "--concurrency", "8"),
                          ready_method="getMe") for n in (1, 2, 3)]
    try:
        for process in [*receivers, *workers]:
            await process.start()
        reports = [asyncio.create_task(_report(client, m, c)) for m, c in zip(MANAGERS, coop_ids, strict=True)]
        bursts = [asyncio.create_task(_burst(client, u)) for u in USERS]

        async def replies() -> int:
            return sum(1 for c in sandbox.calls
                       if c["method"] == "sendMessage" and c["status"] == 200 and c["chat_id"] in USERS)

        await wait_until(lambda: _at_least(replies, 250), timeout=120, what="a quarter of the replies")
        await workers[0].kill9()  # mid-burst, with updates in hand
        await receivers[1].stop()  # nginx sends everything to the other receiver meanwhile
        await receivers[1].start()
        await asyncio.gather(*bursts)
        await workers[0].start()  # its service manager restarts it
        await wait_until(lambda: _at_least(replies, len(USERS) * MESSAGES), timeout=240,
                         what="every command answered")
        done = await asyncio.wait_for(asyncio.gather(*reports), 240)
    finally:
        for process in [*workers, *receivers]:
            await process.stop()

    # Every command answered in the order of the chat. An update the killed worker had in hand
    # is taken again by another (its attempt count says so): its transaction committed once,
    # but a reply it had already sent is sent again — the only repeats allowed.
    async with db.session() as session:
        retaken = set((await session.execute(
            select(InboundUpdate.text).where(InboundUpdate.attempts > 1))).scalars())
    for user in USERS:
        texts = [m["text"] for m in await client.messages(user)]
        commands = [next((w for w in text.split() if w.startswith(f"/c{user}_")), text) for text in texts]
        in_order = [c for i, c in enumerate(commands) if i == 0 or c != commands[i - 1]]
        assert in_order == [f"/c{user}_{n}" for n in range(1, MESSAGES + 1)], f"chat {user}: {commands}"
        repeated = {c for c, n in Counter(commands).items() if n > 1}
        assert repeated <= retaken, f"chat {user}: {repeated - retaken} answered twice, never taken again"
    async with db.session() as session:
        logged = (await session.execute(
            select(func.count(), func.count(InboundUpdate.handled_at))
            .where(InboundUpdate.user_id.in_([*USERS, *MANAGERS]))
        )).one()
        burst = (await session.execute(
            select(func.count(), func.count(func.distinct(InboundUpdate.update_id)))
            .where(InboundUpdate.user_id.in_(USERS))
        )).one()
    assert logged[0] == logged[1], f"{logged[0] - logged[1]} update(s) never handled"
    # Each update logged once (a delivery repeated by the sandbox or nginx stores nothing new).
    assert tuple(burst) == (len(USERS) * MESSAGES, len(USERS) * MESSAGES)

    # Each report complete and correct, each once.
    assert all(text.startswith("✅") and "revisi 1" in text for text in done), done
    async with db.session() as session:
        records = list((await session.execute(
            select(AnnualReportRecord).where(AnnualReportRecord.cooperative_id.in_(coop_ids)))).scalars())
    assert sorted(r.cooperative_id for r in records) == sorted(coop_ids)
    for record in records:
        assert (record.fiscal_year, record.members_men, record.members_women) == (YEAR, 1250, 980)
        assert (record.total_assets, record.surplus, record.obstacles) == (2_500_000_000, -5_000_000, ["modal", "lainnya"])

    # The reminder that fell due went out once to each invitee, whichever worker ran the tick.
    reminded = Counter(c["chat_id"] for c in sandbox.calls
                       if c["method"] == "sendMessage" and c["status"] == 200 and c["chat_id"] in INVITEES)
    assert set(reminded) == set(INVITEES) and max(reminded.values()) == 1, reminded
    deliveries = sandbox.webhooks.deliveries
    assert deliveries and all(d["url"] == url for d in deliveries)


async def _at_least(count, n: int) -> bool:
    return await count() >= n
