"""Registration of managers: invite codes (SPEC 3) and requests approved by an officer."""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import audit
from bot.services.roles import Identity
from storage.models import Cooperative, Invite, ManagerPosition, RegistrationRequest, RequestStatus
from storage.repositories import invites as repo
from storage.repositories import people, registry

# No 0/O, 1/I/L: codes are read aloud and typed on small phones.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
INVITE_TTL = timedelta(days=14)
MAX_FAILURES = 5
LOCK_WINDOW = timedelta(hours=1)


def new_code() -> str:
    """A random invite code from the unambiguous alphabet."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str) -> str | None:
    """The code in a user's text ('abcd-2345' → 'ABCD2345'), or None if it cannot be one."""
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    if len(cleaned) != CODE_LENGTH or any(ch not in ALPHABET for ch in cleaned):
        return None
    return cleaned


async def create_invite(
    session: AsyncSession, *, cooperative: Cooperative, officer_telegram_id: int, now: datetime
) -> Invite:
    """Issue a single-use invite for a cooperative, valid for INVITE_TTL."""
    code = new_code()
    while await repo.code_exists(session, code):  # 31^8 codes: a clash is rare, never reused
        code = new_code()
    invite = await repo.add_invite(
        session, code=code, cooperative_id=cooperative.id, created_by=officer_telegram_id,
        created_at=now, expires_at=now + INVITE_TTL,
    )
    await audit(session, "invite_created", actor=officer_telegram_id, subject_type="cooperative",
                subject_id=cooperative.id, code=code)
    return invite


class Redeem(enum.Enum):
    """Outcome of entering an invite code."""

    REGISTERED = "registered"
    LOCKED = "locked"  # too many wrong codes in the last hour
    WRONG = "wrong"  # no such code, or already used
    EXPIRED = "expired"


@dataclass(frozen=True)
class RedeemResult:
    """What happened, plus what the answer needs to say."""

    outcome: Redeem
    cooperative: Cooperative | None = None
    locked_until: datetime | None = None
    attempts_left: int = 0


async def lock_state(session: AsyncSession, telegram_id: int, now: datetime) -> RedeemResult | None:
    """A LOCKED result if this user has used up his wrong codes for the hour, else None."""
    count, oldest = await repo.failures_since(session, telegram_id, now - LOCK_WINDOW)
    if count >= MAX_FAILURES and oldest is not None:
        return RedeemResult(Redeem.LOCKED, locked_until=oldest + LOCK_WINDOW)
    return None


async def redeem(
    session: AsyncSession, *, text: str, telegram_id: int, person_id: int, now: datetime
) -> RedeemResult:
    """Check an invite code and, if good, make the user a manager of its cooperative."""
    locked = await lock_state(session, telegram_id, now)
    if locked:
        return locked
    code = normalize_code(text)
    invite = await repo.get_invite(session, code) if code else None
    if invite is not None and invite.used_at is None and invite.expires_at <= now:
        return RedeemResult(Redeem.EXPIRED)
    if invite is None or not await repo.claim_invite(session, invite.id, telegram_id, now):
        await repo.add_failure(session, telegram_id, now)
        await audit(session, "invite_wrong_code", actor=telegram_id)
        count, oldest = await repo.failures_since(session, telegram_id, now - LOCK_WINDOW)
        if count >= MAX_FAILURES and oldest is not None:
            return RedeemResult(Redeem.LOCKED, locked_until=oldest + LOCK_WINDOW)
        return RedeemResult(Redeem.WRONG, attempts_left=MAX_FAILURES - count)
    cooperative = await registry.get_cooperative(session, invite.cooperative_id)
    assert cooperative is not None  # the foreign key guarantees it
    already = {coop.id for coop, _ in await registry.cooperatives_of(session, person_id)}
    if cooperative.id not in already:  # a second code for the same cooperative keeps his position
        await registry.link_manager(
            session, person_id=person_id, cooperative_id=cooperative.id, position=ManagerPosition.LAINNYA
        )
    await audit(session, "registered", actor=telegram_id, subject_type="cooperative",
                subject_id=cooperative.id, via="invite", code=invite.code)
    return RedeemResult(Redeem.REGISTERED, cooperative=cooperative)


async def request_approval(
    session: AsyncSession, *, telegram_id: int, cooperative: Cooperative, position: ManagerPosition
) -> tuple[RegistrationRequest, bool]:
    """File a request to manage a cooperative; (request, False) if one was pending already."""
    existing = await repo.pending_request(session, telegram_id, cooperative.id)
    if existing is not None:
        return existing, False
    request = await repo.add_request(
        session, telegram_id=telegram_id, cooperative_id=cooperative.id, position=position
    )
    await audit(session, "registration_requested", actor=telegram_id, subject_type="cooperative",
                subject_id=cooperative.id, position=str(position))
    return request, True


class Decision(enum.Enum):
    """Outcome of an officer's Setujui/Tolak."""

    APPROVED = "approved"
    REJECTED = "rejected"
    ALREADY_DECIDED = "already_decided"
    NOT_FOUND = "not_found"
    OUT_OF_SCOPE = "out_of_scope"


async def decide(
    session: AsyncSession, *, request_id: int, approve: bool, officer: Identity,
    officer_telegram_id: int, now: datetime,
) -> tuple[Decision, RegistrationRequest | None, Cooperative | None]:
    """Approve or reject a request, checking the officer's scope on the server."""
    request = await repo.get_request(session, request_id)
    if request is None:
        return Decision.NOT_FOUND, None, None
    cooperative = await registry.get_cooperative(session, request.cooperative_id)
    if cooperative is None:
        return Decision.NOT_FOUND, request, None
    if not officer.sees(cooperative.kecamatan_id):
        await audit(session, "access_denied", actor=officer_telegram_id, subject_type="registration_request",
                    subject_id=request_id, reason="out_of_scope")
        return Decision.OUT_OF_SCOPE, request, cooperative
    status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
    if not await repo.decide_request(session, request_id, status, officer_telegram_id, now):
        return Decision.ALREADY_DECIDED, request, cooperative
    if approve:
        person = await people.get_by_telegram_id(session, request.telegram_id)
        assert person is not None  # the applicant wrote to the bot to file the request
        await registry.link_manager(
            session, person_id=person.id, cooperative_id=cooperative.id, position=request.position
        )
    await audit(session, "registration_approved" if approve else "registration_rejected",
                actor=officer_telegram_id, subject_type="registration_request", subject_id=request_id,
                cooperative_id=cooperative.id, applicant=request.telegram_id)
    return (Decision.APPROVED if approve else Decision.REJECTED), request, cooperative
