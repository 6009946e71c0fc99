"""``make dev``: the whole platform on one machine, in the foreground, on one origin."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

import psycopg

from devstack import lambdas
from devstack.services import Postgres, Redis, free_port, port_open
from devstack.stepfunctions import IngestStateMachine, start_moto

ROOT = lambdas.ROOT
DEMO_DIR = ROOT / "data" / "demo"
DEMO_FILES = (
    "sp500-constituents-2018-01-19.csv",
    "sp500-fundamentals-2018-02-08.csv",
    "sp500-daily-2013-2018.csv.gz",
)
LOCAL_PG_PORT = 55432
LOCAL_REDIS_PORT = 56379

log = logging.getLogger("stockscreen.dev")


def say(msg: str) -> None:
    """A status line: on stderr, so a command's stdout carries only its document."""
    print(f"[dev] {msg}", file=sys.stderr, flush=True)


def local_dir() -> Path:
    return Path(os.environ.get("STOCKSCREEN_LOCAL_DIR", ROOT / ".local")).resolve()


@contextlib.contextmanager
def single_instance(state: Path) -> Any:
    """Refuse a second ``make dev`` on the same state folder instead of corrupting it."""
    state.mkdir(parents=True, exist_ok=True)
    lock_path = state / "dev.lock"
    handle: TextIO = lock_path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        pid = handle.read().strip() or "?"
        print(
            f"[dev] another 'make dev' (pid {pid}) is already running on {state}; stop it first "
            "(Ctrl-C in its terminal, or 'make stop').",
            file=sys.stderr,
            flush=True,
        )
        raise SystemExit(1) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def ensure_database(server_url: str, name: str) -> str:
    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def _local_server(name: str, env_var: str, server: Postgres | Redis) -> str:
    """The URL in ``env_var`` when set, else the project-local server (started or re-used)."""
    url = os.environ.get(env_var)
    if url:
        say(f"{name}: using {env_var}")
        return url
    reused = port_open("127.0.0.1", server.port)
    server.start()
    where = f" ({server.datadir})" if isinstance(server, Postgres) else ""
    say(f"{name}: {'reusing' if reused else 'started'} project-local server on :{server.port}{where}")
    return ensure_database(server.url, "stockscreen") if isinstance(server, Postgres) else server.url


def start_data_services(state: Path) -> tuple[str, str]:
    pg = Postgres(state / "pg", int(os.environ.get("LOCAL_PG_PORT", LOCAL_PG_PORT)))
    rd = Redis(state / "redis", int(os.environ.get("LOCAL_REDIS_PORT", LOCAL_REDIS_PORT)))
    return _local_server("PostgreSQL", "DATABASE_URL", pg), _local_server("Redis", "REDIS_URL", rd)


def start_aws() -> tuple[str, str, list[Any]]:
    """(AWS endpoint, Step Functions endpoint, servers to stop)."""
    port = int(os.environ.get("AWS_LOCAL_PORT", "4566"))
    endpoint = f"http://127.0.0.1:{port}"
    if port_open("127.0.0.1", port):
        # LocalStack (or another LocalStack-compatible endpoint) is already there; its Lambda needs
        # Docker, so the state machine runs on a private in-process moto with our handlers.
        sfn_port = free_port()
        server = start_moto(sfn_port)
        say(f"AWS: using the endpoint already listening on :{port}; Step Functions on private moto :{sfn_port}")
        return endpoint, f"http://127.0.0.1:{sfn_port}", [server]
    server = start_moto(port)
    say(f"AWS: started moto's server on :{port} (Step Functions executes the real ASL in-process)")
    return endpoint, endpoint, [server]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_demo_data(machine: IngestStateMachine, db_url: str) -> None:
    paths = [DEMO_DIR / f for f in DEMO_FILES]
    digests = {p.name: _sha256(p) for p in paths}
    plain = db_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain) as conn:
        done = conn.execute(
            "SELECT r.id FROM ingest_runs r WHERE r.status = 'succeeded' AND r.source->'sha256' = %s::jsonb "
            "AND EXISTS (SELECT 1 FROM snapshot_versions WHERE is_current) ORDER BY started_at DESC LIMIT 1",
            (psycopg.types.json.Jsonb(digests),),
        ).fetchone()
    if done:
        say(f"demo data: already loaded by ingest run {done[0]} (same files); nothing to do")
        return
    say("demo data: running the ingest state machine on data/demo (first start takes a little while)...")
    start = time.monotonic()
    result = machine.run({"source": {"paths": [str(p) for p in paths], "sha256": digests}}, timeout=1800)
    if result["status"] != "SUCCEEDED":
        raise SystemExit(f"[dev] ingest failed: {result.get('cause')}")
    report = result["output"]["report"]
    findings = report["findings"]
    say(
        f"demo data: {report['inserted']} bars loaded, {report['quarantined']} quarantined, "
        f"snapshot v{report['snapshot_version']} in {time.monotonic() - start:.1f}s; "
        f"quality: {', '.join(f'{k}={v}' for k, v in sorted(findings.items()))}"
    )


def start_quote_poller(stop: threading.Event, ws_gateway: Any = None) -> Any:
    """The live quote poller of production (stockscreen.realtime.poller) on a thread, with the replay
    provider unless QUOTE_PROVIDER says otherwise; FEED_INTERVAL (default 2) is its poll interval.

    With the local WebSocket gateway of this process, the fan-out posts through its in-process
    ``@connections`` client (``LocalManagementClient``: the same broadcaster and registry, no HTTP hop)."""
    os.environ.setdefault("QUOTE_PROVIDER", "replay")
    os.environ.setdefault("QUOTE_POLL_SECONDS", os.environ.get("FEED_INTERVAL", "2"))
    from stockscreen.realtime.poller import build_poller, prepare_storage

    prepare_storage()
    broadcaster = None
    if ws_gateway is not None:
        from devstack.wsgateway import LocalManagementClient
        from stockscreen.realtime.broadcaster import Broadcaster

        broadcaster = Broadcaster(LocalManagementClient(ws_gateway))
    poller = build_poller(broadcaster=broadcaster)

    def loop() -> None:
        while not stop.is_set():
            poller.run(stop=stop)  # returns when the market closes (never for the replay provider)
            stop.wait(60)

    threading.Thread(target=loop, name="quote-poller", daemon=True).start()
    return poller


#: How often the local stand-in of EventBridge Scheduler starts the reports workflow (as deployed: 15 minutes).
REPORTS_TICK_S = float(os.environ.get("REPORTS_TICK_SECONDS", 900))


def start_reports(sfn_endpoint: str, demo_email: str, stop: threading.Event) -> None:
    """Deploy the reports workflow, send the demo account its first digest (once per session: see
    /dev/mail) and tick the workflow like the deployed schedule does."""
    from devstack.reports import ensure_demo_reports, send_first_digest, start_scheduler
    from devstack.stepfunctions import ReportsStateMachine

    machine = ReportsStateMachine(sfn_endpoint)
    os.environ["REPORTS_STATE_MACHINE_ARN"] = machine.arn
    user_id = ensure_demo_reports(demo_email)
    outcome = send_first_digest(machine, user_id)
    say(f"reports: the demo account's daily digest: {outcome.get('status')} {outcome.get('reason') or ''}".rstrip())
    start_scheduler(machine, stop, REPORTS_TICK_S)


def main(port: int) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    state = local_dir()
    if port_open("127.0.0.1", port):
        print(f"[dev] port {port} is already in use; set PORT to another port", file=sys.stderr)
        return 1
    with single_instance(state):
        t0 = time.monotonic()
        db_url, redis_url = start_data_services(state)
        aws_endpoint, sfn_endpoint, servers = start_aws()
        boot = lambdas.load_module("localstack/bootstrap.py", "stockscreen_localstack_bootstrap")
        resources = boot.bootstrap(aws_endpoint)
        os.environ.update(
            {
                "DATABASE_URL": db_url,
                "REDIS_URL": redis_url,
                "AWS_ENDPOINT_URL": aws_endpoint,
                "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
                "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "test"),
                "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
                "WS_MANAGEMENT_URL": f"http://127.0.0.1:{port}",
                "APP_BASE_URL": f"http://127.0.0.1:{port}",  # links in alert emails
                "UPLOAD_ORIGIN": aws_endpoint,  # the SPA posts admins' uploads to the raw bucket there
                # webhooks may use http and local addresses (a receiver on this machine); never deployed
                "ALERTS_WEBHOOK_ALLOW_PRIVATE": "true",
                **resources,
            }
        )
        say(f"AWS resources bootstrapped by localstack/bootstrap.py ({len(resources)} settings)")

        from stockscreen.core.clients import reset_clients
        from stockscreen.db.migrate import upgrade

        reset_clients()
        upgrade(db_url)
        say("database: migrated to head")
        machine = IngestStateMachine(sfn_endpoint)
        load_demo_data(machine, db_url)
        from devstack.seed import ensure_demo_user

        demo_email, demo_password = ensure_demo_user(state)
        from devstack.seed import ensure_admin_user

        admin_email, admin_password = ensure_admin_user(state)
        from devstack.dropfolder import DropFolderBridge

        drop_folder = DropFolderBridge(resources["DROP_QUEUE_URL"], machine, aws_endpoint)
        threading.Thread(target=drop_folder.run, name="drop-folder", daemon=True).start()
        say(f"drop folder: files put under s3://{resources['RAW_BUCKET_NAME']}/incoming/ start an ingest run")
        from devstack.seed import ensure_demo_alerts

        ensure_demo_alerts(demo_email)  # a couple of alerts the replay feed makes fire
        reports_stop = threading.Event()
        start_reports(sfn_endpoint, demo_email, reports_stop)

        import uvicorn

        chalice_app = lambdas.load_api()
        from devstack.gateway import create_app

        ws_handlers = lambdas.load_module("functions/ws/handlers.py", "stockscreen_ws_handlers")
        from devstack import metrics

        bridge = metrics.install()  # before any function flushes a metric
        asgi = create_app(chalice_app, ws_handlers, ROOT / "frontend" / "dist", metrics=bridge)
        ws_gateway = asgi.state.ws_gateway
        bridge.gauges += [
            metrics.sqs_depths(aws_endpoint, os.environ["AWS_DEFAULT_REGION"]),
            metrics.gauge("Stockscreen", "WsConnections", lambda: len(ws_gateway.connections)),
        ]
        bridge.start_sampling()
        # the admin Operations page reads the bridge's last hour (deployed: CloudWatch)
        from stockscreen.core import operations

        os.environ["OPERATIONS_METRICS_SOURCE"] = "local"
        operations.use_local_window(bridge.history)
        prometheus = metrics.start_prometheus(state / "prometheus", port, say)
        if prometheus is not None:
            servers.append(prometheus)
        quotes_stop = threading.Event()
        poller = start_quote_poller(quotes_stop, asgi.state.ws_gateway)
        config = uvicorn.Config(
            asgi,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            # the peer address is the client (API Gateway's sourceIp): no X-Forwarded-For spoofing
            proxy_headers=False,
        )
        server = uvicorn.Server(config)

        def _stop(signum: int, _frame: Any) -> None:
            server.should_exit = True

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        say(f"live quotes: the production poller with the {poller.source.name} provider, every {poller.interval:g}s")
        from devstack.alerts_worker import AlertsWorker

        alerts_worker = AlertsWorker()  # the alert functions' event sources: evaluation and delivery
        threading.Thread(target=alerts_worker.run, name="alerts-worker", daemon=True).start()
        say(f"ready in {time.monotonic() - t0:.1f}s")
        print("", flush=True)
        print(f"  Stockscreen is running:  http://127.0.0.1:{port}/", flush=True)
        print(f"  API health:              http://127.0.0.1:{port}/api/health", flush=True)
        print(f"  Dev mailbox:             http://127.0.0.1:{port}/dev/mail  (or: stockscreen mail)", flush=True)
        print(f"  Metrics (Prometheus):    http://127.0.0.1:{port}/metrics", flush=True)
        if prometheus is not None:
            print(f"  Prometheus UI:           http://127.0.0.1:{prometheus.port}/", flush=True)
        print(f"  Demo login:              {demo_email} / {demo_password}  (premium; POST /api/auth/login)", flush=True)
        print(f"  Admin login:             {admin_email} / {admin_password}  (admin, dev only; /admin)", flush=True)
        print("  Stop with Ctrl-C; 'make stop' also stops the local PostgreSQL and Redis.", flush=True)
        print("", flush=True)
        try:
            server.run()
        finally:
            quotes_stop.set()
            reports_stop.set()
            bridge.stop_sampling()
            alerts_worker.stop()
            drop_folder.stop()
            for s in servers:
                with contextlib.suppress(Exception):
                    s.stop()
            say("stopped")
    return 0


def stop() -> int:
    """Stop the project-local PostgreSQL and Redis that ``make dev`` started."""
    state = local_dir()
    Postgres(state / "pg", LOCAL_PG_PORT).stop()
    Redis(state / "redis", LOCAL_REDIS_PORT).stop()
    say("stopped project-local PostgreSQL and Redis (data kept in .local/)")
    return 0
