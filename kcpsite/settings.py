"""Settings, read from environment variables (django-environ).

Configuration table (also in README.md):

KCP_DATA_DIR      where run-time data lives (embedded PostgreSQL, TLS material, kubeconfig); `.kcp`
DATABASE_URL      PostgreSQL URL; unset: the embedded server's URL recorded in $KCP_DATA_DIR
REDIS_URL         broker and channel layer when set; otherwise a filesystem broker in $KCP_DATA_DIR
KCP_EXTERNAL_URL  URL clients reach the server at (used in URLs the API hands out)
KCP_SHARD_NAME    this shard's name (its Shard object in root; default root; only `root` creates root)
KCP_BASE_URL      URL this shard serves at, for the front proxy (default KCP_EXTERNAL_URL)
KCP_VIRTUAL_WORKSPACES_URL  where clients reach this shard's virtual workspaces (its Shard's
                  virtualWorkspaceURL; endpoint slices list it); default KCP_EXTERNAL_URL, or
                  `<KCP_EXTERNAL_URL>/shards/<KCP_SHARD_NAME>` behind the front proxy
KCP_CA_FILE       the CA of the shards' certificates, to verify one shard calling another
                  (default <KCP_DATA_DIR>/tls/ca.crt; the launcher sets it)
KCP_SHARD_LABELS  this shard's labels, `region=eu,tier=gold` (kcp's --shard-labels; placement selectors)
KCP_GLOBAL_DATABASE_URL  PostgreSQL URL of the global database (identities); unset: the shard's own
KCP_GLOBAL_DB_TIMEOUT    seconds a request waits for a global-database connection (default 5)
KCP_CACHE_PUBLISHER_URL  this shard's database as the global database's server reaches it (the
                  cache's subscription; shards.cache); unset: the shard's own connection settings
KCP_SECRET_KEY    Django secret key; generated once into $KCP_DATA_DIR when unset
KCP_DEBUG         Django debug mode (default off)
KCP_WATCH_DEFAULT_TIMEOUT  seconds a watch without timeoutSeconds stays open (default 1800)
KCP_EVENT_RETENTION        seconds of event-log history kept for watches and continue tokens (default 600)
KCP_TENANT_QPS / KCP_TENANT_BURST  per-tenant request rate and burst per serving process (100, 300)
KCP_TENANT_CONCURRENCY / KCP_TENANT_WRITE_SEATS / KCP_TENANT_QUEUE / KCP_TENANT_WATCHES
                  per-tenant seats in flight, seats a write takes, requests waiting, open watches
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import environ

from kcpsite.dbpool import check_pooled_connection

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

DATA_DIR = Path(env.str("KCP_DATA_DIR", default=str(BASE_DIR / ".kcp"))).resolve()


def _secret_key() -> str:
    if key := env.str("KCP_SECRET_KEY", default=""):
        return key
    path = DATA_DIR / "secret-key"
    if path.exists():
        return path.read_text().strip()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    path.write_text(key)
    os.chmod(path, 0o600)
    return key


def _database_url() -> str:
    if url := env.str("DATABASE_URL", default=""):
        return url
    # No database configured: the embedded server of the data dir, started if it is not running
    # (tests, manage.py; the launcher's children get DATABASE_URL).
    from kcpsite.embedded import embedded_database_url

    return embedded_database_url(DATA_DIR)


SECRET_KEY = _secret_key()
DEBUG = env.bool("KCP_DEBUG", default=False)
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "channels",
    "guardian",
    "kube.apps.KubeConfig",
    "workspaces.apps.WorkspacesConfig",
    "apis.apps.ApisConfig",
    "shards.apps.ShardsConfig",
    "portal.apps.PortalConfig",
    "frontproxy.apps.FrontProxyConfig",  # sharded mode's front proxy: config generation, route syncer; no models
    "kcpsite",  # the project's own management commands (kcp_bootstrap); no models
]

MIDDLEWARE = [
    "kube.endpoints.middleware.RefuseNulMiddleware",  # before anything hands a NUL to PostgreSQL
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "kcpsite.middleware.PortalMiddleware",  # PORTAL_MIDDLEWARE below, for everything but the API
]
# Sessions, CSRF, login and messages serve the portal and /admin/ only: kcpsite.middleware runs
# them as one inner chain for every path outside the Kubernetes API's URL space (/api, /apis,
# /openapi, /version, health, /clusters/..., /services/...), whose clients authenticate with bearer
# tokens and never send a session cookie.
PORTAL_MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
# The admin's checks look for these four in MIDDLEWARE itself; they run for /admin/ through
# PortalMiddleware (tests/kcpsite/test_portal_middleware.py signs in to the admin).
SILENCED_SYSTEM_CHECKS = ["admin.E408", "admin.E409", "admin.E410"]

ROOT_URLCONF = "kcpsite.urls"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],  # every template belongs to an app (portal/templates, the admin's own)
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
            ],
        },
    },
]

ASGI_APPLICATION = "kcpsite.asgi.application"
WSGI_APPLICATION = None

def _database(url: str, *, pool_timeout: float = 30) -> dict[str, Any]:
    """One DATABASES entry from a PostgreSQL URL, with the pool and statement options below (the
    shard's database and the global one are configured alike but for `pool_timeout`: how long a
    request waits for a connection before it fails)."""
    db = env.db_url_config(url)
    # A unix-socket host arrives percent-encoded (postgres://user@%2Fpath%2Fto%2Fsocket:5432/db).
    db["HOST"] = unquote(str(db.get("HOST") or ""))
    # A bounded psycopg pool per process instead of persistent per-thread connections: request
    # threads, the watch consumers' database calls and the Celery worker all take a connection per
    # unit of work and give it back, so a process never holds more than the pool's size
    # (CONN_MAX_AGE > 0 kept one open connection per thread that ever ran a request: "too many
    # clients" under Django's ASGI handler, which started a thread per request).
    # KCP_DB_POOL_SIZE=0 turns pooling off (a connection per request, closed after it).
    db["CONN_MAX_AGE"] = 0
    if _pool_size > 0:
        db["OPTIONS"] = {
            **db.get("OPTIONS", {}),
            # check: a connection is tested when it is taken from the pool; one that fails drains
            # the pool, so connections a database restart killed are all replaced at once instead
            # of failing or delaying requests one by one (kcpsite.dbpool).
            "pool": {"min_size": 1, "max_size": _pool_size, "timeout": pool_timeout, "check": check_pooled_connection},
        }
    # Parameters travel separately from the statement (server-side binding) instead of being quoted
    # into its text by Python, and a statement a connection has run twice is prepared: its parse
    # and plan are done once per pooled connection. Together about a tenth of the serving process's
    # CPU and two fifths of PostgreSQL's per API write (bench/README). Behind a pooler that cannot
    # keep prepared statements (PgBouncer before 1.21 in transaction mode),
    # KCP_DB_PREPARE_THRESHOLD=0.
    db.setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=_prepare_threshold if _prepare_threshold > 0 else None
    )
    return db


_pool_size = env.int("KCP_DB_POOL_SIZE", default=16)
_prepare_threshold = env.int("KCP_DB_PREPARE_THRESHOLD", default=2)
DATABASES = {"default": _database(_database_url())}
# The global database (identities: users, groups, hashed tokens, sessions, the portal's membership
# index; kcpsite.dbrouter lists every model and why). Unset (one shard): no second alias, the
# router puts the global models in the shard's own database and nothing changes.
# Its pool gives up sooner than the shard's: every bearer-token request looks its token up there
# (kube.authz.tokens caches for seconds), so while it is unreachable a request would otherwise hold
# one of the few request threads for 30 s before its 503, and starve requests that need only the
# shard (ServiceAccount tokens). KCP_GLOBAL_DB_TIMEOUT seconds, default 5.
if _global_url := env.str("KCP_GLOBAL_DATABASE_URL", default=""):
    DATABASES["global"] = _database(_global_url, pool_timeout=env.float("KCP_GLOBAL_DB_TIMEOUT", default=5.0))
DATABASE_ROUTERS = ["kcpsite.dbrouter.GlobalRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Threads per serving process running Django's request cycle (kcpsite.asgi_handler); requests beyond
# this many wait for a thread. Few, because request handling is CPU-bound Python: more threads add
# no throughput under one GIL, only contention with the event loop that moves the bytes (bench,
# 32 concurrent writers on 2 CPUs: p99 ~100 ms with 4 threads, ~300 ms with 16). Scale with
# KCP_SERVERS (processes) instead.
KCP_REQUEST_THREADS = env.int("KCP_REQUEST_THREADS", default=4)

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
    "portal.backends.TokenBackend",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
STATIC_URL = "/static/"

# Portal (the `portal` app): session login at /login; the server always speaks HTTPS.
LOGIN_URL = "/login"
LOGIN_REDIRECT_URL = "/workspaces/"
SESSION_COOKIE_SECURE = env.bool("KCP_SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_AGE = 12 * 3600

# The Kubernetes API limits (reference/kube-clients.md §7): bodies over 3 MiB → 413, objects over 1.5 MiB → 422.
KUBE_MAX_REQUEST_BYTES = 3 * 1024 * 1024
KUBE_MAX_OBJECT_BYTES = 3 * 512 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = KUBE_MAX_REQUEST_BYTES + 1024
KUBE_WATCH_DEFAULT_TIMEOUT = env.int("KCP_WATCH_DEFAULT_TIMEOUT", default=1800)
KUBE_EVENT_RETENTION_SECONDS = env.int("KCP_EVENT_RETENTION", default=600)
KUBE_WATCH_QUEUE_SIZE = env.int("KCP_WATCH_QUEUE_SIZE", default=10000)
# Per tenant (a logical cluster, or a virtual workspace) and serving process: requests a second and
# burst before 429 + Retry-After (kube/endpoints/fairness.py). kubectl's own client-side limit is
# 50/s with bursts of 300; KCP_TENANT_QPS=0 turns the limit off.
KUBE_TENANT_QPS = env.float("KCP_TENANT_QPS", default=100.0)
KUBE_TENANT_BURST = env.int("KCP_TENANT_BURST", default=300)
# Per tenant and serving process: seats for requests in flight, how many of them a write takes
# (two: with two seats a tenant runs two reads or one write at a time), how many more requests may
# wait for a seat, and open watches; 0 turns each off. The default leaves a tenant at most half the
# request threads, so one tenant cannot occupy them all (kube/endpoints/fairness.py, bench/README).
KUBE_TENANT_CONCURRENCY = env.int("KCP_TENANT_CONCURRENCY", default=max(1, KCP_REQUEST_THREADS // 2))
KUBE_TENANT_WRITE_SEATS = env.int("KCP_TENANT_WRITE_SEATS", default=2)
KUBE_TENANT_QUEUE = env.int("KCP_TENANT_QUEUE", default=16)
KUBE_TENANT_WATCHES = env.int("KCP_TENANT_WATCHES", default=1000)
KCP_EXTERNAL_URL = env.str("KCP_EXTERNAL_URL", default="https://127.0.0.1:" + env.str("KCP_PORT", default="6443"))
KCP_SHARD_NAME = env.str("KCP_SHARD_NAME", default="root")
# The URL this shard itself serves at (its Shard's baseURL: what the front proxy connects to);
# KCP_EXTERNAL_URL is what clients use (the proxy's URL in sharded mode). One shard: the same.
KCP_BASE_URL = env.str("KCP_BASE_URL", default=KCP_EXTERNAL_URL)
# Behind the front proxy (its URL differs from this shard's own), a shard's virtual workspaces are
# reached through the proxy's `/shards/<name>/` prefix (frontproxy.config): a provider's wildcard
# view is per shard, so each shard needs a URL of its own there.
KCP_VIRTUAL_WORKSPACES_URL = env.str(
    "KCP_VIRTUAL_WORKSPACES_URL",
    default=KCP_EXTERNAL_URL if KCP_BASE_URL == KCP_EXTERNAL_URL else f"{KCP_EXTERNAL_URL}/shards/{KCP_SHARD_NAME}",
)
KCP_SHARD_LABELS = env.str("KCP_SHARD_LABELS", default="")
# This shard's own part of a virtual workspace that several shards serve (kube.endpoints.fanout):
# `/shards/<name>/services/…`, what the other shards and the front proxy's per-shard URLs reach.
KUBE_OWN_PART_PREFIX = f"/shards/{KCP_SHARD_NAME}"
# The CA that signed every shard's certificate: one shard asking another verifies it with this.
KCP_CA_FILE = env.str("KCP_CA_FILE", default=str(DATA_DIR / "tls" / "ca.crt"))
KCP_CACHE_PUBLISHER_URL = env.str("KCP_CACHE_PUBLISHER_URL", default="")

REST_FRAMEWORK = {
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_PARSER_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["kube.endpoints.negotiation.KubeJSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "kube.endpoints.negotiation.KubeContentNegotiation",
    "EXCEPTION_HANDLER": "kube.endpoints.errors.exception_handler",
}

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # A message taken by a worker that died unacknowledged goes back to the queue after this long
    # (kombu's default is an hour); tasks are idempotent, so a slow one delivered twice is harmless.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {"visibility_timeout": 300}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
else:
    _broker = DATA_DIR / "broker"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT = "kcpsite.broker:Transport"  # atomic publish, claims survive a killed worker
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker / "queue"),
        "data_folder_out": str(_broker / "queue"),
        "staging_folder": str(_broker / "staging"),
        "claims_folder": str(_broker / "claimed"),
        "control_folder": str(_broker / "control"),
        # An idle worker looks for new messages this often (kombu's default is 1 s): reconcile
        # latency, not throughput, is what users feel (a workspace is Ready after one or two hops).
        "polling_interval": 0.05,
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes every connection (and with a pool, the whole pool) before and after
# each task in a worker: a fresh PostgreSQL connection and pool threads per task, most of a
# short reconcile's time. It recycles only every 2 × this many tasks instead; kcpsite.celery hands
# each task's connection back to the pool after it (as after a request), dropping broken ones.
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_TASK_ALWAYS_EAGER = env.bool("KCP_CELERY_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("KCP_LOG_LEVEL", default="WARNING")},
}
