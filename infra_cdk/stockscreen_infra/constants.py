"""Names, paths, context keys and output keys shared by the app, the constructs and the tests."""

from __future__ import annotations

import math
from pathlib import Path

from stockscreen.core.config import INGEST_SCHEDULE_EXPRESSION as _INGEST_SCHEDULE
from stockscreen.core.config import QUOTES_SCHEDULE_EXPRESSION as _QUOTES_SCHEDULE

#: ``/work/main`` (the repository root): infra_cdk/stockscreen_infra/constants.py -> parents[2].
REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA_DIR = REPO_ROOT / "infra_cdk"

STACK_NAME = "Stockscreen"
APP_TAG = "stockscreen"

# --- source directories ------------------------------------------------------------------------
API_SOURCE_DIR = REPO_ROOT / "functions" / "api"
INGEST_SOURCE_DIR = REPO_ROOT / "functions" / "ingest"
WS_SOURCE_DIR = REPO_ROOT / "functions" / "ws"
ALERTS_SOURCE_DIR = REPO_ROOT / "functions" / "alerts"
QUOTES_SOURCE_DIR = REPO_ROOT / "functions" / "quotes"
REPORTS_SOURCE_DIR = REPO_ROOT / "functions" / "reports"
REPORTS_RENDER_SOURCE_DIR = REPO_ROOT / "functions" / "reports" / "render"
FRONTEND_DIST_DIR = REPO_ROOT / "frontend" / "dist"
DEFAULT_BUILD_DIR = INFRA_DIR / "build"
DEFAULT_LAYER_DIR = DEFAULT_BUILD_DIR / "layer"
#: Written into a layer directory created at synth because ``make layer`` has not run.
LAYER_PLACEHOLDER_MARKER = "PLACEHOLDER_LAYER.txt"

# --- context keys (``cdk synth -c key=value``) -------------------------------------------------
CTX_LAYER_DIR = "layer_dir"
CTX_BUILD_DIR = "build_dir"
CTX_API_SOURCE_DIR = "api_source_dir"
CTX_FRONTEND_DIST_DIR = "frontend_dist_dir"
CTX_TIMESCALE_ENDPOINT = "timescale_endpoint"
CTX_TIMESCALE_SECRET_ARN = "timescale_secret_arn"  # noqa: S105 (a context key, not a secret)
CTX_SES_SENDER = "ses_sender"
CTX_INGEST_SCHEDULE = "ingest_schedule"
CTX_ALARM_EMAIL = "alarm_email"
CTX_NAG = "nag"

# --- defaults ----------------------------------------------------------------------------------
DEFAULT_SES_SENDER = "noreply@example.com"
#: Weekdays 22:30 UTC, i.e. after the US close (16:00 ET = 20:00/21:00 UTC) plus vendor lag.
#: Defined once in the application's settings module; CDK and the local stack read it from there.
INGEST_SCHEDULE_EXPRESSION = _INGEST_SCHEDULE

# --- runtime -----------------------------------------------------------------------------------
#: The layer is built with ``pip --platform manylinux2014_x86_64``, so every function is x86_64.
LAYER_PLATFORM = "manylinux2014_x86_64"
PYTHON_RUNTIME = "python3.11"

# --- resource names ----------------------------------------------------------------------------
API_APP_NAME = "stockscreen-api"
#: API Gateway stage of the REST API: CloudFront forwards ``/api/*`` unchanged to it.
REST_API_STAGE = "api"
WS_API_NAME = "stockscreen-ws"
#: WebSocket stage: CloudFront forwards ``/ws`` to it.
WS_STAGE = "ws"
WS_ROUTE_SELECTION_EXPRESSION = "$request.body.action"
#: route key -> handler in functions/ws/handlers.py
WS_ROUTES: dict[str, str] = {
    "$connect": "handlers.connect",
    "$disconnect": "handlers.disconnect",
    "$default": "handlers.default",
    "subscribe": "handlers.message",
    "unsubscribe": "handlers.message",
}
WS_BROADCAST_HANDLER = "handlers.broadcast"
WS_AUTHORIZER_HANDLER = "handlers.authorize"
#: Present in every WebSocket handshake, so the $connect authorizer runs for anonymous connections too.
WS_AUTHORIZER_IDENTITY_SOURCE = "route.request.header.Sec-WebSocket-Key"
ALERTS_HANDLER = "handlers.on_prices_updated"
QUOTES_HANDLER = "handlers.poll"
#: The live quote poller: started every minute, polls for QUOTES_RUN_SECONDS within its timeout.
QUOTES_SCHEDULE_EXPRESSION = _QUOTES_SCHEDULE
QUOTES_RUN_SECONDS = 55
QUOTES_TIMEOUT_SECONDS = 70
ALERTS_DELIVERY_HANDLER = "handlers.deliver"
#: The delivery function's timeout; the delivery queue's visibility timeout is 6x it (AWS's advice for an
#: SQS event source) and a batch holds up to 10 fired alerts.
ALERTS_DELIVERY_TIMEOUT_SECONDS = 20
ALERTS_DELIVERY_BATCH_SIZE = 10
ALERTS_RELEASE_HANDLER = "handlers.release_held"
#: Held alert messages (quiet hours over, the day's overflow summary) go out within this period.
ALERTS_RELEASE_SCHEDULE_EXPRESSION = "rate(5 minutes)"
ALERTS_SES_EVENTS_HANDLER = "handlers.on_ses_notification"
SES_CONFIGURATION_SET_NAME = "stockscreen-alerts"
SES_EVENTS_TOPIC_NAME = "stockscreen-ses-events"
#: The metric the delivery functions emit (Powertools, namespace METRICS_NAMESPACE, dimension service).
ALERT_DELIVERY_ERRORS_METRIC = "AlertDeliveryErrors"
METRICS_NAMESPACE = "Stockscreen"
METRICS_SERVICE = "stockscreen"

EVENT_BUS_NAME = "stockscreen-events"
EVENT_SOURCE_INGEST = "stockscreen.ingest"
EVENT_DETAIL_TYPE_PRICES_UPDATED = "prices.updated"

DB_NAME = "stockscreen"
DB_USERNAME = "stockscreen"
DB_PORT = 5432
REDIS_PORT = 6379

ALERTS_QUEUE_MAX_RECEIVE_COUNT = 5
NOTIFICATIONS_TOPIC_NAME = "stockscreen-notifications"
ALERT_NOTIFICATIONS_TOPIC_NAME = "stockscreen-alert-notifications"
ADMIN_TOPIC_NAME = "stockscreen-admin"
IDEMPOTENCY_TABLE_NAME = "stockscreen-idempotency"
#: The WebSocket connection registry (stockscreen.realtime.dynamo): keys pk/sk, TTL attribute expires_at.
CONNECTIONS_TABLE_NAME = "stockscreen-ws-connections"
CONNECTIONS_TTL_ATTRIBUTE = "expires_at"
#: What each kind of function may do on the registry (table ARN only; nothing else, no Scan):
#: $connect writes the connection's items and moves the open-connections counter; everything that reads
#: subscribers or cleans up also queries.
CONNECTIONS_WRITE_ACTIONS = ("dynamodb:BatchWriteItem", "dynamodb:UpdateItem")
CONNECTIONS_READ_WRITE_ACTIONS = (
    "dynamodb:Query",
    "dynamodb:GetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:UpdateItem",
)
DASHBOARD_NAME = "stockscreen"
#: What the API may do in CloudWatch: read metrics for the admin Operations page (nothing else).
OPERATIONS_METRICS_ACTIONS = ("cloudwatch:GetMetricData", "cloudwatch:ListMetrics")

# --- environment variable names handed to the functions ------------------------------------------
ENV_DATABASE_SECRET_ARN = "DATABASE_SECRET_ARN"  # noqa: S105 (a variable name)
ENV_JWT_SECRET_ARN = "JWT_SECRET_ARN"  # noqa: S105 (a variable name)
ENV_REDIS_URL = "REDIS_URL"
ENV_EVENT_BUS_NAME = "EVENT_BUS_NAME"
ENV_WS_MANAGEMENT_URL = "WS_MANAGEMENT_URL"
ENV_ALERTS_QUEUE_URL = "ALERTS_QUEUE_URL"
ENV_ALERTS_DELIVERY_QUEUE_URL = "ALERTS_DELIVERY_QUEUE_URL"
ENV_ALERTS_DELIVERY_DLQ_URL = "ALERTS_DELIVERY_DLQ_URL"
ENV_ALERT_NOTIFICATIONS_TOPIC_ARN = "ALERT_NOTIFICATIONS_TOPIC_ARN"
ENV_ALERTS_UNSUBSCRIBE_SECRET_ARN = "ALERTS_UNSUBSCRIBE_SECRET_ARN"  # noqa: S105 (a variable name)
ENV_APP_BASE_URL = "APP_BASE_URL"
ENV_NOTIFICATIONS_TOPIC_ARN = "NOTIFICATIONS_TOPIC_ARN"
ENV_SES_SENDER = "SES_SENDER"
ENV_SES_CONFIGURATION_SET = "SES_CONFIGURATION_SET"
ENV_REPORTS_BUCKET = "REPORTS_BUCKET"
ENV_REPORTS_STATE_MACHINE_ARN = "REPORTS_STATE_MACHINE_ARN"
ENV_STATE_MACHINE_ARN = "STATE_MACHINE_ARN"
ENV_IDEMPOTENCY_TABLE = "IDEMPOTENCY_TABLE"
ENV_CONNECTIONS_TABLE = "CONNECTIONS_TABLE"
ENV_ADMIN_TOPIC_ARN = "ADMIN_TOPIC_ARN"
ENV_RAW_BUCKET_NAME = "RAW_BUCKET_NAME"
ENV_SNAPSHOT_BUCKET = "SNAPSHOT_BUCKET"

# --- Lambda memory (MB), chosen from the peaks measured on the 10,000-security x 20-year synthetic market
# (tests/bench/measured_peaks.json, written by tests/bench/test_bench_market_scale.py and
# test_bench_ingest_scale.py). The rule: memory_for(peak) = the peak x MEMORY_HEADROOM rounded up to the next
# MEMORY_STEP_MB, at least MEMORY_FLOOR_MB (Lambda gives CPU in proportion to memory: below 1024 MB the daily
# run's tasks would be CPU-starved). tests/infra/test_memory_sizes.py fails when a function's declared size is
# below its measured peak x MEMORY_HEADROOM.
MEMORY_HEADROOM = 1.5
MEMORY_STEP_MB = 128
MEMORY_FLOOR_MB = 1024


def memory_for(peak_mb: float) -> int:
    """A function's memory size from its measured peak resident memory (MB)."""
    need = math.ceil(peak_mb * MEMORY_HEADROOM)
    return max(MEMORY_FLOOR_MB, math.ceil(need / MEMORY_STEP_MB) * MEMORY_STEP_MB)


#: memory_for(2,497 MB): the first screen and a history screen over the 10k x 20y artifact (2026-12-03)
API_MEMORY_MB = 3840
#: Aggregate: Lambda's maximum. The daily run's peak (4.9 GB at 20 years, extrapolated from 1 and 2 years)
#: gives memory_for() = 7,424; a full rebuild (the first run, a listing, a revised history) at 20 years is
#: estimated at about 6.5 GB (not measured at that scale): memory_for() = 9,856; the maximum leaves room.
INGEST_MEMORY_MB = {"Aggregate": 10240}
#: every other ingest task peaks near 100 MB at 10,000 symbols: the floor
INGEST_DEFAULT_MEMORY_MB = MEMORY_FLOOR_MB
#: the API's /tmp (MB): the mapped snapshot artifact is downloaded there (about 1.6 GB at 10k x 20y)
API_EPHEMERAL_STORAGE_MB = 4096
#: Never set as a plain environment variable (tests enforce it): functions read DATABASE_SECRET_ARN.
FORBIDDEN_ENV_VARS = ("DATABASE_URL",)

# --- CloudFront --------------------------------------------------------------------------------
API_PATH_PATTERN = "/api/*"
WS_PATH_PATTERN = "/ws"
#: connect-src is the SPA's own origin only: its API (/api) and its WebSocket (wss://<same host>/ws, which
#: 'self' covers under CSP Level 3). Not ``wss:``, which would let injected script talk to any host. The
#: distribution's hostname cannot be named here: the policy would then depend on the distribution that
#: uses it (a cycle); the local origin (devstack/gateway.py) names its exact ws://host/ws URL as well.
#: ``{upload}``: the raw bucket's origin, where admins' uploads are posted (presigned POSTs), and no other.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'{upload}; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)

# --- stack outputs (logical ids) ---------------------------------------------------------------
OUTPUT_CLOUDFRONT_URL = "CloudFrontUrl"
OUTPUT_REST_API_URL = "RestApiUrl"
OUTPUT_WEBSOCKET_URL = "WebSocketUrl"
OUTPUT_STATE_MACHINE_ARN = "StateMachineArn"
OUTPUT_FRONTEND_BUCKET = "FrontendBucketName"
