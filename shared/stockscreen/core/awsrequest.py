"""Three AWS calls on a cold API container's first requests, signed with the standard library (SigV4).

``GET /health`` asks STS who it is (is the AWS endpoint up, are the credentials good?), the first
signed-in request reads the JWT signing keys from Secrets Manager, and the first screen of a new container
downloads the snapshot artifact's files from S3. Through boto3 each costs importing boto3 and botocore and
building a client from its service model: more than all the rest of a cold request together (README,
"Cold start"). Each is one request; this module signs them with Signature Version 4 (``hmac``/``hashlib``,
checked against botocore's signers in ``tests/unit/test_awsrequest.py``) and sends them with
``http.client``.

The light path is taken only when it is the same request botocore would send: credentials in the
environment (as Lambda provides them: key, secret, session token) and the endpoint either the configured
one (LocalStack/moto) or the service's regional endpoint in the ``aws`` partition. Anything else (a
profile or SSO credentials, FIPS endpoints, another partition) returns None from :func:`light_credentials`
and the caller uses its boto3 client, as before.

Failures: an unreachable or timing-out endpoint raises :class:`EndpointUnreachable` (the API's 503 for
"aws", as botocore's connection errors are); an error answer raises :class:`AwsError` with the service's
error code (``ResourceNotFoundException``). Timeouts and attempts are those of the boto3 clients.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import quote, urlsplit

from stockscreen.core.clients import AWS_CONNECT_TIMEOUT_S, AWS_MAX_ATTEMPTS
from stockscreen.core.config import core_settings

#: read timeout of these two short calls (the boto3 clients' default is 60 s, for services that may
#: take their time; neither of these does)
READ_TIMEOUT_S = 10.0


class EndpointUnreachable(ConnectionError):
    """The AWS endpoint did not answer (refused, timed out, closed the connection)."""


class AwsError(Exception):
    """An error answer from an AWS service: ``code`` is its error code, ``status`` the HTTP status."""

    def __init__(self, code: str, status: int, message: str = "") -> None:
        super().__init__(f"{code} ({status}): {message}" if message else f"{code} ({status})")
        self.code = code
        self.status = status


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str | None = None


def light_credentials() -> Credentials | None:
    """The environment's credentials when the light path applies (see the module docstring), else None."""
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not key or not secret:
        return None
    if os.environ.get("AWS_USE_FIPS_ENDPOINT", "").lower() == "true":
        return None
    s = core_settings()
    if s.aws_endpoint_url is None and not _standard_partition(s.aws_region):
        return None
    return Credentials(key, secret, os.environ.get("AWS_SESSION_TOKEN") or None)


def _standard_partition(region: str) -> bool:
    return not region.startswith(("cn-", "us-iso", "eu-isoe", "us-gov")) and region.count("-") >= 2


def endpoint(service: str) -> str:
    s = core_settings()
    return (s.aws_endpoint_url or f"https://{service}.{s.aws_region}.amazonaws.com").rstrip("/")


def object_url(bucket: str, key: str) -> str:
    """The URL of an S3 object, as botocore addresses it: path style on a configured endpoint
    (LocalStack/moto), virtual-hosted style on AWS."""
    path = quote(key, safe="/~")
    if core_settings().aws_endpoint_url or "." in bucket:  # (a dotted name breaks the TLS wildcard)
        return f"{endpoint('s3')}/{bucket}/{path}"
    return f"https://{bucket}.s3.{core_settings().aws_region}.amazonaws.com/{path}"


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def sign(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    *,
    service: str,
    region: str,
    credentials: Credentials,
    now: dt.datetime,
) -> dict[str, str]:
    """``headers`` plus Host, X-Amz-Date, the session token and the SigV4 Authorization header, for a
    request with no query string (as all three here are). S3's variant signs the payload's hash as the
    ``X-Amz-Content-SHA256`` header and takes the path as it is (already encoded, not normalised)."""
    parts = urlsplit(url)
    amz_date = now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    payload_hash = hashlib.sha256(body).hexdigest()
    out = {k.lower(): " ".join(v.split()) for k, v in headers.items()}
    if service == "s3":
        out["x-amz-content-sha256"] = payload_hash
    out["host"] = parts.netloc.removesuffix(":443") if parts.scheme == "https" else parts.netloc.removesuffix(":80")
    out["x-amz-date"] = amz_date
    if credentials.token is not None:
        out["x-amz-security-token"] = credentials.token
    names = sorted(out)
    signed_headers = ";".join(names)
    canonical = "\n".join(
        [
            method,
            (parts.path or "/") if service == "s3" else quote(parts.path or "/", safe="/~"),
            "",
            "".join(f"{k}:{out[k]}\n" for k in names),
            signed_headers,
            payload_hash,
        ]
    )
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + credentials.secret_key).encode()
    for part in (amz_date[:8], region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    out["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )
    return out


def _open(method: str, url: str, headers: dict[str, str], body: bytes) -> tuple[Any, Any]:
    """(connection, response) of one request; the caller reads the response and closes the connection."""
    import http.client  # on the first request sent: a screen whose artifact is on local disk sends none

    parts = urlsplit(url)
    conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = conn_cls(parts.hostname or "", parts.port, timeout=AWS_CONNECT_TIMEOUT_S)
    try:
        conn.connect()
        if conn.sock is not None:
            conn.sock.settimeout(READ_TIMEOUT_S)
        conn.request(method, parts.path or "/", body=body or None, headers=headers)
        return conn, conn.getresponse()
    except OSError as exc:  # refused, reset, timed out (socket.timeout is an OSError)
        conn.close()
        raise EndpointUnreachable(f"{parts.netloc}: {type(exc).__name__}") from exc


def call(
    service: str,
    headers: dict[str, str],
    body: bytes,
    credentials: Credentials,
    *,
    method: str = "POST",
    url: str | None = None,
    sink: Callable[[Any], None] | None = None,
) -> bytes:
    """Send a signed request to ``service`` (its endpoint, or ``url``); the answer's body, or, with
    ``sink``, the successful response handed to ``sink`` to read. Retried once (a fresh signature) when
    the endpoint is unreachable, throttles or fails (5xx), as the boto3 clients' standard retries do."""
    url = url or endpoint(service) + "/"
    region = core_settings().aws_region
    for attempt in range(1, AWS_MAX_ATTEMPTS + 1):
        signed = sign(
            method,
            url,
            headers,
            body,
            service=service,
            region=region,
            credentials=credentials,
            now=dt.datetime.now(dt.UTC),
        )
        try:
            conn, resp = _open(method, url, signed, body)
        except EndpointUnreachable:
            if attempt == AWS_MAX_ATTEMPTS:
                raise
            continue
        try:
            if resp.status < 300:
                if sink is None:
                    data: bytes = resp.read()
                    return data
                sink(resp)
                return b""
            code, message = _error(resp.read())
        except OSError as exc:
            raise EndpointUnreachable(f"{urlsplit(url).netloc}: {type(exc).__name__}") from exc
        finally:
            conn.close()
        if attempt == AWS_MAX_ATTEMPTS or not (resp.status >= 500 or "Throttl" in code):
            raise AwsError(code, resp.status, message)
    raise AssertionError("unreachable")  # pragma: no cover


def _error(data: bytes) -> tuple[str, str]:
    """The error code and message of an error answer (JSON protocol; the query protocol's XML)."""
    text = data.decode("utf-8", "replace")
    try:
        doc: Any = json.loads(text)
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        code = str(doc.get("__type") or doc.get("code") or "Unknown").rsplit("#", 1)[-1]
        return code, str(doc.get("message") or doc.get("Message") or "")
    start, end = text.find("<Code>"), text.find("</Code>")
    return (text[start + 6 : end] if 0 <= start < end else "Unknown"), ""


def get_caller_identity(credentials: Credentials) -> None:
    """STS GetCallerIdentity (raises when the endpoint is down or rejects the credentials)."""
    call(
        "sts",
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        b"Action=GetCallerIdentity&Version=2011-06-15",
        credentials,
    )


def get_secret_value(secret_id: str, version_stage: str, credentials: Credentials) -> dict[str, Any]:
    """Secrets Manager GetSecretValue: the answer's fields (``SecretString``, ``VersionId``, ...)."""
    body = json.dumps({"SecretId": secret_id, "VersionStage": version_stage}).encode()
    data = call(
        "secretsmanager",
        {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "secretsmanager.GetSecretValue"},
        body,
        credentials,
    )
    result: dict[str, Any] = json.loads(data)
    return result


def download(bucket: str, key: str, f: BinaryIO, credentials: Credentials) -> None:
    """S3 GetObject written to the file object ``f`` from its position (streamed; an absent object raises
    AwsError ``NoSuchKey``)."""

    def save(resp: Any) -> None:
        while chunk := resp.read(1 << 20):
            f.write(chunk)

    call("s3", {}, b"", credentials, method="GET", url=object_url(bucket, key), sink=save)
