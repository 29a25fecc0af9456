"""Configuration classes, read from the environment (Dev, Test, Production)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

BASE_DIR = Path(__file__).resolve().parent
DEFAULT_SECRET = "dev-only-not-secret"  # noqa: S105 - refused by ProductionConfig


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET)
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'medcover.db'}")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    #: a database that does not answer fails the request fast (503) instead of holding a web worker
    DATABASE_CONNECT_TIMEOUT = _int("DATABASE_CONNECT_TIMEOUT", 5)
    DATABASE_STATEMENT_TIMEOUT_MS = _int("DATABASE_STATEMENT_TIMEOUT_MS", 30_000)
    DATABASE_POOL_TIMEOUT = _int("DATABASE_POOL_TIMEOUT", 5)
    #: how long a process keeps the hospitals' and insurers' names before reading them again (medcover.memo)
    DIRECTORY_SECONDS = _int("DIRECTORY_SECONDS", 30)
    REDIS_URL = os.environ.get("REDIS_URL") or None
    #: Redis for rate limits; falls back to in-process memory when there is no Redis.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or REDIS_URL or "memory://"
    RATELIMIT_API = os.environ.get("RATELIMIT_API", "300 per minute")
    RATELIMIT_LOGIN = os.environ.get("RATELIMIT_LOGIN", "20 per minute")
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    #: with Redis down, rate limits lapse instead of every limited page answering 500;
    #: the login throttle in the database still guards sign-in
    RATELIMIT_SWALLOW_ERRORS = _bool("RATELIMIT_SWALLOW_ERRORS", True)
    CORS_ORIGINS = _list("CORS_ORIGINS")

    # Staff sessions (server-side rows in user_sessions).
    SESSION_IDLE_TIMEOUT = timedelta(minutes=_int("SESSION_IDLE_MINUTES", 15))
    SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=_int("SESSION_ABSOLUTE_HOURS", 12))
    SESSION_COOKIE_NAME = "medcover_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)

    # Login throttling: after LOGIN_SLOWDOWN_AFTER failures each try waits longer; after
    # LOGIN_LOCK_AFTER failures the account (or the address) is locked for LOGIN_LOCK_MINUTES.
    LOGIN_SLOWDOWN_AFTER = _int("LOGIN_SLOWDOWN_AFTER", 3)
    LOGIN_LOCK_AFTER = _int("LOGIN_LOCK_AFTER", 8)
    LOGIN_LOCK_MINUTES = _int("LOGIN_LOCK_MINUTES", 15)
    LOGIN_ADDRESS_LOCK_AFTER = _int("LOGIN_ADDRESS_LOCK_AFTER", 30)
    PASSWORD_RESET_MINUTES = _int("PASSWORD_RESET_MINUTES", 30)
    PASSWORD_MIN_LENGTH = _int("PASSWORD_MIN_LENGTH", 10)

    # API tokens.
    JWT_ACCESS_MINUTES = _int("JWT_ACCESS_MINUTES", 15)
    JWT_REFRESH_DAYS = _int("JWT_REFRESH_DAYS", 14)

    # OAuth 2.0 client credentials (core/services/oauth_clients.py): access token lifetime in minutes.
    OAUTH_TOKEN_MINUTES = _int("OAUTH_TOKEN_MINUTES", 60)
    # Signed webhooks (notification/webhooks): attempts before a delivery is dead-lettered, the first retry's
    # wait (doubling each time), the receiver's timeout, how long a rotated-out secret still signs, and whether
    # targets on private, loopback or link-local addresses are allowed (never in production).
    WEBHOOK_MAX_ATTEMPTS = _int("WEBHOOK_MAX_ATTEMPTS", 6)
    WEBHOOK_RETRY_BASE_SECONDS = _int("WEBHOOK_RETRY_BASE_SECONDS", 30)
    WEBHOOK_TIMEOUT_SECONDS = _int("WEBHOOK_TIMEOUT_SECONDS", 10)
    WEBHOOK_SECRET_GRACE_HOURS = _int("WEBHOOK_SECRET_GRACE_HOURS", 24)
    WEBHOOK_ALLOW_PRIVATE = _bool("WEBHOOK_ALLOW_PRIVATE", False)

    # Outgoing mail: smtp, or file (one .eml per message in MAIL_FILE_DIR, for development).
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "file")
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = _int("MAIL_PORT", 25)
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "MedCover <no-reply@medcover.local>")
    MAIL_FILE_DIR = os.environ.get("MAIL_FILE_DIR", str(BASE_DIR / "instance" / "mail"))

    # SMS: "log" (development: nothing leaves) or "http" (a JSON gateway at SMS_HTTP_URL).
    SMS_BACKEND = os.environ.get("SMS_BACKEND", "log")
    SMS_HTTP_URL = os.environ.get("SMS_HTTP_URL") or None
    SMS_HTTP_TOKEN = os.environ.get("SMS_HTTP_TOKEN") or None
    SMS_SENDER = os.environ.get("SMS_SENDER", "MedCover")
    #: shared secret the SMS gateway sends with delivery receipts
    SMS_WEBHOOK_TOKEN = os.environ.get("SMS_WEBHOOK_TOKEN") or None
    NOTIFY_MAX_ATTEMPTS = _int("NOTIFY_MAX_ATTEMPTS", 5)
    #: first retry after this many seconds, doubling each time
    NOTIFY_RETRY_BASE_SECONDS = _int("NOTIFY_RETRY_BASE_SECONDS", 30)

    # Requested work (medcover.requested_work): a request whose job has not started after this many seconds is
    # sent again by the sweep; a running one whose worker gave no sign of life for the lease is interrupted and
    # sent again. The sweeps (requested work, notifications, the outbox) run every SWEEP_SECONDS when set.
    REQUESTED_WORK_RESEND_AFTER = _int("REQUESTED_WORK_RESEND_AFTER", 120)
    REQUESTED_WORK_LEASE = _int("REQUESTED_WORK_LEASE", 300)
    REQUESTED_WORK_MAX_ATTEMPTS = _int("REQUESTED_WORK_MAX_ATTEMPTS", 5)
    SWEEP_SECONDS = _int("SWEEP_SECONDS", 0)
    #: a notification still queued after this many seconds (its job lost) is queued again by the sweep
    NOTIFY_REQUEUE_AFTER = _int("NOTIFY_REQUEUE_AFTER", 120)
    #: a notification "sending" for longer than this lost its worker: it may have gone out, a person checks
    NOTIFY_SENDING_LEASE = _int("NOTIFY_SENDING_LEASE", 600)
    #: notifications one delivery job sends over one connection, recording their states in a few statements
    NOTIFY_BATCH_SIZE = _int("NOTIFY_BATCH_SIZE", 100)
    #: a batch is handed over in this many parts, each part's outcomes recorded as the next one starts: a worker
    #: lost mid-batch leaves at most one part (NOTIFY_BATCH_SIZE / NOTIFY_HANDOVER_PARTS) "may have been sent: check"
    NOTIFY_HANDOVER_PARTS = _int("NOTIFY_HANDOVER_PARTS", 4)
    # Workers and the scheduler wait for Redis with backoff up to this many seconds between tries.
    REDIS_RECONNECT_MAX_SECONDS = _int("REDIS_RECONNECT_MAX_SECONDS", 30)

    # Absolute base for links in emails (password reset); request host when unset.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL") or None
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(BASE_DIR / "instance" / "uploads"))
    #: where batch prints (their progress and PDF) go; web and workers must share it. Unset: instance/prints
    PRINT_DIR = os.environ.get("PRINT_DIR") or None
    #: processes a batch print lays its invoices out on (medcover.pdf_pool); 0: one per core
    PRINT_WORKERS = _int("PRINT_WORKERS", 0)
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 10 * 1024 * 1024)
    #: largest JSON body the API reads (uploads, multipart, keep MAX_CONTENT_LENGTH)
    API_MAX_JSON_BYTES = _int("API_MAX_JSON_BYTES", 1024 * 1024)
    #: largest medical-record attachment accepted (PDF, PNG or JPEG)
    ATTACHMENT_MAX_BYTES = _int("ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024)
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    LOG_JSON = _bool("LOG_JSON", True)
    WTF_CSRF_TIME_LIMIT = None  # the session's own lifetime bounds the token
    PREFERRED_URL_SCHEME = os.environ.get("PREFERRED_URL_SCHEME", "http")
    #: reverse proxies in front of gunicorn whose X-Forwarded-For/-Proto are believed; 0 when clients connect
    #: directly. Behind a load balancer, leaving it 0 makes every client one address to rate limits and lockout.
    TRUSTED_PROXY_COUNT = _int("TRUSTED_PROXY_COUNT", 0)
    PER_PAGE = 50
    #: the site's time zone (IANA name): business dates ("today", due dates, aging, appointment days) and every
    #: time shown or typed on a page; stored instants stay UTC. Production must set it; elsewhere the demo's zone.
    MEDCOVER_TIMEZONE = os.environ.get("MEDCOVER_TIMEZONE") or "Africa/Nairobi"

    # Operating it (README "Operating MedCover"). /metrics answers a bearer METRICS_TOKEN or an address inside
    # METRICS_ALLOW (comma-separated CIDRs); with neither set it answers nobody.
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN") or None
    METRICS_ALLOW = _list("METRICS_ALLOW")
    #: traces go to this OTLP/HTTP collector (e.g. http://otel-collector:4318); unset: no tracing at all
    OTEL_EXPORTER_OTLP_ENDPOINT = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None
    OTEL_SERVICE_NAME = os.environ.get("OTEL_SERVICE_NAME", "medcover")
    #: errors go to Sentry (scrubbed of patient data) when set
    SENTRY_DSN = os.environ.get("SENTRY_DSN") or None
    SENTRY_ENVIRONMENT = os.environ.get("SENTRY_ENVIRONMENT") or None
    SENTRY_TRACES_SAMPLE_RATE = float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE") or 0)
    #: web push to staff who opt in; all three set, or push is off
    VAPID_PRIVATE_KEY = os.environ.get("VAPID_PRIVATE_KEY") or None
    VAPID_PUBLIC_KEY = os.environ.get("VAPID_PUBLIC_KEY") or None
    VAPID_SUBJECT = os.environ.get("VAPID_SUBJECT") or None


class DevelopmentConfig(Config):
    DEBUG = False  # the Werkzeug debugger stays off: it executes code for whoever reaches it
    LOG_JSON = _bool("LOG_JSON", False)


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key-of-at-least-32-bytes!"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    # Jobs run inline in the in-process suite: each test's data lives in a transaction that a worker
    # process could never see. The real RQ worker is exercised by tests/platform against TEST_REDIS_URL.
    REDIS_URL = None
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_ENABLED = False
    MAIL_BACKEND = "memory"
    PASSWORD_HASHING = "fast"  # noqa: S105 - a profile name: argon2id with cheap parameters for the suite
    LOG_JSON = True
    SERVER_NAME = None
    # Batch prints lay out in the test's own process unless a test asks for the pool (it starts processes).
    PRINT_WORKERS = _int("PRINT_WORKERS", 1)


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    PREFERRED_URL_SCHEME = "https"
    MEDCOVER_TIMEZONE = os.environ.get("MEDCOVER_TIMEZONE") or None

    @classmethod
    def check(cls) -> None:
        """Refuse to start with settings that are only fit for a laptop."""
        if cls.SECRET_KEY in (None, "", DEFAULT_SECRET) or len(cls.SECRET_KEY) < 32:
            raise RuntimeError("Production needs SECRET_KEY set to 32 or more random characters.")
        if cls.SQLALCHEMY_DATABASE_URI.startswith("sqlite"):
            raise RuntimeError("Production needs DATABASE_URL pointing at PostgreSQL, not SQLite.")
        if not cls.MEDCOVER_TIMEZONE:
            raise RuntimeError("Production needs MEDCOVER_TIMEZONE, the site's IANA time zone (e.g. Africa/Nairobi).")
        try:
            ZoneInfo(cls.MEDCOVER_TIMEZONE)
        except (ZoneInfoNotFoundError, ValueError):
            raise RuntimeError(f"MEDCOVER_TIMEZONE {cls.MEDCOVER_TIMEZONE!r} is not an IANA time zone name.") from None


CONFIGS = {
    "development": DevelopmentConfig,
    "test": TestConfig,
    "production": ProductionConfig,
}


def config_for(name: str | None = None) -> type[Config]:
    name = name or os.environ.get("MEDCOVER_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"Unknown MEDCOVER_ENV {name!r}; use one of {sorted(CONFIGS)}") from None
