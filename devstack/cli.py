"""The ``stockscreen`` command: dev, stop, db upgrade, ingest run|csv, quality-report, screen, backtest."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from stockscreen.core.errors import DomainError


def _wire_local() -> tuple[Any, str]:
    """Settings for commands run outside ``make dev``: the same services, started if needed."""
    from devstack import dev, lambdas
    from stockscreen.core.clients import reset_clients

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
    from stockscreen.core.clients import reset_clients

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


def _print_report(report: dict[str, Any]) -> None:
    if not report["changed"]:
        print(f"run {report['run_id']}: nothing changed ({report['unchanged']} bars already loaded)")
    else:
        print(
            f"run {report['run_id']}: {report['inserted']} bars inserted, {report['updated']} updated, "
            f"{report['quarantined']} quarantined; snapshot v{report['snapshot_version']}"
        )
    if report.get("skipped_symbols"):
        print(f"  provider gave nothing for: {', '.join(report['skipped_symbols'])}")
    for rule, n in sorted(report["findings"].items()):
        print(f"  {rule}: {n}")


def backfill_inputs(sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Execution inputs of a multi-run backfill: the indicators and the snapshot are computed once,
    by the last run (forced, as earlier runs may have changed bars it does not see)."""
    if len(sources) < 2:
        return [{"source": s} for s in sources]
    return [{"source": s, "defer_snapshot": True} for s in sources[:-1]] + [{"source": sources[-1], "force": True}]


def _execute(sources: list[dict[str, Any]], progress: bool = False, once: bool = False) -> int:
    """Run the state machine once per source (in order); stop at the first failure.

    ``once``: one snapshot for all the runs (:func:`backfill_inputs`)."""
    from devstack.stepfunctions import IngestStateMachine
    from stockscreen.db.migrate import upgrade

    servers, sfn_endpoint = _wire_local()
    try:
        upgrade(os.environ["DATABASE_URL"])
        machine = IngestStateMachine(sfn_endpoint)
        bar = Progress(len(sources)) if progress else None
        inputs = backfill_inputs(sources) if once else [{"source": s} for s in sources]
        for i, (source, execution) in enumerate(zip(sources, inputs, strict=True)):
            result = machine.run(execution)
            if result["status"] != "SUCCEEDED":
                if bar:
                    bar.finish()
                print(f"stockscreen: ingest failed: {result.get('cause')}", file=sys.stderr)
                if once and i:
                    note = "the snapshot was not rebuilt: the next run that loads bars does"
                    print(f"stockscreen: {note}", file=sys.stderr)
                return 1
            report = result["output"]["report"]
            if bar:
                bar.update(i + 1, f"{source.get('from')}..{source.get('to')}: +{report['inserted']} bars")
            else:
                _print_report(report)
        if bar:
            bar.finish()
    finally:
        for s in servers:
            s.stop()
    return 0


class Progress:
    """A progress bar on a terminal; plain progress lines when stdout is not a TTY."""

    def __init__(self, total: int, width: int = 30) -> None:
        self.total = max(total, 1)
        self.width = width
        self.tty = sys.stdout.isatty()

    def update(self, done: int, label: str) -> None:
        pct = 100 * done / self.total
        if self.tty:
            filled = int(self.width * done / self.total)
            bar = "#" * filled + "-" * (self.width - filled)
            print(f"\r[{bar}] {done}/{self.total} {pct:5.1f}% {label[:60]:60}", end="", flush=True)
        else:
            print(f"progress {done}/{self.total} ({pct:.0f}%) {label}", flush=True)

    def finish(self) -> None:
        if self.tty:
            print(flush=True)


def _run_ingest(paths: list[Path]) -> int:
    for p in paths:
        if not p.exists():
            print(f"stockscreen: {p}: no such file", file=sys.stderr)
            return 2
    return _execute([{"paths": [str(p.resolve()) for p in paths]}])


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {value!r}") from None


def cmd_ingest_run(args: argparse.Namespace) -> int:
    from devstack.dev import DEMO_DIR, DEMO_FILES
    from stockscreen.market.calendar import previous_trading_day

    if args.date is not None:
        if args.paths:
            print("stockscreen: give either --date (online provider) or files, not both", file=sys.stderr)
            return 2
        day = previous_trading_day(args.date)
        if day != args.date:
            print(f"{args.date} is not an NYSE trading day; ingesting {day}")
        return _execute([{"provider": "stooq", "date": day.isoformat()}])
    paths = [Path(p) for p in args.paths] or [DEMO_DIR / f for f in DEMO_FILES]
    return _run_ingest(paths)


def backfill_chunks(start: dt.date, end: dt.date, days: int = 31) -> list[dict[str, Any]]:
    """The backfill as provider runs of at most ``days`` calendar days each, oldest first."""
    chunks = []
    lo = start
    while lo <= end:
        hi = min(lo + dt.timedelta(days=days - 1), end)
        chunks.append({"provider": "stooq", "from": lo.isoformat(), "to": hi.isoformat()})
        lo = hi + dt.timedelta(days=1)
    return chunks


def cmd_ingest_backfill(args: argparse.Namespace) -> int:
    if args.start > args.end:
        print(f"stockscreen: --from {args.start} is after --to {args.end}", file=sys.stderr)
        return 2
    if args.end > dt.date.today():
        print(f"stockscreen: --to {args.end} is in the future", file=sys.stderr)
        return 2
    return _execute(backfill_chunks(args.start, args.end, args.chunk_days), progress=True, once=True)


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


def cmd_mail(args: argparse.Namespace) -> int:
    """Print the dev mailbox of a running ``make dev``: every email its local SES endpoint accepted."""
    from devstack import mailbox

    mails = mailbox.fetch(args.url)[: args.last]
    if args.format == "json":
        print(json.dumps(mails, indent=2))
    else:
        sys.stdout.write(mailbox.render_text(mails))
    return 0


def cmd_alerts_dlq(args: argparse.Namespace) -> int:
    """Show the fired alerts whose delivery failed 5 times; ``--redrive`` moves them back to be delivered."""
    from stockscreen.alerts.adapters import DeadLetters
    from stockscreen.core.config import alert_delivery_settings

    s = alert_delivery_settings()
    dead = DeadLetters(s.alerts_delivery_dlq_url, s.alerts_delivery_queue_url)
    if args.redrive:
        print(f"moved {dead.redrive()} fired alert(s) back to the delivery queue")
        return 0
    shown = dead.peek()
    for f in shown:
        print(f"{f.get('fired_at')}  alert {f.get('alert_id')}  {f.get('symbol') or '-'}  {f.get('message')}")
    print(f"{len(shown)} shown (at most 10); --redrive moves all of them back")
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    import datetime as dt

    from stockscreen.db.engine import get_engine
    from stockscreen.screening.backtest import BacktestRequest, run_backtest, to_csv
    from stockscreen.screening.universe import get_universe

    req = BacktestRequest.model_validate(
        {
            "query": args.query,
            "from": dt.date.fromisoformat(args.start) if args.start else None,
            "to": dt.date.fromisoformat(args.end) if args.end else None,
            "rebalance": args.rebalance,
            "entry": args.entry,
            "hold_sessions": args.hold,
            "cost_bps": args.cost_bps,
            "slippage_bps": args.slippage_bps,
            "benchmark": args.benchmark,
        }
    )
    req.condition()
    _db_only()
    result = run_backtest(get_universe(get_engine()), req)
    if args.format == "json":
        print(json.dumps(result.model_dump(), indent=2, default=str))
        return 0
    if args.format == "csv":
        sys.stdout.write(to_csv(result))
        return 0

    def pct(v: float | None) -> str:
        return "     n/a" if v is None else f"{v * 100:8.2f}"

    print(
        f"backtest {result.query!r} {result.rebalance} {result.start}..{result.end}, entry {result.entry}"
        f"{' (OPTIMISTIC)' if result.optimistic else ''}, hold {result.hold_sessions or 'to next rebalance'}, "
        f"costs {result.cost_bps:g}+{result.slippage_bps:g} bps per trade"
    )
    print(
        f"{'signal':10} {'entry':10} {'exit':10} {'count':>5} {'gross%':>8} {'net%':>8} {'bench%':>8} "
        f"{'excess%':>8} {'hit':>8} {'turn':>8}"
    )
    for p in result.periods:
        hit = "     n/a" if p.hit_rate is None else f"{p.hit_rate:8.2f}"
        print(
            f"{p.signal_date:10} {p.entry_date:10} {p.exit_date:10} {p.count:>5} {pct(p.gross_return)} "
            f"{pct(p.net_return)} {pct(p.benchmark_return)} {pct(p.excess)} {hit} {p.turnover:8.2f}"
        )
    s = result.summary
    rows = [("strategy (net)", s.strategy), ("benchmark", s.benchmark)]
    if s.benchmark_symbol is not None:
        rows.append((result.benchmark_symbol or "symbol", s.benchmark_symbol))
    print(f"{'':16} {'total%':>8} {'CAGR%':>8} {'vol%':>8} {'Sharpe':>8} {'maxDD%':>8}  drawdown peak..trough")
    for name, st in rows:
        sharpe = "     n/a" if st.sharpe is None else f"{st.sharpe:8.2f}"
        print(
            f"{name:16} {pct(st.total_return)} {pct(st.cagr)} {pct(st.volatility)} {sharpe} "
            f"{pct(st.max_drawdown)}  {st.max_drawdown_peak or '-'}..{st.max_drawdown_trough or '-'}"
        )
    print(
        f"periods {s.periods} (invested {s.invested_periods}), avg holdings {s.avg_holdings:.1f}, "
        f"hit rate {'n/a' if s.hit_rate is None else f'{s.hit_rate:.3f}'}, "
        f"avg excess {pct(s.avg_excess).strip()}% (invested periods {pct(s.avg_excess_invested).strip()}%), "
        f"avg turnover {'n/a' if s.avg_turnover is None else f'{s.avg_turnover:.3f}'}, "
        f"total cost {pct(s.total_cost).strip()}%"
    )
    print(f"hit rate: {result.definitions['hit_rate']}")
    for w in result.warnings:
        print(f"warning: {w}")
    return 0


def _backtest_help() -> str:
    from stockscreen.screening.backtest_stats import DEFINITIONS

    lines = [
        "Signals on the last session of each week/month; positions bought at the next session's open "
        "(--entry same_close: at the signal's own close, optimistic) and sold by the same rule at the next "
        "rebalance, or after --hold sessions. A delisted security leaves at its last close. Returns are "
        "shown in percent; JSON and CSV hold fractions and every holding of every period.",
        "",
    ]
    lines += [f"{k}: {v}" for k, v in DEFINITIONS.items()]
    return "\n".join(lines)


def cmd_demo_synth(args: argparse.Namespace) -> int:
    """A synthetic whole market in the demo files' formats (load it with ``stockscreen ingest csv``)."""
    from stockscreen.market import synth

    if not 1 <= args.securities <= 100_000 or not 1 <= args.years <= 50:
        raise ValueError("--securities takes 1 to 100000, --years 1 to 50")
    market = synth.generate(args.securities, args.years, seed=args.seed)
    paths = synth.write(market, Path(args.out))
    sizes = f"{len(market.symbols)} securities over {len(market.dates)} sessions"
    print(f"{market.bar_count} bars of {sizes} (seed {args.seed})")
    for path in paths:
        print(f"  {path}")
    print("load them with: stockscreen ingest csv " + " ".join(str(p) for p in paths))
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
    run.add_argument("--date", type=_day, help="fetch this trading day's bars from the online provider (Stooq)")
    run.set_defaults(func=cmd_ingest_run)
    bf = ing.add_parser("backfill", help="fetch a date range from the online provider, one run per chunk")
    bf.add_argument("--from", dest="start", type=_day, required=True)
    bf.add_argument("--to", dest="end", type=_day, required=True)
    bf.add_argument("--chunk-days", type=int, default=31, help="calendar days per run (default 31)")
    bf.set_defaults(func=cmd_ingest_backfill)
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
    m = sub.add_parser("mail", help="the dev mailbox: emails sent through the local SES endpoint, headers included")
    m.add_argument(
        "--url",
        default=f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/dev/mail",
        help="the dev mailbox of a running make dev",
    )
    m.add_argument("--last", type=int, default=20, help="show the newest N")
    m.add_argument("--format", choices=["text", "json"], default="text")
    m.set_defaults(func=cmd_mail)
    al = sub.add_parser("alerts", help="alerts").add_subparsers(dest="alerts_command", required=True)
    dlq = al.add_parser("dlq", help="fired alerts whose delivery failed (the delivery dead-letter queue)")
    dlq.add_argument("--redrive", action="store_true", help="move them back to the delivery queue")
    dlq.set_defaults(func=cmd_alerts_dlq)
    bt = sub.add_parser(
        "backtest",
        help='backtest a screen, e.g. stockscreen backtest "rsi14 < 30" --from 2014-01-01',
        epilog=_backtest_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bt.add_argument("query")
    bt.add_argument("--from", dest="start", help="first signal date (YYYY-MM-DD)")
    bt.add_argument(
        "--to", dest="end", help="end of the test: the last exit is signalled on it (default: the latest date)"
    )
    bt.add_argument("--rebalance", choices=["weekly", "monthly"], default="monthly")
    bt.add_argument(
        "--entry",
        choices=["next_open", "same_close"],
        default="next_open",
        help="next_open (default): trade at the next session's open; same_close: at the signal's close (optimistic)",
    )
    bt.add_argument("--hold", type=int, metavar="N", help="sell after N sessions (default: at the next rebalance)")
    bt.add_argument("--cost-bps", type=float, default=10.0, help="cost of every buy and sell, bps (default 10)")
    bt.add_argument("--slippage-bps", type=float, default=5.0, help="slippage of every trade, bps (default 5)")
    bt.add_argument("--benchmark", metavar="SYMBOL", help="also measure this symbol over the same dates")
    bt.add_argument("--format", choices=["table", "json", "csv"], default="table")
    bt.set_defaults(func=cmd_backtest)
    demo = sub.add_parser("demo", help="demo data").add_subparsers(dest="demo_command", required=True)
    sy = demo.add_parser(
        "synth", help="write a seeded synthetic market (bars, constituents, fundamentals) for benchmarks at scale"
    )
    sy.add_argument("--securities", type=int, default=10_000, help="how many securities (default 10000)")
    sy.add_argument("--years", type=int, default=20, help="years of daily sessions (default 20)")
    sy.add_argument("--out", default="synth-market", help="output folder (default ./synth-market)")
    sy.add_argument("--seed", type=int, default=7, help="random seed: the same seed writes the same files")
    sy.set_defaults(func=cmd_demo_synth)
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
