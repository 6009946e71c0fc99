"""Execute the ingest state machine's real ASL definition with moto's interpreter."""

from __future__ import annotations

import io
import json
import logging
import os
import time
import uuid
import zipfile
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from devstack import lambdas
from stockscreen.pipeline.definition import HANDLERS, STATE_MACHINE_NAME, TASKS, build_definition

ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/stockscreen-local"


def configure_moto() -> None:
    """Make moto execute state machines and run Lambdas without Docker (in this process)."""
    from moto.core.config import default_user_config

    default_user_config["stepfunctions"]["execute_state_machine"] = True
    default_user_config["lambda"]["use_docker"] = False


def start_moto(port: int) -> ThreadedMotoServer:
    """An in-process moto server; its Step Functions executor calls back on ``port``."""
    configure_moto()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    os.environ["MOTO_PORT"] = str(port)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server


def _client(service: str, endpoint_url: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name="us-east-1",  # type: ignore[call-overload]
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 - dummy credentials for a local endpoint
    )


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("handlers.py", "# routed in-process by devstack.lambdas\n")
    return buf.getvalue()


class IngestStateMachine:
    """Deploys the ingest functions and state machine to moto, and runs executions."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self.sfn = _client("stepfunctions", endpoint_url)
        self.arn = self._deploy()

    def _deploy(self) -> str:
        module = lambdas.load_module("functions/ingest/handlers.py", "stockscreen_ingest_handlers")
        lam = _client("lambda", self.endpoint_url)
        iam = _client("iam", self.endpoint_url)
        try:
            iam.get_role(RoleName=ROLE_ARN.rsplit("/", 1)[1])
        except iam.exceptions.NoSuchEntityException:
            iam.create_role(
                RoleName=ROLE_ARN.rsplit("/", 1)[1],
                AssumeRolePolicyDocument=json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "sts:AssumeRole",
                                "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                            }
                        ],
                    }
                ),
            )
        arns: dict[str, str] = {}
        code = _zip()
        for state, placeholder in TASKS.items():
            name = f"stockscreen-ingest-{state.lower()}"
            func_name = HANDLERS[state].split(".", 1)[1]
            lambdas.register(name, getattr(module, func_name))
            try:
                arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
            except lam.exceptions.ResourceNotFoundException:
                arn = lam.create_function(
                    FunctionName=name,
                    Runtime="python3.11",
                    Role=ROLE_ARN,
                    Handler=HANDLERS[state],
                    Code={"ZipFile": code},
                    Timeout=900,
                )["FunctionArn"]
            arns[placeholder] = arn
        definition = json.dumps(build_definition(arns))
        for machine in self.sfn.list_state_machines()["stateMachines"]:
            if machine["name"] == STATE_MACHINE_NAME:
                self.sfn.update_state_machine(stateMachineArn=machine["stateMachineArn"], definition=definition)
                return str(machine["stateMachineArn"])
        return str(
            self.sfn.create_state_machine(name=STATE_MACHINE_NAME, definition=definition, roleArn=ROLE_ARN)[
                "stateMachineArn"
            ]
        )

    def start(self, payload: dict[str, Any]) -> str:
        run_id = payload.setdefault("run_id", str(uuid.uuid4()))
        return str(
            self.sfn.start_execution(stateMachineArn=self.arn, name=f"run-{run_id}", input=json.dumps(payload))[
                "executionArn"
            ]
        )

    def wait(self, execution_arn: str, timeout: float = 600.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            desc = self.sfn.describe_execution(executionArn=execution_arn)
            if desc["status"] != "RUNNING":
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {execution_arn} still running after {timeout:.0f}s")
            time.sleep(0.1)
        history = self.sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
        entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
        return {
            "execution_arn": execution_arn,
            "status": desc["status"],
            "output": json.loads(desc["output"]) if desc.get("output") else None,
            "error": desc.get("error"),
            "cause": desc.get("cause"),
            "states": entered,
        }

    def state_durations(self, execution_arn: str) -> dict[str, float]:
        """Seconds spent in each top-level state (entered -> exited), from the execution history."""
        events = self.sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
        entered: dict[str, Any] = {}
        out: dict[str, float] = {}
        for e in events:
            if "stateEnteredEventDetails" in e:
                entered.setdefault(e["stateEnteredEventDetails"]["name"], e["timestamp"])
            elif "stateExitedEventDetails" in e:
                name = e["stateExitedEventDetails"]["name"]
                if name in entered:
                    out[name] = (e["timestamp"] - entered[name]).total_seconds()
        return out

    def run(self, payload: dict[str, Any], timeout: float = 600.0) -> dict[str, Any]:
        return self.wait(self.start(payload), timeout)
