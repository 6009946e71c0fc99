"""The ``stockscreen`` command: dev, stop, db upgrade, ingest run|csv, quality-report, screen, backtest."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

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


def _print_table(columns: list[str], rows: list[dict[str, Any]]) -> None:
    cols = columns[:8]
    print("  ".join(f"{c[:12]:>12}" for c in cols))
    for row in rows:
        cells = []
        for c in cols:
            v = row.get(c)
            cells.append(f"{v:>12.2f}" if isinstance(v, float) else f"{str(v)[:12]:>12}")
        print("  ".join(cells))


def cmd_screen(args: argparse.Namespace) -> int:
    import datetime as dt

    from stockscreen.db.engine import get_engine
    from stockscreen.screening.engine import ScreenRequest, compile_query, explain, run_screen, to_csv
    from stockscreen.screening.universe import get_universe

    as_of = dt.date.fromisoformat(args.as_of) if args.as_of else None
    compile_query(args.query)  # syntax and type errors before any service starts
    _db_only()
    if args.explain:
        report = explain(get_universe(get_engine()), args.explain, args.query, as_of)
        if args.format == "json":
            print(json.dumps(report, indent=2, default=str))
            return 0
        verdict = "PASSES" if report["pass"] else "FAILS"
        print(f"{report['symbol']} {verdict} on {report['as_of']}: {report['query']}")
        for c in report["clauses"]:
            mark = "pass" if c["pass"] else "FAIL"
            print(f"  [{mark}] {c['clause']}   value={c['value']!r}  threshold={c['threshold']!r}")
        return 0
    columns = args.columns.split(",") if args.columns else None
    req = ScreenRequest(
        query=args.query,
        sort=args.sort,
        order="desc" if args.desc else "asc",
        limit=args.limit,
        columns=columns,
        as_of=as_of,
    )
    result = run_screen(get_engine(), req)
    if args.format == "json":
        print(json.dumps(result.model_dump(), indent=2, default=str))
        return 0
    if args.format == "csv":
        sys.stdout.write(to_csv(result))
        return 0
    _print_table(result.columns, result.data)
    print(f"{result.count} matches, as of {result.as_of} (snapshot v{result.snapshot_version})")
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    import datetime as dt

    from stockscreen.db.engine import get_engine
    from stockscreen.screening.backtest import BacktestRequest, run_backtest
    from stockscreen.screening.universe import get_universe

    req = BacktestRequest.model_validate(
        {
            "query": args.query,
            "from": dt.date.fromisoformat(args.start) if args.start else None,
            "to": dt.date.fromisoformat(args.end) if args.end else None,
            "rebalance": args.rebalance,
        }
    )
    req.condition()
    _db_only()
    result = run_backtest(get_universe(get_engine()), req)
    if args.format == "json":
        print(json.dumps(result.model_dump(), indent=2, default=str))
        return 0

    def f(v: float | None) -> str:
        return "     n/a" if v is None else f"{v:8.2f}"

    print(f"backtest {result.query!r} {result.rebalance} {result.start}..{result.end}")
    print(f"{'date':10} {'matches':>7} {'fwd1m%':>8} {'univ1m%':>8} {'fwd3m%':>8} {'hit1m':>8} {'turn':>8}")
    for p in result.periods:
        print(
            f"{p.date:10} {p.matches:>7} {f(p.fwd_1m)} {f(p.universe_1m)} {f(p.fwd_3m)} "
            f"{f(p.hit_rate_1m)} {f(p.turnover)}"
        )
    print(
        "summary: "
        + ", ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in result.summary.items())
    )
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
    s.add_argument("--as-of", dest="as_of", help="evaluate on a past date (YYYY-MM-DD)")
    s.add_argument("--sort", default="market_cap")
    s.add_argument("--desc", action="store_true")
    s.add_argument("--limit", type=int, default=20)
    s.add_argument("--columns")
    s.add_argument("--format", choices=["table", "json", "csv"], default="table")
    s.add_argument("--explain", metavar="SYMBOL", help="explain each clause for one symbol instead")
    s.set_defaults(func=cmd_screen)
    bt = sub.add_parser("backtest", help='backtest a screen, e.g. stockscreen backtest "rsi14 < 30" --from 2014-01-01')
    bt.add_argument("query")
    bt.add_argument("--from", dest="start")
    bt.add_argument("--to", dest="end")
    bt.add_argument("--rebalance", choices=["weekly", "monthly"], default="monthly")
    bt.add_argument("--format", choices=["table", "json"], default="table")
    bt.set_defaults(func=cmd_backtest)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except DomainError as exc:
        print(f"stockscreen: {exc.message}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        print(
            f"stockscreen: {where + ': ' if where else ''}{first['msg'].removeprefix('Value error, ')}", file=sys.stderr
        )
        return 2
    except ValueError as exc:
        print(f"stockscreen: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
