"""The drop folder in ``make dev``: S3 -> EventBridge -> the ingest state machine, delivered as on AWS.

moto's S3 sends the raw bucket's "Object Created" events to EventBridge (the bucket's EventBridge
notifications are on), and the rule ``localstack/bootstrap.py`` creates matches them with the same
pattern as CDK's. moto's rules cannot start a state machine, so the rule's target is a queue: this
bridge reads it, applies the rule's input transformer (:func:`stockscreen.pipeline.definition.drop_input`,
the paths CDK deploys) and starts the local state machine with that input.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from typing import Any

from devstack.stepfunctions import IngestStateMachine, _client
from stockscreen.pipeline.definition import drop_input

log = logging.getLogger("stockscreen.dev.dropfolder")

#: moto gives every S3 event it sends to EventBridge this same id (AWS's are unique); a run id must be
#: unique, so the bridge gives such an event a fresh one.
MOTO_FIXED_EVENT_ID = "17793124-05d4-b198-2fde-7ededc63b103"


class DropFolderBridge:
    """Reads the drop-folder rule's queue and starts one execution per event."""

    def __init__(self, queue_url: str, machine: IngestStateMachine, endpoint_url: str) -> None:
        self.queue_url = queue_url
        self.machine = machine
        self.sqs = _client("sqs", endpoint_url)
        self._stop = threading.Event()

    def execution_input(self, event: dict[str, Any]) -> dict[str, Any]:
        if event.get("id") == MOTO_FIXED_EVENT_ID:
            event = {**event, "id": str(uuid.uuid4())}
        return drop_input(event)

    def poll_once(self, wait_seconds: int = 1) -> list[str]:
        """Start an execution for each event waiting on the queue; their ARNs."""
        got = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds)
        started: list[str] = []
        for message in got.get("Messages", []):
            try:
                payload = self.execution_input(json.loads(message["Body"]))
                started.append(self.machine.start(payload))
                log.info("drop folder: %s started run %s", payload["source"]["s3"]["key"], payload["run_id"])
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("drop folder: ignored an event that is not an S3 object event: %s", exc)
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return started

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # keep the bridge alive (an execution failing is the state machine's business)
                log.exception("drop folder: polling failed")
                self._stop.wait(2)

    def stop(self) -> None:
        self._stop.set()
