"""A lean Redis client for the request path: RESP2 over plain sockets, replies parsed by hiredis (C).

Why not redis-py here: importing it costs a cold API container ~60 ms of CPU before its first answer
(redis-py 8 imports asyncio, its cluster, sentinel and observability modules and reads package
metadata), about a quarter of the whole first request. What the request path asks of Redis is small: a
Lua script (rate limits, sign-in throttles), GET/SET (caches), EXISTS (the session denylist), hashes
(live quotes), PING (health) and pipelines of those. This module does exactly that, with redis-py's
method names and reply types for those commands, so callers read the same. redis-py stays for what needs
more (the WebSocket connection registry's WATCH transactions, pub/sub): ``clients.get_redis_py()``.

Behaviour, as the API had it with redis-py:
- ``redis://[user:password@]host[:port][/db]``, ``rediss://`` (TLS: ElastiCache in-transit encryption,
  the certificate and host name verified, against ``?ssl_ca_certs=`` when given) and ``unix:///path?db=N``;
  AUTH and SELECT on connect.
- A connect timeout (a stopped server is a refused connection, an unreachable one costs the timeout) and a
  read timeout; errors are :class:`RedisError` subclasses, never a hang.
- Connections are pooled per client and borrowed by one thread at a time (the local gateway serves
  several requests at once). A connection idle longer than ``max_idle_s`` is replaced rather than reused
  (a thawed Lambda's sockets may be dead); a reused connection the server dropped (a restart) is
  replaced and the commands sent once more, at once. A timeout is not retried (the command may have run).
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import hiredis

Arg = str | bytes | int | float


class RedisError(Exception):
    """Redis could not answer (or answered with an error)."""


class RedisConnectionError(RedisError):
    """No connection, or the connection broke."""


class RedisTimeoutError(RedisError):
    """No reply within the read timeout (the command may or may not have run)."""


class ResponseError(RedisError):
    """Redis answered with an error reply."""


class DataError(RedisError):
    """An argument Redis cannot take (None, a bool, a nested value)."""


@dataclass(frozen=True)
class Options:
    host: str = "127.0.0.1"
    port: int = 6379
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls: bool = False
    #: a CA bundle to verify the server's certificate with (the URL's ``ssl_ca_certs``, as redis-py names it);
    #: None: the system's (ElastiCache's certificates are signed by a public CA)
    ca_file: str | None = None
    unix_path: str | None = None
    connect_timeout_s: float = 1.0
    socket_timeout_s: float = 2.0
    max_idle_s: float = 30.0


def parse_url(url: str, **overrides: Any) -> Options:
    """Options from a ``redis://``, ``rediss://`` or ``unix://`` URL (ValueError for anything else)."""
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    db = int(query.get("db", "0"))
    if parts.scheme == "unix":
        opts = Options(unix_path=unquote(parts.path), db=db)
    elif parts.scheme in ("redis", "rediss"):
        path = parts.path.lstrip("/")
        opts = Options(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 6379,
            db=int(path) if path else db,
            tls=parts.scheme == "rediss",
            ca_file=query.get("ssl_ca_certs"),
        )
    else:
        raise ValueError(f"not a Redis URL (redis://, rediss:// or unix://): {parts.scheme or url!r}")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return Options(**{**opts.__dict__, "username": user, "password": password, **overrides})


def _arg(value: Any) -> Arg:
    if isinstance(value, bool) or not isinstance(value, str | bytes | int | float):
        raise DataError(f"invalid argument of type {type(value).__name__}: give str, bytes, int or float")
    return value


class _Connection:
    """One socket and its reply reader; used by one thread at a time."""

    def __init__(self, opts: Options) -> None:
        try:
            if opts.unix_path:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(opts.connect_timeout_s)
                sock.connect(opts.unix_path)
            else:
                sock = socket.create_connection((opts.host, opts.port), timeout=opts.connect_timeout_s)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                if opts.tls:
                    context = ssl.create_default_context(cafile=opts.ca_file)  # the certificate and name verified
                    sock = context.wrap_socket(sock, server_hostname=opts.host)
        except TimeoutError as exc:  # the builtin: socket.timeout
            raise RedisTimeoutError(f"timed out connecting to Redis: {exc}") from exc
        except OSError as exc:
            raise RedisConnectionError(f"cannot connect to Redis: {exc}") from exc
        sock.settimeout(opts.socket_timeout_s)
        self.sock = sock
        self.reader = hiredis.Reader(encoding="utf-8", replyError=ResponseError, protocolError=RedisConnectionError)
        self.used = time.monotonic()
        hello: list[tuple[Arg, ...]] = []
        if opts.password is not None:
            hello.append(("AUTH", opts.username, opts.password) if opts.username else ("AUTH", opts.password))
        if opts.db:
            hello.append(("SELECT", opts.db))
        try:
            for reply in self.request(hello) if hello else ():
                if isinstance(reply, ResponseError):
                    raise reply
        except RedisError:
            self.close()
            raise

    def request(self, commands: Sequence[Sequence[Arg]]) -> list[Any]:
        """Send every command in one write, then read one reply each (error replies are returned)."""
        payload = b"".join(hiredis.pack_command(tuple(_arg(a) for a in c)) for c in commands)  # type: ignore[arg-type]
        try:
            self.sock.sendall(payload)
            replies: list[Any] = []
            while len(replies) < len(commands):
                reply = self.reader.gets()
                if reply is False:  # not a whole reply yet
                    data = self.sock.recv(65536)
                    if not data:
                        raise RedisConnectionError("Redis closed the connection")
                    self.reader.feed(data)
                    continue
                replies.append(reply)
        except TimeoutError as exc:
            raise RedisTimeoutError(f"Redis did not answer within {self.sock.gettimeout()} s") from exc
        except OSError as exc:
            raise RedisConnectionError(f"connection to Redis broke: {exc}") from exc
        self.used = time.monotonic()
        return replies

    def close(self) -> None:
        with contextlib.suppress(OSError):  # closing a broken socket
            self.sock.close()


def _pairs(reply: Any) -> dict[str, Any]:
    return dict(zip(reply[::2], reply[1::2], strict=True)) if reply else {}


#: Reply conversions, as redis-py gives them (with decoded responses) for the commands used here.
_CALLBACKS: dict[str, Callable[[Any], Any]] = {
    "PING": lambda r: r == "PONG",
    "SET": lambda r: True if r == "OK" else None,
    "EXPIRE": bool,
    "PEXPIRE": bool,
    "HGETALL": _pairs,
    "SMEMBERS": lambda r: set(r or ()),
    "TIME": lambda r: (int(r[0]), int(r[1])),
}


def _convert(command: Sequence[Arg], reply: Any) -> Any:
    if isinstance(reply, ResponseError):
        raise reply
    name = command[0]
    callback = _CALLBACKS.get(name.upper() if isinstance(name, str) else "")
    return callback(reply) if callback is not None else reply


class _Commands:
    """The commands the request path uses, named and typed as redis-py's; each goes to ``_do``."""

    def _do(self, *args: Arg) -> Any:
        raise NotImplementedError

    def ping(self) -> Any:
        return self._do("PING")

    def get(self, name: str) -> Any:
        return self._do("GET", name)

    def set(self, name: str, value: Arg, ex: int | None = None, px: int | None = None, nx: bool = False) -> Any:
        args: list[Arg] = ["SET", name, value]
        if ex is not None:
            args += ["EX", ex]
        if px is not None:
            args += ["PX", px]
        if nx:
            args.append("NX")
        return self._do(*args)

    def delete(self, *names: str) -> Any:
        return self._do("DEL", *names)

    def exists(self, *names: str) -> Any:
        return self._do("EXISTS", *names)

    def expire(self, name: str, seconds: int) -> Any:
        return self._do("EXPIRE", name, seconds)

    def incr(self, name: str, amount: int = 1) -> Any:
        return self._do("INCRBY", name, amount)

    def hget(self, name: str, key: str) -> Any:
        return self._do("HGET", name, key)

    def hgetall(self, name: str) -> Any:
        return self._do("HGETALL", name)

    def hmget(self, name: str, keys: Sequence[str]) -> Any:
        return self._do("HMGET", name, *keys)

    def hset(
        self, name: str, key: str | None = None, value: Arg | None = None, mapping: Mapping[str, Arg] | None = None
    ) -> Any:
        args: list[Arg] = ["HSET", name]
        if key is not None:
            args += [key, _arg(value)]
        for k, v in (mapping or {}).items():
            args += [k, v]
        if len(args) == 2:
            raise DataError("HSET needs a key and value or a mapping")
        return self._do(*args)

    def publish(self, channel: str, message: Arg) -> Any:
        return self._do("PUBLISH", channel, message)

    def time(self) -> Any:
        return self._do("TIME")


class Pipeline(_Commands):
    """Commands queued and sent in one round trip by :meth:`execute` (in MULTI/EXEC when ``transaction``);
    the first error reply is raised, as redis-py does."""

    def __init__(self, client: Redis, transaction: bool) -> None:
        self._client = client
        self._transaction = transaction
        self._queue: list[tuple[Arg, ...]] = []

    def _do(self, *args: Arg) -> Pipeline:
        self._queue.append(args)
        return self

    def __len__(self) -> int:
        return len(self._queue)

    def execute(self) -> list[Any]:
        queue, self._queue = self._queue, []
        if not queue:
            return []
        if not self._transaction:
            replies = self._client._request(queue)
            return [_convert(c, r) for c, r in zip(queue, replies, strict=True)]
        replies = self._client._request([("MULTI",), *queue, ("EXEC",)])
        for reply in replies[:-1]:  # a command Redis refused to queue
            if isinstance(reply, ResponseError):
                raise reply
        results = replies[-1]
        if results is None:  # pragma: no cover - only after WATCH, which this client does not send
            raise ResponseError("transaction aborted")
        return [_convert(c, r) for c, r in zip(queue, results, strict=True)]


class Script:
    """A Lua script run by EVALSHA, loaded with EVAL when the server does not have it yet."""

    def __init__(self, client: Redis, source: str) -> None:
        self.registered_client = client
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1

    def __call__(self, keys: Sequence[str] = (), args: Sequence[Arg] = ()) -> Any:
        try:
            return self.registered_client._do("EVALSHA", self.sha, len(keys), *keys, *args)
        except ResponseError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        return self.registered_client._do("EVAL", self.source, len(keys), *keys, *args)


class Redis(_Commands):
    """A client: a pool of connections to one server (thread-safe; one connection per borrower)."""

    def __init__(self, options: Options | None = None) -> None:
        self.options = options or Options()
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **overrides: Any) -> Redis:
        return cls(parse_url(url, **overrides))

    def _borrow(self) -> tuple[_Connection, bool]:
        """A pooled connection (and True) when one was used recently; otherwise a new one (and False)."""
        stale: list[_Connection] = []
        conn: _Connection | None = None
        with self._lock:
            while self._idle:
                candidate = self._idle.pop()
                if time.monotonic() - candidate.used <= self.options.max_idle_s:
                    conn = candidate
                    break
                stale.append(candidate)
        for old in stale:
            old.close()
        if conn is not None:
            return conn, True
        return _Connection(self.options), False

    def _request(self, commands: Sequence[Sequence[Arg]]) -> list[Any]:
        conn, reused = self._borrow()
        try:
            replies = conn.request(commands)
        except RedisConnectionError:
            conn.close()
            if not reused:
                raise
            conn = _Connection(self.options)  # the server dropped a pooled connection: once more, at once
            try:
                replies = conn.request(commands)
            except RedisError:
                conn.close()
                raise
        except RedisError:
            conn.close()
            raise
        with self._lock:
            self._idle.append(conn)
        return replies

    def _do(self, *args: Arg) -> Any:
        return _convert(args, self._request([args])[0])

    def execute_command(self, *args: Arg) -> Any:
        return self._do(*args)

    def pipeline(self, transaction: bool = True) -> Pipeline:
        return Pipeline(self, transaction)

    def register_script(self, source: str) -> Script:
        return Script(self, source)

    def scan_iter(self, match: str | None = None, count: int | None = None) -> Iterator[str]:
        cursor = "0"
        extra: list[Arg] = []
        if match:
            extra += ["MATCH", match]
        if count:
            extra += ["COUNT", count]
        while True:
            cursor, keys = self._do("SCAN", cursor, *extra)
            yield from keys
            if cursor == "0":
                return

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
