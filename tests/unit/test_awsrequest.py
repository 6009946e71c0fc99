"""The standard-library SigV4 signer of :mod:`stockscreen.core.awsrequest` signs exactly as botocore does,
for both requests it sends (STS, query protocol; Secrets Manager, JSON protocol), with and without a
session token, on AWS's endpoints and a local one; and the light path is taken only where it applies."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from stockscreen.core import awsrequest
from stockscreen.core.clients import reset_clients

REQUESTS = {
    "sts": (
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        b"Action=GetCallerIdentity&Version=2011-06-15",
    ),
    "secretsmanager": (
        {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "secretsmanager.GetSecretValue"},
        b'{"SecretId": "arn:aws:secretsmanager:eu-west-1:1:secret:jwt-AbC", "VersionStage": "AWSCURRENT"}',
    ),
}


@pytest.mark.parametrize("service", sorted(REQUESTS))
@pytest.mark.parametrize("token", [None, "FQoGZXIvYXdzE//token+with/slashes=="])
@pytest.mark.parametrize("url", ["https://{service}.eu-west-1.amazonaws.com", "http://127.0.0.1:4566"])
def test_signature_is_botocores(service: str, token: str | None, url: str) -> None:
    headers, body = REQUESTS[service]
    url = url.format(service=service)
    boto = AWSRequest(method="POST", url=url, headers=dict(headers), data=body)
    SigV4Auth(
        BotoCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token), service, "eu-west-1"
    ).add_auth(boto)
    when = dt.datetime.strptime(boto.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    ours = awsrequest.sign(
        "POST",
        url,
        headers,
        body,
        service=service,
        region="eu-west-1",
        credentials=awsrequest.Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token),
        now=when,
    )
    assert ours["authorization"] == boto.headers["Authorization"]
    assert ours.get("x-amz-security-token") == token


@pytest.mark.parametrize("token", [None, "tok/en+=="])
@pytest.mark.parametrize(
    "url",
    [
        "https://stockscreen-snapshots.s3.eu-west-1.amazonaws.com/snapshots/7-0a1b2c3d4e5f/bar_o.npy",
        "http://127.0.0.1:4566/stockscreen-snapshots/snapshots/7-0a1b2c3d4e5f/manifest.json",
        "http://127.0.0.1:4566/b/odd%20key%2Bwith%3Dchars/x~y",
    ],
)
def test_s3_signature_is_botocores(token: str | None, url: str) -> None:
    boto = AWSRequest(method="GET", url=url, headers={}, data=b"")
    creds = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    S3SigV4Auth(BotoCredentials(*creds), "s3", "eu-west-1").add_auth(boto)
    when = dt.datetime.strptime(boto.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    ours = awsrequest.sign(
        "GET", url, {}, b"", service="s3", region="eu-west-1", credentials=awsrequest.Credentials(*creds), now=when
    )
    assert ours["authorization"] == boto.headers["Authorization"]
    assert ours["x-amz-content-sha256"] == boto.headers["X-Amz-Content-SHA256"]


def test_object_urls(env: pytest.MonkeyPatch) -> None:
    assert awsrequest.object_url("snaps", "snapshots/1-ab/a b.npy") == (
        "https://snaps.s3.eu-west-1.amazonaws.com/snapshots/1-ab/a%20b.npy"
    )
    assert awsrequest.object_url("my.snaps", "k").startswith("https://s3.eu-west-1.amazonaws.com/my.snaps/")
    env.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566/")
    reset_clients()
    assert awsrequest.object_url("snaps", "k") == "http://127.0.0.1:4566/snaps/k"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("AWS_ENDPOINT_URL", "AWS_USE_FIPS_ENDPOINT", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://x/y")
    monkeypatch.setenv("REDIS_URL", "redis://x")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKID")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    reset_clients()
    yield monkeypatch
    reset_clients()


def test_light_path_in_lambda_and_locally(env: pytest.MonkeyPatch) -> None:
    env.setenv("AWS_SESSION_TOKEN", "tok")
    assert awsrequest.light_credentials() == awsrequest.Credentials("AKID", "secret", "tok")
    assert awsrequest.endpoint("sts") == "https://sts.eu-west-1.amazonaws.com"
    env.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    reset_clients()
    assert awsrequest.light_credentials() is not None
    assert awsrequest.endpoint("secretsmanager") == "http://127.0.0.1:5000"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AWS_ACCESS_KEY_ID", None),  # a profile, SSO, the instance role: botocore finds those
        ("AWS_USE_FIPS_ENDPOINT", "true"),
        ("AWS_DEFAULT_REGION", "cn-north-1"),
        ("AWS_DEFAULT_REGION", "us-gov-west-1"),
    ],
)
def test_boto3_where_the_light_path_does_not_apply(env: pytest.MonkeyPatch, name: str, value: str | None) -> None:
    if value is None:
        env.delenv(name)
    else:
        env.setenv(name, value)
    reset_clients()
    assert awsrequest.light_credentials() is None


def test_unreachable_endpoint_is_the_aws_503(env: pytest.MonkeyPatch) -> None:
    from devstack.services import free_port
    from stockscreen.core.errors import unavailable_from

    env.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens
    reset_clients()
    creds = awsrequest.light_credentials()
    assert creds is not None
    with pytest.raises(awsrequest.EndpointUnreachable) as err:
        awsrequest.get_caller_identity(creds)
    down = unavailable_from(err.value)
    assert down is not None and down.dependency == "aws"


def test_error_codes_of_both_protocols() -> None:
    assert awsrequest._error(b'{"__type":"ResourceNotFoundException","message":"no"}') == (
        "ResourceNotFoundException",
        "no",
    )
    assert awsrequest._error(b'{"__type":"com.amazonaws.sm#ThrottlingException"}')[0] == "ThrottlingException"
    xml = b"<ErrorResponse><Error><Code>InvalidClientTokenId</Code></Error></ErrorResponse>"
    assert awsrequest._error(xml)[0] == "InvalidClientTokenId"
