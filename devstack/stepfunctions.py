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

from devstack import lambdas, motofast
from stockscreen.core import correlation
from stockscreen.pipeline.definition import HANDLERS, STATE_MACHINE_NAME, TASKS, build_definition

ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/stockscreen-local"


def configure_moto() -> None:
    """Make moto execute state machines and run Lambdas without Docker (in this process), and answer a
    DynamoDB Query from its partition (:mod:`devstack.motofast`)."""
    from moto.core.config import default_user_config

    default_user_config["stepfunctions"]["execute_state_machine"] = True
    default_user_config["lambda"]["use_docker"] = False
    motofast.install()  # a DynamoDB Query reads its partition, not the whole table


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


def _ensure_role(endpoint_url: str) -> None:
    iam = _client("iam", endpoint_url)
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


def deploy_functions(endpoint_url: str, functions: dict[str, tuple[str, str, lambdas.Handler]]) -> dict[str, str]:
    """Create (once) each Lambda function in moto and route its invocations to our handler in-process;
    ``functions``: placeholder -> (function name, handler string, handler). Returns placeholder -> ARN."""
    _ensure_role(endpoint_url)
    lam = _client("lambda", endpoint_url)
    arns: dict[str, str] = {}
    code = _zip()
    for placeholder, (name, handler_name, handler) in functions.items():
        lambdas.register(name, handler)
        try:
            arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
        except lam.exceptions.ResourceNotFoundException:
            arn = lam.create_function(
                FunctionName=name,
                Runtime="python3.11",
                Role=ROLE_ARN,
                Handler=handler_name,
                Code={"ZipFile": code},
                Timeout=900,
            )["FunctionArn"]
        arns[placeholder] = arn
    return arns


def upsert_machine(sfn: Any, name: str, definition: dict[str, Any]) -> str:
    """Create the state machine ``name``, or update its definition; its ARN."""
    text = json.dumps(definition)
    for machine in sfn.list_state_machines()["stateMachines"]:
        if machine["name"] == name:
            sfn.update_state_machine(stateMachineArn=machine["stateMachineArn"], definition=text)
            return str(machine["stateMachineArn"])
    return str(sfn.create_state_machine(name=name, definition=text, roleArn=ROLE_ARN)["stateMachineArn"])


class IngestStateMachine:
    """Deploys the ingest functions and state machine to moto, and runs executions."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self.sfn = _client("stepfunctions", endpoint_url)
        self.arn = self._deploy()

    def _deploy(self) -> str:
        module = lambdas.load_module("functions/ingest/handlers.py", "stockscreen_ingest_handlers")
        arns = deploy_functions(
            self.endpoint_url,
            {
                placeholder: (
                    f"stockscreen-ingest-{state.lower()}",
                    HANDLERS[state],
                    getattr(module, HANDLERS[state].split(".", 1)[1]),
                )
                for state, placeholder in TASKS.items()
            },
        )
        return upsert_machine(self.sfn, STATE_MACHINE_NAME, build_definition(arns))

    def start(self, payload: dict[str, Any]) -> str:
        """Start an execution; its input gets a run id and a correlation id (the bound one, else a new
        one: whoever starts it is the edge) unless it has them."""
        run_id = payload.setdefault("run_id", str(uuid.uuid4()))
        payload.setdefault(correlation.KEY, correlation.current() or correlation.new_id())
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


class ReportsStateMachine(IngestStateMachine):
    """The reports workflow (stockscreen.reports.definition) on moto, its tasks routed to
    functions/reports/handlers.py and the render Lambda functions/reports/render/handlers.py."""

    def __init__(self, endpoint_url: str, retry_interval: int | None = None) -> None:
        self.retry_interval = retry_interval
        super().__init__(endpoint_url)

    def _deploy(self) -> str:
        from stockscreen.reports import definition as d

        tasks = lambdas.load_module("functions/reports/handlers.py", "stockscreen_reports_handlers")
        render = lambdas.load_module("functions/reports/render/handlers.py", "stockscreen_reports_render")
        functions = {
            placeholder: (
                f"stockscreen-reports-{state.lower()}",
                d.HANDLERS[state],
                getattr(render if state == "Render" else tasks, d.HANDLERS[state].split(".", 1)[1]),
            )
            for state, placeholder in d.TASKS.items()
        }
        arns = deploy_functions(self.endpoint_url, functions)
        return upsert_machine(self.sfn, d.STATE_MACHINE_NAME, d.build_definition(arns, self.retry_interval))

    def start(self, payload: dict[str, Any]) -> str:
        payload = {correlation.KEY: correlation.current() or correlation.new_id(), **payload}
        return str(
            self.sfn.start_execution(
                stateMachineArn=self.arn, name=f"reports-{uuid.uuid4()}", input=json.dumps(payload)
            )["executionArn"]
        )
