"""Route moto's Lambda invocations to the project's handlers, in-process.

moto's "simple" Lambda backend (``lambda.use_docker = False``) normally echoes its input;
here its ``invoke`` calls the real handler registered for the function's name, so moto's
Step Functions interpreter executes the deployed ASL definition against our code.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
Handler = Callable[[dict[str, Any], Any], Any]

_ROUTES: dict[str, Handler] = {}
_installed = False


class LocalContext:
    """The parts of the Lambda context object that handlers and Powertools read."""

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def load_module(relative_path: str, name: str) -> ModuleType:
    """Import a function's handler module from its file (function folders are not packages)."""
    if name in sys.modules:
        return sys.modules[name]
    path = ROOT / relative_path
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def register(function_name: str, handler: Handler) -> None:
    _ROUTES[function_name] = handler
    _install()


def _function_name(name_or_arn: str) -> str:
    return name_or_arn.split(":function:")[-1].split(":")[0]


def _install() -> None:
    global _installed
    if _installed:
        return
    from moto.awslambda_simple.models import LambdaSimpleBackend

    original = LambdaSimpleBackend.invoke

    def invoke(
        self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> bytes | str | None:
        handler = _ROUTES.get(_function_name(function_name))
        if handler is None:
            return original(self, function_name, qualifier, body, headers, response_headers)
        name = _function_name(function_name)
        event = json.loads(body) if body else {}
        try:
            result = handler(event, LocalContext(name))
        except Exception as exc:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(
                {
                    "errorType": type(exc).__name__,
                    "errorMessage": str(exc),
                    "stackTrace": traceback.format_exception(exc)[-3:],
                }
            ).encode()
        return json.dumps(result, default=str).encode()

    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]
    _installed = True


def load_api() -> Any:
    """The Chalice app object of ``functions/api`` (``app.py`` + ``chalicelib/``, Chalice's layout)."""
    api_dir = str(ROOT / "functions" / "api")
    if api_dir not in sys.path:
        sys.path.insert(0, api_dir)
    return load_module("functions/api/app.py", "stockscreen_api_app").app
