"""The fan-out benchmark's gateway process: the local WebSocket gateway over the real ``functions/ws`` handlers
(Redis registry), plus ``POST /bench/tick`` which publishes one tick of quotes through the production
:class:`~stockscreen.realtime.broadcaster.Broadcaster` (registry lookup, frames, posts) on a worker thread,
as ``make dev``'s poller does. Run by ``tests/bench/test_ws_fanout_bench.py`` in its own process, so the
clients and the gateway do not share a GIL.

    python -m tests.bench.ws_fanout_server PORT SYMBOLS

With ``WS_FANOUT_PROFILE=/tmp/prof`` each tick runs under cProfile (the loop's work and the tick thread's, kept
apart): ``/tmp/prof.loop`` and ``/tmp/prof.thread``, cumulative over the ticks, for ``pstats``.
"""

from __future__ import annotations

import asyncio
import cProfile
import datetime as dt
import gc
import os
import resource
import sys
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from devstack.lambdas import load_module
from devstack.wsgateway import UVICORN_WS_OPTIONS, LocalManagementClient, WebSocketGateway
from stockscreen.realtime.broadcaster import Broadcaster
from stockscreen.realtime.connections import connection_registry
from stockscreen.realtime.messages import Quote


def main(port: int, n_symbols: int) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    handlers = load_module("functions/ws/handlers.py", "stockscreen_ws_handlers")
    gateway = WebSocketGateway(handlers)
    registry = connection_registry()
    broadcaster = Broadcaster(LocalManagementClient(gateway, timeout=60), registry)
    symbols = [f"S{i:03d}" for i in range(n_symbols)]
    price = [100.0]
    profile_to = os.environ.get("WS_FANOUT_PROFILE", "")  # cProfile the ticks: <path>.loop and <path>.thread
    prof_loop, prof_thread = cProfile.Profile(), cProfile.Profile()
    gc_spent = [0.0, 0.0]  # seconds in the cyclic collector; when the running collection started

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_spent[1] = time.perf_counter()
        else:
            gc_spent[0] += time.perf_counter() - gc_spent[1]

    gc.callbacks.append(on_gc)

    def tick() -> dict[str, float]:
        if profile_to:
            prof_thread.enable()
        t0 = time.perf_counter()
        now = dt.datetime.now(dt.UTC)
        price[0] += 0.01
        quotes = [Quote(symbol=s, price=price[0], change_pct=0.1, volume=1000, ts=now) for s in symbols]
        t1 = time.perf_counter()
        frames = broadcaster.frames_for(quotes)  # the registry lookup and each connection's frames
        t2 = time.perf_counter()
        result = broadcaster.post_all(frames)  # queued on the gateway's loop, one hop
        t3 = time.perf_counter()
        if profile_to:
            prof_thread.disable()
        return {
            "quotes_ms": (t1 - t0) * 1000,
            "lookup_and_frames_ms": (t2 - t1) * 1000,
            "post_ms": (t3 - t2) * 1000,
            "posts": result.posts,
            "delivered": result.delivered,
            "gone": len(result.gone),
            "t0": t0,
        }

    async def tick_route(request: Request) -> JSONResponse:
        cpu0 = time.process_time()
        gc0 = gc_spent[0]
        if profile_to:
            prof_loop.enable()
        out = await asyncio.to_thread(tick)
        waiting = [c for c in list(gateway.connections.values()) if c.unsent()]  # bytes not taken by a socket yet
        while waiting:  # (polling only those: the clients' process needs the CPU more than this one)
            await asyncio.sleep(0.001)
            waiting = [c for c in waiting if c.unsent() and not c.closing]
        if profile_to:
            prof_loop.disable()
            prof_loop.dump_stats(profile_to + ".loop")
            prof_thread.dump_stats(profile_to + ".thread")
        out["written_ms"] = (time.perf_counter() - out.pop("t0")) * 1000
        out["cpu_ms"] = (time.process_time() - cpu0) * 1000  # the gateway process's CPU for the whole tick
        out["gc_ms"] = (gc_spent[0] - gc0) * 1000  # of which the cyclic garbage collector's
        return JSONResponse(out)

    async def stats_route(request: Request) -> JSONResponse:
        return JSONResponse({"connections": len(gateway.connections)})

    app = Starlette(
        routes=[
            *gateway.routes(),
            Route("/bench/tick", tick_route, methods=["POST"]),
            Route("/bench/stats", stats_route),
        ]
    )
    # what startup built (modules, handlers, clients) stays: frozen out of the collector's full passes, as in
    # `make dev`'s process, where the API freezes it after its first response (functions/api/chalicelib/http.py)
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="error",
        lifespan="off",
        backlog=4096,
        ws_max_queue=64,
        **UVICORN_WS_OPTIONS,
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
