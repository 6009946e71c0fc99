"""A load run against a running local stack at a realistic mix: anyone can rerun it.

    RATE_LIMIT_MULTIPLIER=1000 make dev         # in one terminal (every client is one address: raise the limits)
    .venv/bin/python -m tests.bench.load_run --minutes 10    # in another (reads .local/demo-login.json)

Mix (weights per HTTP client iteration, chosen from what the SPA does on its pages): screens 30%
(POST /api/screens/run, four query shapes), quotes 25% (GET /api/quotes, 20 symbols), bars 20% (GET
/api/securities/{s}/bars), watchlists 15% (GET /api/watchlists, signed in), sign-ins 5% (POST
/api/auth/login), the signed-in user 5% (GET /api/me); plus WebSocket clients that stay subscribed to
20 symbols each and count the quotes they receive. HTTP clients run closed-loop (next request when the
answer arrives) with a think time, as people do.

Printed: p50/p99/count/errors per route, requests per second, WebSocket messages, and the server's CPU and
peak resident memory (from /proc of the PID given with --pid, or of the process listening on the port).
Output lines are ``BENCH load_<what> <value> <unit>``, like every benchmark here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

SCREENS = [
    {"query": "pe < 20 and market_cap > 10e9", "sort": "market_cap", "limit": 50},
    {"query": "rsi14 < 40", "sort": "rsi14", "order": "asc", "limit": 50},
    {"filters": [], "sort": "symbol", "order": "asc", "limit": 50},
    {"query": "close > sma50 and volume > avg_volume_20", "sort": "change_pct", "limit": 25},
]
MIX = [("screens", 30), ("quotes", 25), ("bars", 20), ("watchlists", 15), ("signin", 5), ("me", 5)]


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failures: list[str] = field(default_factory=list)
    ws_messages: int = 0  # frames carrying quotes (a single quote, or a batch)
    ws_quotes: int = 0  # the quote updates in them
    ws_errors: int = 0
    ws_subscribed: int = 0

    def record(self, route: str, ms: float, status: int | str) -> None:
        """One answer: its status, or the name of the transport error that took its place (a timeout, a
        refused connection), which counts as an error with the time it took."""
        self.latencies[route].append(ms)
        if isinstance(status, str) or status >= 400:
            self.errors[route] += 1
            self.failures.append(f"{route}: {status}")


def _pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


class Proc:
    """CPU seconds and resident memory of one process, from /proc (Linux)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.tick = os.sysconf("SC_CLK_TCK")
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.peak_rss = 0

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / self.tick  # utime + stime

    def sample(self) -> None:
        rss = int(Path(f"/proc/{self.pid}/statm").read_text().split()[1]) * self.page
        self.peak_rss = max(self.peak_rss, rss)


def listening_pid(port: int) -> int | None:
    """The PID that owns the TCP socket listening on ``port`` (via /proc/net/tcp and /proc/*/fd)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:  # LISTEN
                inodes.add(parts[9])
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return int(pid)
        except OSError:
            continue
    return None


def _weighted_round_robin(rnd: random.Random) -> Iterator[str]:
    """The mix in its proportions, interleaved (smooth weighted round robin, as nginx balances), from a
    random point: every route comes up within each run of 100/weight requests."""
    current = {name: 0 for name, _ in MIX}
    total = sum(w for _, w in MIX)
    for _ in range(rnd.randrange(total)):
        _next(current, total)
    while True:
        yield _next(current, total)


def _next(current: dict[str, int], total: int) -> str:
    for name, weight in MIX:
        current[name] += weight
    best = max(current, key=lambda n: current[n])
    current[best] -= total
    return best


async def http_client(
    base: str,
    email: str,
    password: str,
    symbols: list[str],
    stats: Stats,
    stop: float,
    think_s: float,
    max_requests: int | None = None,
) -> None:
    rnd = random.Random()
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        token = ""
        for _ in range(3):  # a busy server may time the first sign-in out
            try:
                r = await c.post("/api/auth/login", json={"email": email, "password": password})
            except httpx.TransportError:
                continue
            token = r.json().get("access_token", "") if r.status_code == 200 else ""
            break
        auth = {"Authorization": f"Bearer {token}"}
        picks = _weighted_round_robin(rnd)
        sent = 0
        while time.monotonic() < stop and (max_requests is None or sent < max_requests):
            sent += 1
            route = next(picks)
            t = time.perf_counter()
            try:
                status: int | str = (await _request(c, route, rnd, symbols, email, password, auth)).status_code
            except httpx.TransportError as exc:  # a timeout or a dropped connection: an error, not the end
                status = type(exc).__name__
            stats.record(route, (time.perf_counter() - t) * 1000, status)
            await asyncio.sleep(rnd.expovariate(1 / think_s) if think_s > 0 else 0)


async def _request(
    c: httpx.AsyncClient,
    route: str,
    rnd: random.Random,
    symbols: list[str],
    email: str,
    password: str,
    auth: dict[str, str],
) -> httpx.Response:
    if route == "screens":
        return await c.post("/api/screens/run", json=rnd.choice(SCREENS))
    if route == "quotes":
        return await c.get("/api/quotes", params={"symbols": ",".join(rnd.sample(symbols, 20))})
    if route == "bars":
        return await c.get(f"/api/securities/{rnd.choice(symbols)}/bars", params={"limit": "250"})
    if route == "watchlists":
        return await c.get("/api/watchlists", headers=auth)
    if route == "signin":
        return await c.post("/api/auth/login", json={"email": email, "password": password})
    return await c.get("/api/me", headers=auth)


async def ws_client(url: str, symbols: list[str], stats: Stats, stop: float, done: asyncio.Event) -> None:
    import websockets

    try:
        async with websockets.connect(url, open_timeout=10) as ws:
            await ws.send(json.dumps({"action": "subscribe", "symbols": symbols}))
            while time.monotonic() < stop and not done.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=max(0.1, min(1.0, stop - time.monotonic())))
                except TimeoutError:
                    continue
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "quote":
                    stats.ws_messages += 1
                    stats.ws_quotes += 1
                elif kind == "quotes":  # the updates of one tick, batched in one frame
                    stats.ws_messages += 1
                    stats.ws_quotes += len(message.get("quotes", ()))
                elif kind == "subscribed":
                    stats.ws_subscribed += 1
    except Exception:
        stats.ws_errors += 1


async def run(args: argparse.Namespace) -> dict[str, float]:
    base = args.url.rstrip("/")
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        rows = (await c.post("/api/screens/run", json={"filters": [], "sort": "symbol", "limit": 500})).json()
    symbols = [r["symbol"] for r in rows.get("data", [])] or ["AAPL"]
    if len(symbols) < 20:
        symbols = (symbols * 20)[:20]
    pid = args.pid or listening_pid(int(httpx.URL(base).port or 80))
    proc = Proc(pid) if pid else None
    cpu0 = proc.cpu_s() if proc else 0.0
    stats = Stats()
    started = time.monotonic()
    stop = started + args.seconds
    ws_url = base.replace("http", "ws", 1) + "/ws"

    done = asyncio.Event()
    max_requests = getattr(args, "max_requests", None)

    async def sampler() -> None:
        while time.monotonic() < stop and proc is not None and not done.is_set():
            proc.sample()
            await asyncio.sleep(0.5)

    async def http_clients() -> None:
        await asyncio.gather(
            *(
                http_client(base, args.email, args.password, symbols, stats, stop, args.think, max_requests)
                for _ in range(args.clients)
            )
        )
        done.set()

    ws_tasks = [ws_client(ws_url, random.sample(symbols, 20), stats, stop, done) for _ in range(args.ws_clients)]
    await asyncio.gather(http_clients(), *ws_tasks, sampler())
    wall = time.monotonic() - started
    if stats.failures:
        print(f"load_run: {len(stats.failures)} failed requests, first: {stats.failures[:10]}", file=sys.stderr)
    out: dict[str, float] = {}
    total = 0
    for route, samples in sorted(stats.latencies.items()):
        total += len(samples)
        out[f"load_{route}_p50"] = _pct(samples, 50)
        out[f"load_{route}_p99"] = _pct(samples, 99)
        out[f"load_{route}_count"] = len(samples)
        out[f"load_{route}_errors"] = stats.errors.get(route, 0)
    every = [x for s in stats.latencies.values() for x in s]
    out["load_all_p50"] = statistics.median(every) if every else float("nan")
    out["load_all_p99"] = _pct(every, 99)
    out["load_requests_per_s"] = total / wall
    out["load_errors"] = sum(stats.errors.values())
    out["load_ws_messages"] = stats.ws_messages
    out["load_ws_quotes"] = stats.ws_quotes
    out["load_ws_errors"] = stats.ws_errors
    out["load_ws_subscribed"] = stats.ws_subscribed
    if proc is not None:
        out["load_server_cpu_percent"] = (proc.cpu_s() - cpu0) / wall * 100
        out["load_server_peak_rss"] = proc.peak_rss / 1024**2
    return out


UNITS = {
    "p50": "ms",
    "p99": "ms",
    "count": "count",
    "errors": "count",
    "per_s": "req/s",
    "messages": "count",
    "quotes": "count",
    "subscribed": "count",
}


def unit_of(name: str) -> str:
    if name.endswith("cpu_percent"):
        return "%"
    if name.endswith("peak_rss"):
        return "MB"
    return next((u for suffix, u in UNITS.items() if name.endswith(suffix)), "")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('PORT', '8000')}")
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--clients", type=int, default=16, help="concurrent HTTP clients (closed loop)")
    p.add_argument("--ws-clients", type=int, default=50, help="WebSocket clients, 20 symbols each")
    p.add_argument("--think", type=float, default=0.2, help="mean think time between requests, s")
    p.add_argument("--email", default=None)
    p.add_argument("--password", default=None)
    p.add_argument("--pid", type=int, default=None, help="server PID for CPU/memory (default: the port's owner)")
    args = p.parse_args(argv)
    args.seconds = args.minutes * 60
    if args.email is None or args.password is None:
        saved = Path(os.environ.get("STOCKSCREEN_LOCAL_DIR", ".local")) / "demo-login.json"
        try:
            login: dict[str, Any] = json.loads(saved.read_text())
        except OSError:
            print(f"load_run: no --email/--password and no {saved} (start make dev first)", file=sys.stderr)
            return 2
        args.email, args.password = login["email"], login["password"]
    print(
        f"load_run: {args.clients} HTTP + {args.ws_clients} WebSocket clients, {args.minutes:g} min, {args.url}",
        file=sys.stderr,
    )
    for name, value in asyncio.run(run(args)).items():
        print(f"BENCH {name} {value:.3f} {unit_of(name)}".rstrip(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
