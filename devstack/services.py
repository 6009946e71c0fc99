"""Start project-local PostgreSQL and Redis servers from the machine's binaries.

Used by ``make dev`` (persistent, under ``.local/``) and by the test suite (throwaway,
under a temporary directory). When running as root, PostgreSQL runs as the ``postgres``
user, since it refuses to run as root. When TimescaleDB is installed for the server's
version, the server preloads it (``shared_preload_libraries``), so the migrations take the
TimescaleDB path wherever they can (``TIMESCALEDB=auto``, see ``stockscreen.db.timescale``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


class ServiceError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_port(host: str, port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return
        time.sleep(0.1)
    raise ServiceError(f"nothing listens on {host}:{port} after {timeout:.0f}s")


def _pg_bindir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise ServiceError(
        "PostgreSQL server binaries not found: install them with 'apt-get install -y postgresql' or set DATABASE_URL"
    )


def pkglibdir(bindir: Path) -> Path | None:
    """The server's library directory (``$libdir``): what the ``pg_config`` next to its binaries
    says, else ``../lib`` of the binaries (Debian's layout), else None."""
    pg_config = bindir / "pg_config"
    if pg_config.exists():
        try:
            out = subprocess.run(
                [str(pg_config), "--pkglibdir"], check=True, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        if out and Path(out).is_dir():
            return Path(out)
    lib = bindir.parent / "lib"
    return lib if lib.is_dir() else None


#: libraries the server preloads when installed (TimescaleDB refuses to work unless preloaded)
PRELOADABLE = ("timescaledb",)


def preload_libraries(libdir: Path | None) -> list[str]:
    """The libraries of :data:`PRELOADABLE` installed in ``libdir`` (``timescaledb.so``: its loader)."""
    if libdir is None:
        return []
    return [name for name in PRELOADABLE if any((libdir / f"{name}{ext}").exists() for ext in (".so", ".dylib"))]


def server_options(port: int, datadir: Path, preload: list[str]) -> str:
    """The ``postgres`` options of a project-local server (``pg_ctl -o``)."""
    opts = (
        f"-p {port} -c listen_addresses=127.0.0.1 -k {datadir} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        "-c shared_buffers=256MB -c max_wal_size=4GB"
    )
    if preload:
        opts += f" -c shared_preload_libraries={','.join(preload)}"
    return opts


def _as_pg_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise ServiceError("running as root needs a 'postgres' user (apt-get install postgresql)") from exc
    return ["runuser", "-u", "postgres", "--", *cmd]


@dataclass
class Postgres:
    datadir: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def start(self) -> None:
        bindir = _pg_bindir()
        if port_open("127.0.0.1", self.port):
            return
        if not (self.datadir / "PG_VERSION").exists():
            self.datadir.mkdir(parents=True, exist_ok=True)
            self._chown(self.datadir)
            subprocess.run(
                _as_pg_user(
                    [
                        str(bindir / "initdb"),
                        "-D",
                        str(self.datadir),
                        "-U",
                        "postgres",
                        "--auth=trust",
                        "--encoding=UTF8",
                        "--locale=C.UTF-8",
                        "--no-sync",
                    ]
                ),
                check=True,
                stdout=subprocess.DEVNULL,
            )
        log = self.datadir / "server.log"
        opts = server_options(self.port, self.datadir, preload_libraries(pkglibdir(bindir)))
        subprocess.run(
            _as_pg_user(
                [str(bindir / "pg_ctl"), "-D", str(self.datadir), "-l", str(log), "-o", opts, "-w", "-t", "60", "start"]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        wait_port("127.0.0.1", self.port)

    def stop(self) -> None:
        if not (self.datadir / "postmaster.pid").exists():
            return
        bindir = _pg_bindir()
        subprocess.run(
            _as_pg_user([str(bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop"]),
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


@dataclass
class Redis:
    datadir: Path
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if port_open("127.0.0.1", self.port):
            return
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServiceError("redis-server not found: 'apt-get install -y redis-server' or set REDIS_URL")
        self.datadir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.datadir),
                "--daemonize",
                "yes",
                "--pidfile",
                str(self.datadir / "redis.pid"),
                "--logfile",
                str(self.datadir / "redis.log"),
            ],
            check=True,
        )
        wait_port("127.0.0.1", self.port)

    def stop(self) -> None:
        pidfile = self.datadir / "redis.pid"
        if not pidfile.exists():
            return
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pidfile.read_text().strip()), 15)
        pidfile.unlink(missing_ok=True)
