"""The load-run script (tests/bench/load_run.py) works against a running local origin: a 4-second run with
2 HTTP and 2 WebSocket clients covers every route of the mix without an error."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import threading
import time
from pathlib import Path

import pytest

from devstack.gateway import create_app
from devstack.lambdas import load_api, load_module
from stockscreen.core import clients
from tests.bench import load_run
from tests.integration.authkit import clear_rate_limits, load_sample


def test_a_short_load_run_covers_the_mix_without_errors(
    stack_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import httpx
    import uvicorn

    from devstack.services import free_port

    load_sample(stack_env)
    clear_rate_limits(stack_env["REDIS_URL"])
    ws = load_module("functions/ws/handlers.py", "stockscreen_ws_handlers")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(load_api(), ws, tmp_path), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    monkeypatch.setenv("WS_MANAGEMENT_URL", f"http://127.0.0.1:{port}")  # the pushes go back through this origin
    clients.reset_clients()
    email, password = "load-run@example.com", "Quartz-Meadow-Violin-42"
    with contextlib.redirect_stdout(io.StringIO()):
        thread.start()
        while not server.started:
            time.sleep(0.02)
        try:
            r = httpx.post(
                f"http://127.0.0.1:{port}/api/auth/register",
                json={"email": email, "password": password, "display_name": "Load"},
            )
            assert r.status_code in (201, 409), r.text
            args = argparse.Namespace(
                url=f"http://127.0.0.1:{port}",
                seconds=120.0,
                max_requests=20,
                clients=2,
                ws_clients=2,
                think=0.05,
                email=email,
                password=password,
                pid=None,
            )
            out = asyncio.run(load_run.run(args))
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            clients.reset_clients()
    for route, _ in load_run.MIX:
        assert out.get(f"load_{route}_count", 0) >= 1, route
    assert out["load_errors"] == 0, capsys.readouterr().err
    assert out["load_ws_errors"] == 0
    assert out["load_ws_subscribed"] == 2
    assert out["load_ws_quotes"] >= out["load_ws_messages"]  # a batch frame counts each of its quotes
    assert load_run.unit_of("load_ws_quotes") == "count"
    assert out["load_requests_per_s"] > 0
    assert out["load_server_peak_rss"] > 0  # this process owns the listening socket
    assert load_run.unit_of("load_screens_p99") == "ms" and load_run.unit_of("load_server_peak_rss") == "MB"
