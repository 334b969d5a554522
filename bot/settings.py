"""The one place that reads settings: environment variables with working defaults, plus the clinic file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, NamedTuple, Optional, Tuple

import yaml

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
VAR_DIR = Path(os.environ.get("VAR_DIR", str(ROOT / "var")))


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable or file."""


@dataclass(frozen=True)
class Clinic:
    name: str
    phone: str
    email: str
    hours: str
    address: str
    privacy_url: str
    booking_url: str
    price_text: str
    urgent_text: str
    reply_within: str

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], source: str) -> Clinic:
        missing = [f for f in cls.__dataclass_fields__ if not str(raw.get(f, "")).strip()]
        if missing:
            raise SettingsError(f"{source}: missing clinic field(s): {', '.join(missing)}")
        return cls(**{f: str(raw[f]).strip() for f in cls.__dataclass_fields__})


class LoginRate(NamedTuple):
    """At most `failures` failed logins per `minutes` per (client address, account), and x4 per client address;
    an account failing from many addresses is slowed down (bot.web.staff.login_backoff), never locked."""

    failures: int
    minutes: int


def _login_rate(env: Mapping[str, str]) -> LoginRate:
    raw = (env.get("STAFF_LOGIN_RATE") or "5/15m").strip().lower()
    try:
        count, _, window = raw.partition("/")
        minutes = int(window[:-1]) if window.endswith("m") else int(window)
        rate = LoginRate(int(count), minutes)
    except ValueError:
        raise SettingsError(f"STAFF_LOGIN_RATE must look like 5/15m (failures per minutes), got {raw!r}") from None
    if rate.failures <= 0 or rate.minutes <= 0:
        raise SettingsError(f"STAFF_LOGIN_RATE must be positive, got {raw!r}")
    return rate


def _trusted_proxies(env: Mapping[str, str]) -> Tuple[str, ...]:
    """TRUSTED_PROXIES: comma-separated IP addresses or networks (10.0.0.0/8) of the reverse proxies in front."""
    import ipaddress

    found = []
    for item in (env.get("TRUSTED_PROXIES") or "").split(","):
        item = item.strip()
        if not item:
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise SettingsError(f"TRUSTED_PROXIES must list IP addresses or networks, got {item!r}") from None
        found.append(str(ipaddress.ip_network(item, strict=False)) if "/" in item else item)
    return tuple(found)


def _kept_secret(env: Mapping[str, str], name: str, file_name: str, minimum: int) -> str:
    """The variable `name`, else a random secret made once and kept in var/FILE_NAME (mode 0600)."""
    given = env.get(name)
    if given:
        if len(given) < minimum:
            raise SettingsError(f"{name} must be at least {minimum} characters")
        return given
    path = VAR_DIR / file_name
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    import secrets

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text(encoding="utf-8").strip()
    value = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value)
    return value


class ChatRate(NamedTuple):
    """A token bucket: `burst` messages at once, refilled at burst/seconds a second."""

    burst: int
    seconds: float


def _chat_rate(env: Mapping[str, str], name: str, default: str) -> ChatRate:
    raw = (env.get(name) or default).strip().lower()
    try:
        count, _, window = raw.partition("/")
        scale = 60.0 if window.endswith("m") else 1.0
        rate = ChatRate(int(count), float(window.rstrip("sm")) * scale)
    except ValueError:
        raise SettingsError(f"{name} must look like {default} (messages per seconds), got {raw!r}") from None
    if rate.burst <= 0 or rate.seconds <= 0:
        raise SettingsError(f"{name} must be positive, got {raw!r}")
    return rate


def _notify_details(env: Mapping[str, str]) -> str:
    value = (env.get("NOTIFY_DETAILS") or "link").strip().lower()
    if value not in ("link", "summary"):
        raise SettingsError(f"NOTIFY_DETAILS must be 'link' or 'summary', got {value!r}")
    return value


@dataclass(frozen=True)
class Settings:
    database_url: str
    rasa_token: str
    smtp_url: Optional[str]
    rasa_port: int
    actions_port: int
    web_port: int
    abandon_after_minutes: int
    clinic_file: Path
    rules_file: Path
    lexicon_dir: Path
    spacy_model_dir: Path
    public_base_url: str
    rasa_host: str = "127.0.0.1"  # the interface Rasa listens on: loopback, browsers reach the web app's proxy
    chat_origins: Tuple[str, ...] = ()
    # staff web app
    web_secret: str = ""  # signs the login form's CSRF token; unset: a random one kept in var/web-secret
    staff_login_rate: LoginRate = LoginRate(5, 15)  # failed logins allowed per window
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    cookie_secure: bool = False  # Secure cookies when PUBLIC_BASE_URL is https
    # addresses of reverse proxies whose X-Forwarded-For/-Proto are believed (none: the TCP peer is the client)
    trusted_proxies: Tuple[str, ...] = ()
    # notifications
    notify_to: Tuple[str, ...] = ()  # unset: every active practitioner, else the clinic's email
    mail_from: str = ""  # unset: the clinic's email
    notify_details: str = "link"  # "link": no health details in emails; "summary": outcome and reason codes too
    outbox_max_attempts: int = 8
    # new-referral notices queued within this many seconds go out as one digest email per recipient (0: at once)
    notify_digest_seconds: int = 120
    # conversations that never gave consent (declined or left) are deleted, with their transcript, after this long
    consentless_purge_hours: int = 24
    time_zone: str = "Europe/London"  # staff pages show times and read dates in the clinic's zone
    # chat channel
    chat_key: str = ""  # signs each conversation id the server issues; unset: a random one kept in var/chat-key
    chat_rate_conversation: ChatRate = ChatRate(10, 10.0)  # messages per conversation: burst, refilled over seconds
    chat_rate_address: ChatRate = ChatRate(15, 3.0)  # chat requests per client address
    # live hand-off: minutes a client waits for a practitioner (within opening hours) before being offered a call back
    live_wait_minutes: float = 5.0

    @property
    def clinic(self) -> Clinic:
        return load_clinic(self.clinic_file)


def _int(env: Mapping[str, str], name: str, default: int, *, zero_allowed: bool = False) -> int:
    """A positive whole number (or 0 too, with zero_allowed) from the environment, else the default."""
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from exc
    if zero_allowed and value < 0:
        raise SettingsError(f"{name} must not be negative, got {value}")
    if not zero_allowed and value <= 0:
        raise SettingsError(f"{name} must be positive, got {value}")
    return value


def _minutes(env: Mapping[str, str], name: str, default: float) -> float:
    """A positive number of minutes, fractions allowed (0.5 is 30 seconds), from the environment, else the default."""
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number of minutes, got {raw!r}") from exc
    if not value > 0 or value != value or value == float("inf"):
        raise SettingsError(f"{name} must be a positive number of minutes, got {raw!r}")
    return value


def default_database_url() -> str:
    return f"sqlite:///{VAR_DIR / 'clinic.db'}"


def from_env(env: Optional[Mapping[str, str]] = None) -> Settings:
    env = os.environ if env is None else env
    web_port = _int(env, "WEB_PORT", 8000)
    rasa_port = _int(env, "RASA_PORT", 5005)
    return Settings(
        database_url=env.get("DATABASE_URL") or default_database_url(),
        # Signs the JWTs of callers of Rasa's HTTP API; unset: a random one made once and kept in var/rasa-token.
        rasa_token=_kept_secret(env, "RASA_TOKEN", "rasa-token", 1),
        smtp_url=env.get("SMTP_URL") or None,
        rasa_port=rasa_port,
        actions_port=_int(env, "ACTIONS_PORT", 5055),
        web_port=web_port,
        abandon_after_minutes=_int(env, "ABANDON_AFTER_MINUTES", 60),
        clinic_file=Path(env.get("CLINIC_FILE") or DATA_DIR / "clinic.yml"),
        rules_file=Path(env.get("RULES_FILE") or DATA_DIR / "screening" / "rules.yml"),
        lexicon_dir=Path(env.get("LEXICON_DIR") or DATA_DIR / "lexicon"),
        spacy_model_dir=Path(env.get("SPACY_MODEL_DIR") or ROOT / "models" / "spacy-clinic"),
        public_base_url=env.get("PUBLIC_BASE_URL") or f"http://localhost:{web_port}",
        rasa_host=(env.get("RASA_HOST") or "127.0.0.1").strip(),
        # Websites allowed to embed the chat (CORS on the web app's chat endpoints), besides its own origin.
        chat_origins=tuple(o.strip().rstrip("/") for o in (env.get("CHAT_ORIGINS") or "").split(",") if o.strip()),
        # Signs the login form's CSRF token; unset: a random one made once and kept in var/web-secret.
        web_secret=_kept_secret(env, "WEB_SECRET", "web-secret", 16),
        staff_login_rate=_login_rate(env),
        session_idle_minutes=_int(env, "STAFF_SESSION_IDLE_MINUTES", 30),
        session_max_hours=_int(env, "STAFF_SESSION_MAX_HOURS", 12),
        cookie_secure=(env.get("PUBLIC_BASE_URL") or "").startswith("https://"),
        trusted_proxies=_trusted_proxies(env),
        notify_to=tuple(a.strip() for a in (env.get("NOTIFY_TO") or "").split(",") if a.strip()),
        mail_from=(env.get("MAIL_FROM") or "").strip(),
        notify_details=_notify_details(env),
        outbox_max_attempts=_int(env, "OUTBOX_MAX_ATTEMPTS", 8),
        notify_digest_seconds=_int(env, "NOTIFY_DIGEST_SECONDS", 120, zero_allowed=True),
        consentless_purge_hours=_int(env, "CONSENTLESS_PURGE_HOURS", 24),
        time_zone=(env.get("CLINIC_TIMEZONE") or "Europe/London").strip(),
        chat_key=_kept_secret(env, "CHAT_KEY", "chat-key", 32),
        chat_rate_conversation=_chat_rate(env, "CHAT_RATE_CONVERSATION", "10/10s"),
        chat_rate_address=_chat_rate(env, "CHAT_RATE_ADDRESS", "15/3s"),
        live_wait_minutes=_minutes(env, "LIVE_WAIT_MINUTES", 5.0),
    )


@lru_cache(maxsize=8)
def load_clinic(path: Path) -> Clinic:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise SettingsError(f"clinic settings file not found: {path} (set CLINIC_FILE)") from exc
    if not isinstance(raw, dict):
        raise SettingsError(f"{path}: expected a mapping of clinic fields")
    return Clinic.from_mapping(raw, str(path))


# Every environment variable from_env reads (tests/test_settings.py checks the list is complete), and the files
# kept in VAR_DIR it reads when their variable is unset.
ENV_NAMES: Tuple[str, ...] = (
    "DATABASE_URL",
    "RASA_TOKEN",
    "SMTP_URL",
    "RASA_PORT",
    "ACTIONS_PORT",
    "WEB_PORT",
    "ABANDON_AFTER_MINUTES",
    "CLINIC_FILE",
    "RULES_FILE",
    "LEXICON_DIR",
    "SPACY_MODEL_DIR",
    "PUBLIC_BASE_URL",
    "RASA_HOST",
    "CHAT_ORIGINS",
    "WEB_SECRET",
    "STAFF_LOGIN_RATE",
    "STAFF_SESSION_IDLE_MINUTES",
    "STAFF_SESSION_MAX_HOURS",
    "TRUSTED_PROXIES",
    "NOTIFY_TO",
    "MAIL_FROM",
    "NOTIFY_DETAILS",
    "OUTBOX_MAX_ATTEMPTS",
    "NOTIFY_DIGEST_SECONDS",
    "CONSENTLESS_PURGE_HOURS",
    "CLINIC_TIMEZONE",
    "CHAT_KEY",
    "CHAT_RATE_CONVERSATION",
    "CHAT_RATE_ADDRESS",
    "LIVE_WAIT_MINUTES",
)
_KEPT_FILES: Tuple[Tuple[int, str], ...] = tuple(
    (ENV_NAMES.index(name), file_name)
    for name, file_name in (("RASA_TOKEN", "rasa-token"), ("WEB_SECRET", "web-secret"), ("CHAT_KEY", "chat-key"))
)

_cached: Optional[Tuple[Any, Settings]] = None


def _kept_file_state(path: str) -> Optional[Tuple[int, int, int]]:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_mtime_ns, info.st_ino, info.st_size


def _env_values() -> Tuple[Optional[Any], ...]:
    """The values of ENV_NAMES in os.environ. os.environ.get raises and catches a KeyError for every unset name
    (most of them: 40 us for the lot); CPython's os.environ keeps its contents in `_data` under `encodekey(name)`,
    read directly here (1 us) when it has them, and through the public API otherwise."""
    environ = os.environ
    data = getattr(environ, "_data", None)
    encode = getattr(environ, "encodekey", None)
    if isinstance(data, dict) and encode is not None:
        global _encoded_names
        encoded = _encoded_names
        if encoded[0] is not encode:
            encoded = _encoded_names = (encode, tuple(map(encode, ENV_NAMES)))
        return tuple(map(data.get, encoded[1]))
    return tuple(map(environ.get, ENV_NAMES))


_encoded_names: Tuple[Any, Tuple[Any, ...]] = (None, ())  # (os.environ.encodekey, ENV_NAMES encoded with it)


def _snapshot() -> Tuple[Any, ...]:
    """What from_env() would read: the variables, VAR_DIR, and each kept secret file it would read (its state)."""
    global _kept_paths
    values = _env_values()
    var_dir = str(VAR_DIR)
    kept = _kept_paths
    if kept[0] != var_dir:
        kept = _kept_paths = (var_dir, tuple((index, os.path.join(var_dir, name)) for index, name in _KEPT_FILES))
    files = tuple(None if values[index] else _kept_file_state(path) for index, path in kept[1])
    return values, var_dir, files


_kept_paths: Tuple[Any, Tuple[Tuple[int, str], ...]] = (None, ())  # (VAR_DIR, the kept files' paths in it)


def get() -> Settings:
    """The settings from the environment, built once: built again only when a variable it reads, VAR_DIR or a kept
    secret file it reads changes (tests change the environment between calls; a process normally never does)."""
    global _cached
    key = _snapshot()
    cached = _cached
    if cached is not None and cached[0] == key:
        return cached[1]
    built = from_env()
    _cached = (_snapshot(), built)  # after: from_env may have just made a kept secret file
    return built


def reset() -> None:
    """Forget the settings built by get() (the next call builds them again)."""
    global _cached
    _cached = None
