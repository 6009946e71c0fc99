"""The lean Redis client of the request path (``stockscreen.core.resp``) against a real Redis server:
replies as redis-py gives them, pipelines and transactions, scripts after a SCRIPT FLUSH, AUTH and SELECT,
a pooled connection the server dropped, idle connections replaced, timeouts and refused connections, and
many threads at once."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis

from devstack.services import free_port, wait_port
from stockscreen.core import resp


@pytest.fixture
def r(redis_url: str) -> Iterator[resp.Redis]:
    client = resp.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def key() -> str:
    return f"test:resp:{uuid.uuid4().hex}"


def test_urls() -> None:
    o = resp.parse_url("redis://:s%40cret@cache.internal:6380/3")
    assert (o.host, o.port, o.db, o.username, o.password, o.tls) == ("cache.internal", 6380, 3, None, "s@cret", False)
    o = resp.parse_url("rediss://app:pw@master.example.cache.amazonaws.com:6379")
    assert (o.host, o.db, o.username, o.password, o.tls) == ("master.example.cache.amazonaws.com", 0, "app", "pw", True)
    o = resp.parse_url("unix:///run/redis.sock?db=2")
    assert (o.unix_path, o.db) == ("/run/redis.sock", 2)
    assert resp.parse_url("redis://localhost", connect_timeout_s=0.5).connect_timeout_s == 0.5
    with pytest.raises(ValueError, match="not a Redis URL"):
        resp.parse_url("http://localhost:6379")


def test_replies_match_redis_py(r: resp.Redis, redis_url: str, key: str) -> None:
    py = redis.Redis.from_url(redis_url, decode_responses=True)
    assert r.ping() is True
    assert r.set(key, "v", ex=30) is True and r.get(key) == "v"
    assert r.set(key, "w", nx=True) is None and r.get(key) == "v"  # NX on an existing key: nil, as redis-py
    assert r.exists(key, f"{key}:none") == py.exists(key, f"{key}:none") == 1
    assert r.expire(key, 60) is True and 0 < py.ttl(key) <= 60
    assert r.incr(f"{key}:n") == 1 and r.incr(f"{key}:n", 5) == 6
    assert r.hset(f"{key}:h", mapping={"a": "1", "b": 2}) == 2 and r.hset(f"{key}:h", "c", 3.5) == 1
    assert r.hgetall(f"{key}:h") == py.hgetall(f"{key}:h") == {"a": "1", "b": "2", "c": "3.5"}
    assert r.hget(f"{key}:h", "b") == "2" and r.hmget(f"{key}:h", ["a", "zz"]) == ["1", None]
    assert r.hgetall(f"{key}:none") == {} and r.get(f"{key}:none") is None
    sec, usec = r.time()
    assert abs(sec - time.time()) < 5 and 0 <= usec < 1_000_000
    assert r.publish(f"{key}:chan", "x") == 0
    assert r.delete(key, f"{key}:n", f"{key}:h") == 3
    with pytest.raises(resp.ResponseError, match="WRONGTYPE"):
        r.hset(key, "a", 1) and r.incr(key)
    with pytest.raises(resp.DataError):
        r.set(key, None)  # type: ignore[arg-type]
    with pytest.raises(resp.DataError):
        r.set(key, True)
    r.delete(key)


def test_pipelines_and_transactions(r: resp.Redis, key: str) -> None:
    pipe = r.pipeline(transaction=False)
    pipe.set(key, 1).incr(key).get(key).hgetall(f"{key}:none")
    assert len(pipe) == 4 and pipe.execute() == [True, 2, "2", {}]
    assert pipe.execute() == []  # emptied
    tx = r.pipeline(transaction=True)
    tx.set(f"{key}:c", 0, ex=60, nx=True)
    tx.incr(f"{key}:c")
    assert tx.execute() == [True, 1]
    bad = r.pipeline(transaction=False)
    bad.incr(key).hset(key, "a", 1).get(key)  # the second one fails on a string
    with pytest.raises(resp.ResponseError, match="WRONGTYPE"):
        bad.execute()
    assert r.get(key) == "3"  # the first ran
    r.delete(key, f"{key}:c")


def test_scripts_load_themselves_after_a_flush(r: resp.Redis, key: str) -> None:
    script = r.register_script("redis.call('SET', KEYS[1], ARGV[1]) return {KEYS[1], redis.call('GET', KEYS[1])}")
    r.execute_command("SCRIPT", "FLUSH")
    assert script(keys=[key], args=[7]) == [key, "7"]  # NOSCRIPT: sent whole once
    assert r.execute_command("SCRIPT", "EXISTS", script.sha) == [1]
    assert script(keys=[key], args=[8]) == [key, "8"]  # by SHA from now on
    with pytest.raises(resp.ResponseError):
        r.register_script("return redis.call('NOPE')")()
    r.delete(key)


def test_scan_iter_walks_every_key(r: resp.Redis, key: str) -> None:
    names = {f"{key}:{i}" for i in range(130)}
    pipe = r.pipeline(transaction=False)
    for n in names:
        pipe.set(n, 1)
    pipe.execute()
    assert set(r.scan_iter(match=f"{key}:*", count=20)) == names
    assert r.delete(*names) == 130


def test_auth_and_db_selection(redis_url: str, key: str) -> None:
    admin = redis.Redis.from_url(redis_url)
    user, password = f"t{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    admin.acl_setuser(user, enabled=True, passwords=[f"+{password}"], keys=["*"], commands=["+@all"])
    try:
        base = redis_url.rsplit("/", 1)[0] if redis_url.count("/") > 2 else redis_url
        authed = resp.Redis.from_url(base.replace("redis://", f"redis://{user}:{password}@") + "/5")
        assert authed.set(key, "in five") is True
        assert redis.Redis.from_url(base + "/5", decode_responses=True).get(key) == "in five"
        assert admin.get(key) is None or redis_url.endswith("/5")
        authed.delete(key)
        wrong = resp.Redis.from_url(base.replace("redis://", f"redis://{user}:wrong@"))
        with pytest.raises(resp.ResponseError, match="WRONGPASS"):
            wrong.ping()
    finally:
        admin.acl_deluser(user)


def test_a_dropped_connection_is_replaced_and_the_command_sent_again(r: resp.Redis, redis_url: str, key: str) -> None:
    assert r.set(key, "before") is True
    pooled = r._idle[-1]
    ids = [c["id"] for c in redis.Redis.from_url(redis_url).client_list() if c.get("cmd") == "set"]
    assert ids
    for client_id in ids:
        redis.Redis.from_url(redis_url).client_kill_filter(_id=client_id)  # what a restart does to it
    assert r.get(key) == "before"  # the pooled socket is dead; a new one answers at once
    assert r._idle == [r._idle[-1]] and r._idle[-1] is not pooled
    r.delete(key)


def test_an_idle_connection_is_not_reused(redis_url: str, key: str) -> None:
    r = resp.Redis.from_url(redis_url, max_idle_s=0.0)
    r.set(key, 1)
    first = r._idle[-1]
    time.sleep(0.01)
    r.get(key)
    assert r._idle == [r._idle[-1]] and r._idle[-1] is not first  # replaced, the old one closed
    assert first.sock.fileno() == -1
    r.delete(key)


def test_refused_and_silent_servers_are_errors_not_hangs() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(resp.RedisConnectionError):
        resp.Redis.from_url(f"redis://127.0.0.1:{port}").ping()  # nothing listens: refused
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(silent.accept()[0]), daemon=True).start()
    try:
        client = resp.Redis.from_url(f"redis://127.0.0.1:{silent.getsockname()[1]}", socket_timeout_s=0.2)
        t = time.monotonic()
        with pytest.raises(resp.RedisTimeoutError):
            client.get("x")  # accepted, never answered
        assert time.monotonic() - t < 5
        assert client._idle == []  # a timed-out connection is not pooled
    finally:
        silent.close()
        for a in accepted:
            a.close()


def test_many_threads_share_one_client(r: resp.Redis, key: str) -> None:
    def work(i: int) -> list[object]:
        pipe = r.pipeline(transaction=False)
        pipe.set(f"{key}:{i}", i).get(f"{key}:{i}").incr(f"{key}:total")
        out = pipe.execute()
        return [out[1], r.get(f"{key}:{i}")]

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(work, range(400)))
    assert results == [[str(i), str(i)] for i in range(400)]  # no reply went to another thread
    assert r.get(f"{key}:total") == "400"
    assert 1 <= len(r._idle) <= 16
    r.delete(f"{key}:total", *(f"{key}:{i}" for i in range(400)))


def test_its_connection_errors_mean_redis_is_unavailable() -> None:
    """An uncaught failure of this client is the uniform 503 naming Redis (as redis-py's were), not a 500."""
    from stockscreen.core.errors import unavailable_from

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(resp.RedisConnectionError) as refused:
        resp.Redis.from_url(f"redis://127.0.0.1:{port}").get("x")
    down = unavailable_from(refused.value)
    assert down is not None and down.dependency == "redis" and "Redis is unavailable" in str(down)
    timeout = unavailable_from(resp.RedisTimeoutError("no answer"))
    assert timeout is not None and timeout.dependency == "redis"
    assert unavailable_from(resp.ResponseError("WRONGTYPE")) is None  # a bug of ours, not an outage


def _tls_files(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate it signed for localhost / 127.0.0.1 (what ElastiCache's TLS looks like,
    with a CA of our own instead of a public one)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("stockscreen test CA"))
        .issuer_name(name("stockscreen test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


def test_tls_verifies_the_servers_certificate(tmp_path: Path) -> None:
    """``rediss://`` against a real Redis TLS port: verified against the given CA, refused without it (the
    system's CAs do not know ours) and refused for a host name the certificate does not name."""
    ca, cert, key = _tls_files(tmp_path)
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1", "127.0.0.2", "--save", "",
         "--tls-cert-file", str(cert), "--tls-key-file", str(key), "--tls-ca-cert-file", str(ca),
         "--tls-auth-clients", "no"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_port("127.0.0.1", port)
        secure = resp.Redis.from_url(f"rediss://localhost:{port}/0?ssl_ca_certs={ca}")
        assert secure.options.tls and secure.ping() is True
        assert secure.set("tls:k", "over TLS") is True and secure.get("tls:k") == "over TLS"
        with pytest.raises(resp.RedisConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            resp.Redis.from_url(f"rediss://localhost:{port}/0").ping()  # not a CA the system trusts
        with pytest.raises(resp.RedisConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            resp.Redis.from_url(f"rediss://127.0.0.2:{port}/0?ssl_ca_certs={ca}", connect_timeout_s=0.5).ping()
        with pytest.raises(resp.RedisConnectionError):
            resp.Redis.from_url(f"redis://localhost:{port}/0", socket_timeout_s=0.5).ping()  # plain text to TLS
    finally:
        server.terminate()
        server.wait(10)
