"""make dev's AWS endpoint: LocalStack (anything already on the port) or moto started in-process."""

from __future__ import annotations

import pytest

from devstack import dev
from devstack.services import free_port, port_open


def test_existing_endpoint_is_used_and_step_functions_get_a_private_moto(
    stack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    listening = int(stack_env["AWS_ENDPOINT_URL"].rsplit(":", 1)[1])
    monkeypatch.setenv("AWS_LOCAL_PORT", str(listening))
    monkeypatch.setenv("MOTO_PORT", str(listening))
    endpoint, sfn_endpoint, servers = dev.start_aws()
    try:
        assert endpoint == stack_env["AWS_ENDPOINT_URL"]
        assert sfn_endpoint != endpoint and port_open("127.0.0.1", int(sfn_endpoint.rsplit(":", 1)[1]))
        assert len(servers) == 1
    finally:
        for s in servers:
            s.stop()


def test_moto_is_started_when_nothing_listens(monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("AWS_LOCAL_PORT", str(port))
    monkeypatch.setenv("MOTO_PORT", str(port))
    endpoint, sfn_endpoint, servers = dev.start_aws()
    try:
        assert endpoint == sfn_endpoint == f"http://127.0.0.1:{port}"
        assert port_open("127.0.0.1", port)
        boot = dev.lambdas.load_module("localstack/bootstrap.py", "stockscreen_localstack_bootstrap")
        first = boot.bootstrap(endpoint)
        assert boot.bootstrap(endpoint) == first  # the bootstrap is idempotent
    finally:
        for s in servers:
            s.stop()
    assert not port_open("127.0.0.1", port)
