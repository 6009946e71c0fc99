"""The ``stockscreen`` command: dev, stop, db upgrade, ingest run|csv, quality-report, screen."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path
from typing import Any

from stockscreen.errors import DomainError


def _wire_local() -> tuple[Any, str]:
    """Settings for commands run outside ``make dev``: the same services, started if needed."""
    from devstack import dev, lambdas
    from stockscreen.clients import reset_clients

    db_url, redis_url = dev.start_data_services(dev.local_dir())
    aws_endpoint, sfn_endpoint, servers = dev.start_aws()
    boot = lambdas.load_module("localstack/bootstrap.py", "stockscreen_localstack_bootstrap")
    os.environ.update(
        {
            "DATABASE_URL": db_url,
            "REDIS_URL": redis_url,
            "AWS_ENDPOINT_URL": aws_endpoint,
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "test"),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
            **boot.bootstrap(aws_endpoint),
        }
    )
    reset_clients()
    return servers, sfn_endpoint


def _db_only() -> None:
    from devstack import dev
    from stockscreen.clients import reset_clients

    if "DATABASE_URL" not in os.environ or "REDIS_URL" not in os.environ:
        db_url, redis_url = dev.start_data_services(dev.local_dir())
        os.environ.setdefault("DATABASE_URL", db_url)
        os.environ.setdefault("REDIS_URL", redis_url)
    reset_clients()


def cmd_dev(args: argparse.Namespace) -> int:
    from devstack import dev

    return dev.main(args.port)


def cmd_stop(_args: argparse.Namespace) -> int:
    from devstack import dev

    return dev.stop()


def cmd_db_upgrade(_args: argparse.Namespace) -> int:
    from stockscreen.db.migrate import upgrade

    _db_only()
    upgrade(os.environ["DATABASE_URL"])
    print("database migrated to head")
    return 0


def _run_ingest(paths: list[Path]) -> int:
    from devstack.stepfunctions import IngestStateMachine
    from stockscreen.db.migrate import upgrade

    for p in paths:
        if not p.exists():
            print(f"stockscreen: {p}: no such file", file=sys.stderr)
            return 2
    servers, sfn_endpoint = _wire_local()
    try:
        upgrade(os.environ["DATABASE_URL"])
        result = IngestStateMachine(sfn_endpoint).run({"source": {"paths": [str(p.resolve()) for p in paths]}})
    finally:
        for s in servers:
            s.stop()
    if result["status"] != "SUCCEEDED":
        print(f"stockscreen: ingest failed: {result.get('cause')}", file=sys.stderr)
        return 1
    out = result["output"]
    load = out["load"]
    if load["inserted"] == 0 and load["updated"] == 0:
        print(f"run {out['run_id']}: nothing changed ({load['unchanged']} bars already loaded)")
    else:
        print(
            f"run {out['run_id']}: {load['inserted']} bars inserted, {load['updated']} updated, "
            f"{load['quarantined']} quarantined; snapshot v{out['aggregate']['version']}"
        )
    for rule, n in sorted(out["validate"]["findings"].items()):
        print(f"  {rule}: {n}")
    return 0


def cmd_ingest_run(args: argparse.Namespace) -> int:
    from devstack.dev import DEMO_DIR, DEMO_FILES

    paths = [Path(p) for p in args.paths] or [DEMO_DIR / f for f in DEMO_FILES]
    return _run_ingest(paths)


def cmd_ingest_csv(args: argparse.Namespace) -> int:
    return _run_ingest([Path(p) for p in args.paths])


def cmd_quality_report(args: argparse.Namespace) -> int:
    from sqlalchemy import text

    from stockscreen.db.engine import get_engine
    from stockscreen.pipeline.service import run_report

    _db_only()
    run_id = args.run
    if run_id is None:
        with get_engine().connect() as conn:
            run_id = conn.execute(text("SELECT id FROM ingest_runs ORDER BY started_at DESC LIMIT 1")).scalar()
        if run_id is None:
            print("stockscreen: no ingest runs yet", file=sys.stderr)
            return 1
    report = run_report(str(run_id))
    if args.format == "json":
        print(json.dumps(report, indent=2, default=str))
    else:
        print(f"run {report['run_id']}  {report['status']}  started {report['started_at']}")
        print(f"{'rule':28} {'severity':8} {'action':12} {'count':>7}")
        for q in report["quality"]:
            print(f"{q['rule']:28} {q['severity']:8} {q['action']:12} {q['count']:>7}")
    return 0


def cmd_screen(args: argparse.Namespace) -> int:
    from stockscreen.db.engine import get_engine
    from stockscreen.screening.engine import ScreenRequest, run_screen
    from stockscreen.screening.query import parse

    _db_only()
    filters = parse(args.query)
    columns = args.columns.split(",") if args.columns else None
    req = ScreenRequest(
        filters=filters, sort=args.sort, order="desc" if args.desc else "asc", limit=args.limit, columns=columns
    )
    result = run_screen(get_engine(), req)
    if args.format == "json":
        print(json.dumps(result.model_dump(), indent=2, default=str))
        return 0
    if args.format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=result.columns)
        writer.writeheader()
        writer.writerows(result.data)
        return 0
    cols = result.columns[:8]
    print("  ".join(f"{c:>12}" for c in cols))
    for row in result.data:
        cells = []
        for c in cols:
            v = row.get(c)
            cells.append(f"{v:>12.2f}" if isinstance(v, float) else f"{str(v)[:12]:>12}")
        print("  ".join(cells))
    print(f"{result.count} matches, as of {result.as_of} (snapshot v{result.snapshot_version})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stockscreen", description="Stockscreen: local stack and tools")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dev", help="run the whole platform locally (what 'make dev' runs)")
    d.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    d.set_defaults(func=cmd_dev)
    sub.add_parser("stop", help="stop the project-local PostgreSQL and Redis").set_defaults(func=cmd_stop)
    db = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="run migrations to head").set_defaults(func=cmd_db_upgrade)
    ing = sub.add_parser("ingest", help="market-data pipeline").add_subparsers(dest="ingest_command", required=True)
    run = ing.add_parser("run", help="run the ingest state machine (default: the demo data)")
    run.add_argument("paths", nargs="*", help="files to ingest instead of data/demo")
    run.set_defaults(func=cmd_ingest_run)
    c = ing.add_parser("csv", help="load CSV files (bars, constituents, fundamentals) through the pipeline")
    c.add_argument("paths", nargs="+")
    c.set_defaults(func=cmd_ingest_csv)
    q = sub.add_parser("quality-report", help="the data-quality report of an ingest run")
    q.add_argument("--run", help="run id (default: the latest)")
    q.add_argument("--format", choices=["table", "json"], default="table")
    q.set_defaults(func=cmd_quality_report)
    s = sub.add_parser("screen", help='run a screen, e.g. stockscreen screen "market_cap > 100B and pe < 20"')
    s.add_argument("query")
    s.add_argument("--sort", default="market_cap")
    s.add_argument("--desc", action="store_true")
    s.add_argument("--limit", type=int, default=20)
    s.add_argument("--columns")
    s.add_argument("--format", choices=["table", "json", "csv"], default="table")
    s.set_defaults(func=cmd_screen)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except DomainError as exc:
        print(f"stockscreen: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
