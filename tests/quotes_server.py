"""A local HTTP server answering like Stooq's light quote CSV from recorded rows, with injected faults."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.conftest import FIXTURES

HEADER = "Symbol,Date,Time,Open,High,Low,Close,Volume"


def recorded_rows() -> dict[str, str]:
    """Ticker (``AAPL.US``) -> its recorded row."""
    lines = (FIXTURES / "stooq" / "quotes.csv").read_text().splitlines()
    return {line.split(",", 1)[0]: line for line in lines[1:] if line.strip()}


class FakeStooqQuotes:
    def __init__(self) -> None:
        self.rows = recorded_rows()
        self.slow: set[str] = set()  # tickers (lower case, 'aapl.us') whose request never answers in time
        self.failing: set[str] = set()  # tickers whose request answers HTTP 503
        self.dropped: set[str] = set()  # tickers left out of the answer (a partial batch)
        self.garbled: set[str] = set()  # tickers answered with a malformed row
        self.rate_limit_after: int | None = None  # answer HTTP 429 after this many requests
        self.retry_after: str | None = None
        self.stamp: dt.datetime | None = None  # answer every row as of this (aware) time instead of its own
        self.requests: list[list[str]] = []
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query, keep_blank_values=True)
                tickers = [t for t in query.get("s", [""])[0].split(" ") if t]  # '+' decodes to ' '
                with owner.lock:
                    owner.requests.append(tickers)
                    n = len(owner.requests)
                if owner.rate_limit_after is not None and n > owner.rate_limit_after:
                    self._send(
                        429, b"Too Many Requests", {"Retry-After": owner.retry_after} if owner.retry_after else {}
                    )
                    return
                if owner.slow & set(tickers):
                    time.sleep(1.0)
                if owner.failing & set(tickers):
                    self._send(503, b"busy")
                    return
                lines = [HEADER]
                for t in tickers:
                    if t in owner.dropped:
                        continue
                    if t in owner.garbled:
                        lines.append(f"{t.upper()},2018-02-07,22:00:00,abc,1,1,xyz,1")
                        continue
                    lines.append(owner.row(t))
                self._send(200, ("\r\n".join(lines) + "\r\n").encode())

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/csv")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/q/l/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def row(self, ticker: str) -> str:
        row = self.rows.get(ticker.upper())
        if row is None:
            return f"{ticker.upper()}," + ",".join(["N/D"] * 7)
        if self.stamp is not None:
            from zoneinfo import ZoneInfo

            local = self.stamp.astimezone(ZoneInfo("Europe/Warsaw"))
            fields = row.split(",")
            fields[1:3] = [local.strftime("%Y-%m-%d"), local.strftime("%H:%M:%S")]
            row = ",".join(fields)
        return row

    def add_rows(self, symbols: list[str], price: float = 100.0) -> None:
        """Rows for more symbols (for the benchmark), in the recorded rows' format."""
        for i, s in enumerate(symbols):
            p = price + i % 50
            t = s.lower().replace(".", "-") + ".us"
            self.rows[t.upper()] = f"{t.upper()},2018-02-07,21:59:{i % 60:02d},{p},{p + 1},{p - 1},{p + 0.5},{1000 + i}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
