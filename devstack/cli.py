"""The ``stockscreen`` command: dev, stop, db upgrade, ingest run|csv|backfill, quality-report, screen,
mail, alerts dlq, backtest.

A Unix tool: stdout carries only the document a command was asked for (a table, JSON or CSV: every
``--format json|csv`` output parses whole), status and progress go to stderr (a progress bar on a
terminal), and an error is one line on stderr naming the file, line and cause (internals, such as the
state machine interpreter's trace, only with ``--verbose``). Exit codes (:data:`EXIT_CODES`).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import logging
import os
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from stockscreen.core import observability  # noqa: F401 - its log handler binds the process's stdout (fd 1)
from stockscreen.core.errors import DomainError

#: the exit codes (the README lists them too)
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_FAILED: "the command ran and failed: an ingest run failed, nothing to report, a service unreachable",
    EXIT_USAGE: "bad usage or bad input: an unknown option, a bad query, a file that cannot be read (file:line: cause)",
}


def status(msg: str) -> None:
    """A status line (stderr: stdout carries only the document)."""
    print(msg, file=sys.stderr, flush=True)


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
    status("database migrated to head")
    return 0


def _print_report(report: dict[str, Any]) -> None:
    """An ingest run's report: one line saying what it did (and why, when it loaded nothing)."""
    snapshot = f"; snapshot v{report['snapshot_version']}" if report.get("snapshot_version") is not None else ""
    note = report.get("note") or (
        f"{report['inserted']} bars inserted, {report['updated']} updated, {report['quarantined']} quarantined"
    )
    print(f"run {report['run_id']}: {note}{snapshot}")
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


def _execute(sources: list[dict[str, Any]], progress: bool = False, once: bool = False, verbose: bool = False) -> int:
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
            with _internals(verbose):
                result = _run_showing_states(machine, execution, quiet=bar is not None)
            if result["status"] != "SUCCEEDED":
                if bar:
                    bar.finish()
                if verbose:
                    status(f"stockscreen: states entered: {' > '.join(result.get('states') or [])}")
                    status(f"stockscreen: execution error: {result.get('error')}: {result.get('cause')}")
                line = failure_line(result.get("cause"))
                status(f"stockscreen: ingest failed: {line}")
                if once and i:
                    note = "the snapshot was not rebuilt: the next run that loads bars does"
                    status(f"stockscreen: {note}")
                # a bad input file (or source) is the caller's to fix; anything else failed here
                return EXIT_USAGE if line.startswith(("DataFileError:", "Invalid:")) else EXIT_FAILED
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


def _run_showing_states(machine: Any, execution: dict[str, Any], quiet: bool = False) -> dict[str, Any]:
    """Run one execution; on a terminal (stderr), a status line shows the state it is in meanwhile."""
    if quiet or not sys.stderr.isatty():
        return dict(machine.run(execution))
    import threading

    arn = machine.start(execution)
    done = threading.Event()
    out = sys.__stderr__ or sys.stderr

    def show() -> None:
        started = time.monotonic()
        while not done.wait(0.5):
            try:
                events = machine.sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
            except Exception:  # noqa: S112 - a status line is best effort: the next poll tries again
                continue
            entered = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
            fetched = entered.count("Fetch")
            where = entered[-1] if entered else "starting"
            detail = f" (file {fetched})" if where == "Fetch" else ""
            print(f"\r  ingest: {where}{detail} {time.monotonic() - started:5.0f}s   ", end="", file=out, flush=True)

    thread = threading.Thread(target=show, daemon=True)
    thread.start()
    try:
        return dict(machine.wait(arn))
    finally:
        done.set()
        thread.join(2)
        print("\r" + " " * 60 + "\r", end="", file=out, flush=True)


@contextlib.contextmanager
def _internals(verbose: bool) -> Iterator[None]:
    """What the in-process tasks print (their metrics, as Lambda prints them for CloudWatch) is no
    document: on stderr with --verbose, else dropped."""
    if verbose:
        with contextlib.redirect_stdout(sys.stderr):
            yield
        return
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        yield


def failure_line(cause: Any) -> str:
    """The error of a failed execution as one line (the cause, a task error's JSON reduced to its message)."""
    text = str(cause or "unknown error").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        text = f"{parsed.get('errorType', 'Error')}: {parsed['errorMessage']}"
    return text.splitlines()[0] if text else "unknown error"


class Progress:
    """A progress bar on a terminal (stderr); plain progress lines when stderr is not a TTY."""

    def __init__(self, total: int, width: int = 30) -> None:
        self.total = max(total, 1)
        self.width = width
        self.tty = sys.stderr.isatty()

    def update(self, done: int, label: str) -> None:
        pct = 100 * done / self.total
        if self.tty:
            filled = int(self.width * done / self.total)
            bar = "#" * filled + "-" * (self.width - filled)
            print(f"\r[{bar}] {done}/{self.total} {pct:5.1f}% {label[:60]:60}", end="", file=sys.stderr, flush=True)
        else:
            print(f"progress {done}/{self.total} ({pct:.0f}%) {label}", file=sys.stderr, flush=True)

    def finish(self) -> None:
        if self.tty:
            print(file=sys.stderr, flush=True)


def _file_source(args: argparse.Namespace, paths: list[Path]) -> dict[str, Any]:
    """The execution source of files given on the command line, with the format options."""
    from stockscreen.market.formats import parse_mapping

    source: dict[str, Any] = {"paths": [str(p.resolve()) for p in paths]}
    if getattr(args, "format", None):
        source["format"] = args.format
    mapping = parse_mapping(getattr(args, "map", None))
    if mapping:
        source["map"] = mapping
    if getattr(args, "known_only", False):
        source["known_only"] = True
    return source


def _run_ingest(args: argparse.Namespace, paths: list[Path]) -> int:
    for p in paths:
        if not p.exists():
            status(f"stockscreen: {p}: no such file")
            return EXIT_USAGE
    return _execute([_file_source(args, paths)], verbose=args.verbose)


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
            status("stockscreen: give either --date (online provider) or files, not both")
            return EXIT_USAGE
        day = previous_trading_day(args.date)
        if day != args.date:
            status(f"{args.date} is not an NYSE trading day; ingesting {day}")
        return _execute([{"provider": "stooq", "date": day.isoformat()}], verbose=args.verbose)
    paths = [Path(p) for p in args.paths] or [DEMO_DIR / f for f in DEMO_FILES]
    return _run_ingest(args, paths)


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
        status(f"stockscreen: --from {args.start} is after --to {args.end}")
        return EXIT_USAGE
    if args.end > dt.date.today():
        status(f"stockscreen: --to {args.end} is in the future")
        return EXIT_USAGE
    chunks = backfill_chunks(args.start, args.end, args.chunk_days)
    return _execute(chunks, progress=True, once=True, verbose=args.verbose)


def cmd_ingest_csv(args: argparse.Namespace) -> int:
    return _run_ingest(args, [Path(p) for p in args.paths])


#: The quality report's columns (a finding as `stockscreen quality-report` lists it).
FINDING_COLUMNS = ("rule", "severity", "action", "symbol", "date", "file", "line", "message")


def cmd_quality_report(args: argparse.Namespace) -> int:
    """Every finding of a run (filtered), then the counts per rule as a summary.

    table: the findings on stdout, the run and its counts on stderr; csv: the findings only (header
    first); json: one document ``{"run": ..., "summary": [...], "count": n, "findings": [...]}``."""
    import csv

    from stockscreen.core.errors import NotFound
    from stockscreen.pipeline.review import FindingFilter, QualityReview
    from stockscreen.pipeline.service import run_report

    with contextlib.redirect_stdout(sys.stderr):  # the services' start-up notes are status, not output
        _db_only()
    review = QualityReview.default()
    run_id = args.run or review.latest_run_id()
    if run_id is None:
        status("stockscreen: no ingest runs yet")
        return EXIT_FAILED
    try:
        report = run_report(str(run_id))
    except NotFound as exc:
        status(f"stockscreen: {exc.message}")
        return EXIT_FAILED
    which = FindingFilter(report["run_id"], args.rule, args.symbol, args.severity)
    findings, total = review.all_findings(which)
    rows = [{k: f[k] for k in FINDING_COLUMNS} for f in findings]
    if args.format == "json":
        keys = ("run_id", "status", "started_at", "finished_at", "duration_seconds", "error", "stats")
        run = {k: report[k] for k in keys}
        doc = {"run": run, "summary": report["quality"], "count": total, "findings": rows}
        print(json.dumps(doc, indent=2, default=str))
    elif args.format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=list(FINDING_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        _print_findings(rows)
        print(f"run {report['run_id']}  {report['status']}  started {report['started_at']}", file=sys.stderr)
        print(f"{'rule':28} {'severity':8} {'action':12} {'count':>7}", file=sys.stderr)
        for q in report["quality"]:
            print(f"{q['rule']:28} {q['severity']:8} {q['action']:12} {q['count']:>7}", file=sys.stderr)
        print(f"{total} finding(s) listed", file=sys.stderr)
    return 0


def _print_findings(rows: list[dict[str, Any]]) -> None:
    widths = {"rule": 22, "severity": 8, "action": 11, "symbol": 8, "date": 10, "file": 30}
    print(" ".join(f"{c:{w}}" for c, w in widths.items()) + " message")
    for r in rows:
        where = f"{r['file']}:{r['line']}" if r["file"] and r["line"] is not None else (r["file"] or "")
        cells = {**{c: "" if r[c] is None else str(r[c]) for c in widths}, "file": where}
        print(" ".join(f"{cells[c][:w]:{w}}" for c, w in widths.items()) + " " + r["message"])


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
    from stockscreen.screening.engine import MAX_LIMIT, ScreenRequest, compile_query, explain, run_all, to_csv
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
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit must be at least 1, got {args.limit}")
    req = ScreenRequest.from_body(
        {
            "query": args.query,
            "sort": args.sort,
            "order": "desc" if args.desc else "asc",
            "limit": MAX_LIMIT,
            "columns": columns,
            "as_of": as_of,
        }
    )
    # every matching row (--all) or the first --limit, paged internally past the API's page cap
    result = run_all(get_universe(get_engine()), req, None if args.all else args.limit)
    if args.format == "json":
        print(json.dumps(result.to_json(), indent=2, default=str))
        return 0
    if args.format == "csv":
        sys.stdout.write(to_csv(result))
        return 0
    _print_table(result.columns, result.data)
    status(
        f"{result.count} matches ({len(result.data)} shown), as of {result.as_of} (snapshot v{result.snapshot_version})"
    )
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


def _status(msg: str) -> None:
    print(f"stockscreen: {msg}", file=sys.stderr, flush=True)


def cmd_report(args: argparse.Namespace) -> int:
    """Render a report for a user to stdout (only the document; status on stderr); ``--send`` emails it
    through the workflow's steps (the dev mailbox shows it when make dev runs)."""
    from stockscreen.core.errors import Invalid, NotFound
    from stockscreen.reports import rendering

    fmt = args.format or ("csv" if args.kind == "screen" else "text")
    if fmt == "csv" and args.kind != "screen":
        raise Invalid("--format csv is for screen reports")
    if args.kind == "screen" and not args.screen:
        raise Invalid("a screen report needs --screen ID or NAME (one of the user's saved screens)")
    session = _day(args.session) if args.session else None
    if args.send:
        _wire_local()
        os.environ.setdefault("APP_BASE_URL", f"http://127.0.0.1:{os.environ.get('PORT', '8000')}")
    else:
        _db_only()
    from stockscreen.db.engine import get_engine
    from stockscreen.reports.wiring import builder

    engine = get_engine()
    b = builder(engine)
    user = b.repo.user_by_email(args.user)
    if user is None:
        raise NotFound(f"no user {args.user}")
    screen_id = None
    if args.kind == "screen":
        from stockscreen.core.paging import PageRequest

        mine = b.screens.list_mine(user["id"], PageRequest(limit=100))[0]
        match = [sc for sc in mine if args.screen in (sc["id"], sc["name"])]
        if not match:
            raise NotFound(f"{args.user} has no saved screen {args.screen!r}")
        screen_id = match[0]["id"]
    if args.send:
        return _send_report(args, user["id"], session, screen_id)
    if args.kind == "daily":
        data = b.daily(user["id"], session)
    elif args.kind == "weekly":
        data = b.weekly(user["id"], session)
    else:
        data = b.screen(user["id"], str(screen_id))
    if args.kind == "daily" and not data["changed"]:
        _status("nothing changed for this user in that session: the scheduled digest would not be sent")
    if fmt == "pdf":
        sys.stdout.buffer.write(rendering.pdf(data))
    elif fmt == "json":
        print(json.dumps(data, indent=2, default=str))
    elif fmt == "csv":
        sys.stdout.write(rendering.to_csv(data))
    else:
        sys.stdout.write(rendering.email_parts(data)["html" if fmt == "html" else "text"])
    sys.stdout.flush()
    _status(f"{data['title']} for {args.user} ({fmt})")
    return 0


def _send_report(args: argparse.Namespace, user_id: str, session: dt.date | None, screen_id: str | None) -> int:
    from stockscreen.core.errors import Invalid
    from stockscreen.db.engine import get_engine
    from stockscreen.reports.rendering import render_to_store
    from stockscreen.reports.wiring import workflow_service

    svc = workflow_service(get_engine())
    day = session or svc.last_session()
    if day is None:
        raise Invalid("no market data loaded yet")
    period = f"manual-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%S')}"
    item = {"user_id": user_id, "kind": args.kind, "period": period, "session": day.isoformat(),
            "screen_id": screen_id, "scheduled": False}  # fmt: skip
    built = svc.build(item)
    if built["skip"]:
        _status(f"not sent: {built['reason']}")
        return 1
    rendered = render_to_store(svc.store(), built["data_key"])
    svc.stored(rendered)
    sent = svc.send(rendered)
    _status(f"{args.kind} report sent to {args.user} (message {sent.get('message_id')}); run {built['run_id']}")
    if args.format:
        key = rendered["csv_key"] if args.format == "csv" else rendered["pdf_key"]
        if args.format in ("pdf", "csv") and key:
            sys.stdout.buffer.write(svc.store().get(key))
    return 0


def cmd_alerts_dlq(args: argparse.Namespace) -> int:
    """Show the fired alerts whose delivery failed 5 times; ``--redrive`` moves them back to be delivered."""
    from stockscreen.alerts.events import dead_letters

    dead = dead_letters()
    if args.redrive:
        print(f"moved {dead.redrive()} fired alert(s) back to the delivery queue")
        return 0
    seen = dead.look()
    for f in seen["messages"]:
        print(f"{f.get('fired_at')}  alert {f.get('alert_id')}  {f.get('symbol') or '-'}  {f.get('message')}")
    shown = len(seen["messages"])
    status(f"{seen['count']} in the dead-letter queue, {shown} shown (at most 10); --redrive moves them all back")
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
        status(f"warning: {w}")
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


def _formats_help() -> str:
    from stockscreen.market import formats

    doc = (formats.__doc__ or "").split("Formats (``FORMATS``):", 1)[-1].split("Any of these", 1)[0]
    return "Formats, detected from the header line and the file name:\n" + doc.replace("``", "'")


def _file_options(parser: argparse.ArgumentParser) -> None:
    from stockscreen.market.formats import FORMATS

    parser.add_argument(
        "--format", dest="format", choices=FORMATS, help="read every file in this format (default: detected)"
    )
    parser.add_argument(
        "--map",
        metavar="HEADER=field,...",
        help="name columns the detection does not know, e.g. Ticker=symbol,Day=date",
    )
    parser.add_argument(
        "--known-only",
        action="store_true",
        help="quarantine bars of symbols not in the security master instead of adding the symbols",
    )


def cmd_demo_synth(args: argparse.Namespace) -> int:
    """A synthetic whole market in the demo files' formats (load it with ``stockscreen ingest csv``)."""
    from stockscreen.market import synth

    if not 1 <= args.securities <= 100_000 or not 1 <= args.years <= 50:
        raise ValueError("--securities takes 1 to 100000, --years 1 to 50")
    market = synth.generate(args.securities, args.years, seed=args.seed)
    paths = synth.write(market, Path(args.out))
    sizes = f"{len(market.symbols)} securities over {len(market.dates)} sessions"
    status(f"{market.bar_count} bars of {sizes} (seed {args.seed})")
    for path in paths:
        print(path)
    status("load them with: stockscreen ingest csv " + " ".join(str(p) for p in paths))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="stockscreen",
        description="Stockscreen: local stack and tools. stdout carries only the requested document; "
        "status, progress and errors go to stderr.",
        epilog="exit codes: " + "; ".join(f"{k} {v}" for k, v in EXIT_CODES.items()),
    )
    p.add_argument("-v", "--verbose", action="store_true", help="show internals (logs, the failing execution's trace)")
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
    _file_options(run)
    run.set_defaults(func=cmd_ingest_run)
    bf = ing.add_parser("backfill", help="fetch a date range from the online provider, one run per chunk")
    bf.add_argument("--from", dest="start", type=_day, required=True)
    bf.add_argument("--to", dest="end", type=_day, required=True)
    bf.add_argument("--chunk-days", type=int, default=31, help="calendar days per run (default 31)")
    bf.set_defaults(func=cmd_ingest_backfill)
    c = ing.add_parser(
        "csv",
        help="load files (bars, listings, fundamentals; plain, gzip, zip or a folder) through the pipeline",
        description=_formats_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("paths", nargs="+", help="files (plain or .gz), zip archives or folders of them")
    _file_options(c)
    c.set_defaults(func=cmd_ingest_csv)
    q = sub.add_parser("quality-report", help="the data-quality report of an ingest run")
    q.add_argument("--run", help="run id (default: the latest)")
    q.add_argument("--format", choices=["table", "json", "csv"], default="table")
    q.add_argument("--rule", help="only this rule's findings (e.g. bad_print)")
    q.add_argument("--symbol", help="only this symbol's findings")
    q.add_argument("--severity", choices=["error", "warning", "info"], help="only findings of this severity")
    q.set_defaults(func=cmd_quality_report)
    s = sub.add_parser("screen", help='run a screen, e.g. stockscreen screen "market_cap > 100B and pe < 20"')
    s.add_argument("query")
    s.add_argument("--as-of", dest="as_of", help="evaluate on a past date (YYYY-MM-DD)")
    s.add_argument("--sort", default="market_cap")
    s.add_argument("--desc", action="store_true")
    s.add_argument("--limit", type=int, default=20, help="at most N rows (no page cap: paged internally)")
    s.add_argument("--all", action="store_true", help="every matching row")
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
    rp = sub.add_parser(
        "report",
        help="render a report to stdout (status on stderr): stockscreen report weekly --user demo@stockscreen.local",
    )
    rp.add_argument("kind", choices=["daily", "weekly", "screen"])
    rp.add_argument("--user", required=True, metavar="EMAIL")
    rp.add_argument("--screen", metavar="ID_OR_NAME", help="the saved screen of a screen report")
    rp.add_argument("--session", metavar="YYYY-MM-DD", help="the market session (default: the last one)")
    rp.add_argument(
        "--format",
        choices=["text", "html", "pdf", "json", "csv"],
        help="text (default), html (the email's parts), pdf, json (the figures), csv (screen reports)",
    )
    rp.add_argument("--send", action="store_true", help="email it (the local SES: see /dev/mail, stockscreen mail)")
    rp.set_defaults(func=cmd_report)
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


@contextlib.contextmanager
def document_stdout() -> Iterator[None]:
    """While a command runs: ``print()`` writes the document to stdout, and whatever else writes to
    file descriptor 1 (servers the command starts, log handlers bound to the process's stdout) goes
    to stderr instead, so stdout carries the document alone."""
    out = sys.stdout
    try:
        fd = out.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        fd = -1
    if fd != 1:  # (stdout is not the process's: a test capturing it, a pipe object)
        yield
        return
    out.flush()
    saved = os.dup(1)
    document: IO[str] = os.fdopen(os.dup(saved), "w", encoding=out.encoding or "utf-8", errors="replace")
    os.dup2(2, 1)
    sys.stdout = document
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            document.flush()
        sys.stdout = out
        with contextlib.suppress(OSError, ValueError):
            out.flush()
        os.dup2(saved, 1)
        os.close(saved)
        with contextlib.suppress(OSError, ValueError):
            document.close()


@contextlib.contextmanager
def _quiet_logs(verbose: bool) -> Iterator[None]:
    """Internals (the state machine interpreter, the tasks' JSON logs, HTTP servers) only with --verbose;
    the levels and warning filters are put back afterwards (``main`` may run inside another program)."""
    names = ("moto", "werkzeug", "botocore", "urllib3", "stockscreen", "stockscreen.dev", "alembic")
    saved = {name: logging.getLogger(name).level for name in names}
    level = logging.DEBUG if verbose else logging.CRITICAL
    with warnings.catch_warnings():
        if not verbose:  # (the Lambda metrics' "no application metrics" notice, and the like)
            warnings.filterwarnings("ignore", module=r"aws_lambda_powertools(\.|$)")
        for name in names:
            logging.getLogger(name).setLevel(level if verbose or name != "stockscreen.dev" else logging.WARNING)
        try:
            yield
        finally:
            for name, previous in saved.items():
                logging.getLogger(name).setLevel(previous)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with _quiet_logs(args.verbose), document_stdout():
        try:
            return int(args.func(args))
        except DomainError as exc:
            status(f"stockscreen: {exc.message}")
            return EXIT_USAGE
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            status(f"stockscreen: {where + ': ' if where else ''}{first['msg'].removeprefix('Value error, ')}")
            return EXIT_USAGE
        except ValueError as exc:
            status(f"stockscreen: {exc}")
            return EXIT_USAGE
        except KeyboardInterrupt:
            status("stockscreen: interrupted")
            return 130
        except Exception as exc:  # one line; the traceback with --verbose
            if args.verbose:
                raise
            line = (str(exc).strip().splitlines() or [""])[0]
            status(f"stockscreen: {type(exc).__name__}: {line} (--verbose shows the trace)")
            return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
