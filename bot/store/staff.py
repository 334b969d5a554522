"""Staff accounts (argon2-hashed passwords, one role each) and their login sessions (server-side, revocable)."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import List, Optional, Tuple

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from bot.store.base import Base, UTCDateTime
from bot.store.db import as_utc, session_scope

logger = logging.getLogger(__name__)

ROLES = ("reception", "practitioner", "admin")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256  # argon2 would hash a megabyte happily: refuse it before it costs CPU

_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so a wrong email costs as long as a wrong password."""
    return _hasher.hash(secrets.token_urlsafe(16))


class StaffUser(Base):
    __tablename__ = "staff_users"

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    email = sa.Column(sa.String(254), nullable=False, unique=True)  # lower-cased
    password_hash = sa.Column(sa.String(255), nullable=False)
    role = sa.Column(sa.String(16), nullable=False)
    active = sa.Column(sa.Boolean, nullable=False, default=True)
    created_at = sa.Column(UTCDateTime, nullable=False)
    updated_at = sa.Column(UTCDateTime, nullable=False)
    last_login_at = sa.Column(UTCDateTime, nullable=True)

    __table_args__ = (sa.CheckConstraint("role IN ('reception', 'practitioner', 'admin')", name="role"),)


class StaffSession(Base):
    """A login: the cookie holds a random token, the table only its SHA-256, so a database leak logs nobody in."""

    __tablename__ = "staff_sessions"

    token_hash = sa.Column(sa.String(64), primary_key=True)
    staff_id = sa.Column(sa.Integer, sa.ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=False)
    csrf_token = sa.Column(sa.String(64), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False)
    last_seen_at = sa.Column(UTCDateTime, nullable=False)
    expires_at = sa.Column(UTCDateTime, nullable=False)

    __table_args__ = (
        sa.Index("ix_staff_sessions_staff_id", "staff_id"),
        sa.Index("ix_staff_sessions_expires_at", "expires_at"),
    )


@dataclass(frozen=True)
class Staff:
    """A signed-in (or listed) member of staff, as the web app sees them."""

    id: int
    email: str
    role: str
    active: bool = True
    created_at: Optional[datetime] = None
    last_login_at: Optional[datetime] = None


@dataclass(frozen=True)
class SignedIn:
    staff: Staff
    csrf_token: str


class StaffError(ValueError):
    """A staff account could not be made or changed; the message says why (never echoes a password)."""


def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not email or "@" not in email or len(email) > 254 or any(ch.isspace() for ch in email):
        raise StaffError("give an email address like name@clinic.example")
    return email


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise StaffError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise StaffError(f"the password must be at most {MAX_PASSWORD_LENGTH} characters")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise StaffError(f"role must be one of {', '.join(ROLES)}, got {role!r}")


def _staff(row: StaffUser) -> Staff:
    return Staff(row.id, row.email, row.role, bool(row.active), row.created_at, row.last_login_at)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------------------------------ accounts


def add(email: str, password: str, role: str, *, now: Optional[datetime] = None) -> Staff:
    """A new account; an existing email is refused (use set_password / set_role to change one)."""
    now = as_utc(now)
    email = normalise_email(email)
    _check_role(role)
    _check_password(password)
    with session_scope() as session:
        if session.execute(sa.select(StaffUser.id).where(StaffUser.email == email)).first() is not None:
            raise StaffError(f"there is already an account for {email}")
        row = StaffUser(
            email=email, password_hash=_hasher.hash(password), role=role, active=True, created_at=now, updated_at=now
        )
        session.add(row)
        session.flush()
        logger.info("staff account added staff_id=%s role=%s", row.id, role)
        return _staff(row)


def get(staff_id: int) -> Optional[Staff]:
    with session_scope(write=False) as session:
        row = session.get(StaffUser, staff_id)
        return _staff(row) if row is not None else None


def by_email(email: str) -> Optional[Staff]:
    with session_scope(write=False) as session:
        row = session.execute(sa.select(StaffUser).where(StaffUser.email == email.strip().lower())).scalars().first()
        return _staff(row) if row is not None else None


def all_staff() -> List[Staff]:
    with session_scope(write=False) as session:
        rows = session.execute(sa.select(StaffUser).order_by(StaffUser.role, StaffUser.email)).scalars().all()
        return [_staff(r) for r in rows]


def active_emails(role: str) -> List[str]:
    with session_scope(write=False) as session:
        return list(
            session.execute(
                sa.select(StaffUser.email)
                .where(StaffUser.role == role, StaffUser.active.is_(True))
                .order_by(StaffUser.email)
            ).scalars()
        )


def update(
    staff_id: int,
    *,
    role: Optional[str] = None,
    active: Optional[bool] = None,
    password: Optional[str] = None,
    now: Optional[datetime] = None,
) -> Staff:
    """Change a role, (de)activate, or set a new password; deactivating or a new password ends their sessions."""
    now = as_utc(now)
    if role is not None:
        _check_role(role)
    if password is not None:
        _check_password(password)
    with session_scope() as session:
        row = session.get(StaffUser, staff_id)
        if row is None:
            raise StaffError(f"no staff account with id {staff_id}")
        role_changed = role is not None and role != row.role
        if role is not None:
            row.role = role
        if active is not None:
            row.active = active
        if password is not None:
            row.password_hash = _hasher.hash(password)
        if active is False or password is not None or role_changed:
            session.execute(sa.delete(StaffSession).where(StaffSession.staff_id == staff_id))
        row.updated_at = now
        return _staff(row)


def count_active_admins() -> int:
    with session_scope(write=False) as session:
        return int(
            session.execute(
                sa.select(sa.func.count())
                .select_from(StaffUser)
                .where(StaffUser.role == "admin", StaffUser.active.is_(True))
            ).scalar_one()
        )


# ------------------------------------------------------------------------------------------------------ sessions


def authenticate(email: str, password: str, *, now: Optional[datetime] = None) -> Optional[Staff]:
    """The active account with this email and password, else None (same cost whether or not the email exists)."""
    now = as_utc(now)
    email = (email or "").strip().lower()[:254]
    password = (password or "")[:MAX_PASSWORD_LENGTH]
    with session_scope() as session:
        row = session.execute(sa.select(StaffUser).where(StaffUser.email == email)).scalars().first()
        try:
            _hasher.verify(row.password_hash if row is not None else _dummy_hash(), password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None or not row.active:
            return None
        if _hasher.check_needs_rehash(row.password_hash):
            row.password_hash = _hasher.hash(password)
        row.last_login_at = now
        return _staff(row)


def start_session(
    staff: Staff, *, idle_minutes: int, max_hours: int, now: Optional[datetime] = None
) -> Tuple[str, SignedIn]:
    """A new login session; returns the cookie token (shown once, stored hashed) and who signed in."""
    now = as_utc(now)
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    with session_scope() as session:
        session.add(
            StaffSession(
                token_hash=_token_hash(token),
                staff_id=staff.id,
                csrf_token=csrf,
                created_at=now,
                last_seen_at=now,
                expires_at=now + timedelta(hours=max_hours),
            )
        )
        # an old session of this account that ran out is of no use to anyone
        session.execute(sa.delete(StaffSession).where(StaffSession.staff_id == staff.id, StaffSession.expires_at < now))
    return token, SignedIn(staff, csrf)


def resume_session(
    token: str, *, idle_minutes: int, now: Optional[datetime] = None, touch: bool = True
) -> Optional[SignedIn]:
    """Who this cookie token belongs to, if the session is live (not idle too long, not past its end, account
    active); marks it seen unless `touch` is false (a page's own background poll is not the person at work). A dead
    session is deleted."""
    if not token or len(token) > 200:
        return None
    now = as_utc(now)
    key = _token_hash(token)
    with session_scope(write=False) as session:
        found = session.execute(
            sa.select(StaffSession, StaffUser)
            .join(StaffUser, StaffUser.id == StaffSession.staff_id)
            .where(StaffSession.token_hash == key)
        ).first()
    if found is None:
        return None
    row, user = found
    alive = user.active and row.expires_at > now and row.last_seen_at > now - timedelta(minutes=idle_minutes)
    if not alive:
        end_session(token)
        return None
    if touch and now - row.last_seen_at > timedelta(seconds=60):  # write at most once a minute per session
        with session_scope() as session:
            session.execute(sa.update(StaffSession).where(StaffSession.token_hash == key).values(last_seen_at=now))
    return SignedIn(_staff(user), row.csrf_token)


def end_session(token: str) -> None:
    with session_scope() as session:
        session.execute(sa.delete(StaffSession).where(StaffSession.token_hash == _token_hash(token)))
