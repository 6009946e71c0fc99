"""Powertools Logger, Metrics and Tracer, created once per process.

Tracing (X-Ray) is on only inside Lambda and unless ``POWERTOOLS_TRACE_DISABLED`` says otherwise (the same
rule as Powertools'). Powertools' ``Tracer`` imports the X-Ray SDK even when disabled, so the tracer is built
on first use, and only when tracing is on: outside Lambda (tests, ``make dev``, the CLI) the helpers below
are no-ops and the SDK is never imported. In Lambda, :func:`capture_lambda_handler` decorates every entry
point, :func:`subsegment` wraps the important calls (with ``correlation_id`` and the route or task as
annotations, searchable in X-Ray).
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
import threading
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar, cast


class _ImportedOnFirstUse(types.ModuleType):
    """Stands in ``sys.modules`` for the module of its name until an attribute of it is first read, which
    imports the real one (then in ``sys.modules``) and takes on its attributes.

    Powertools' logger imports its JMESPath helpers (jmespath, gzip, typing_extensions: ~10 ms of every cold
    start) for one option this project does not use (``correlation_id_path``); what does use them (the
    idempotency utility) gets the real module. ``importlib.util.LazyLoader`` cannot do this on Python 3.11:
    ``from package import module`` reads the module's ``__spec__``, which would import it at once."""

    _lock = threading.Lock()

    def __getattr__(self, attr: str) -> Any:
        with self._lock:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
        real = importlib.import_module(self.__name__)
        self.__dict__.update(vars(real))
        return getattr(real, attr)


_JMESPATH_UTILS = "aws_lambda_powertools.utilities.jmespath_utils"
if _JMESPATH_UTILS not in sys.modules and "aws_lambda_powertools.logging.logger" not in sys.modules:
    sys.modules[_JMESPATH_UTILS] = _ImportedOnFirstUse(_JMESPATH_UTILS)

from aws_lambda_powertools import Logger, Metrics  # noqa: E402 (after the stand-in above)

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "stockscreen")

NAMESPACE = "Stockscreen"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

F = TypeVar("F", bound=Callable[..., Any])


def tracing_enabled() -> bool:
    """True inside Lambda (``AWS_LAMBDA_FUNCTION_NAME``) unless ``POWERTOOLS_TRACE_DISABLED`` is truthy or
    the function runs under SAM local."""
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in ("1", "true", "yes", "on", "y", "t"):
        return False
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME")) and not os.environ.get("AWS_SAM_LOCAL")


@functools.cache
def tracer() -> Tracer:
    """The process's one Tracer (imports the X-Ray SDK: call it only when :func:`tracing_enabled`)."""
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


def capture_lambda_handler(fn: F) -> F:
    """``tracer.capture_lambda_handler`` when tracing is on (decided at cold start), else ``fn`` itself."""
    if not tracing_enabled():
        return fn
    return cast(F, tracer().capture_lambda_handler(fn))


@contextmanager
def subsegment(name: str, **annotations: str | bool | None) -> Iterator[None]:
    """An X-Ray subsegment ``## name`` with ``annotations`` (None values left out); nothing when tracing is off."""
    if not tracing_enabled():
        yield
        return
    with tracer().provider.in_subsegment(name=f"## {name}") as seg:
        for key, value in annotations.items():
            if value is not None:
                seg.put_annotation(key=key, value=value)
        yield


def annotate(**annotations: str | bool | None) -> None:
    """Annotations on the current (sub)segment; nothing when tracing is off."""
    if not tracing_enabled():
        return
    for key, value in annotations.items():
        if value is not None:
            tracer().put_annotation(key=key, value=value)


def entry(
    correlation_of: Callable[[Any], str], *, flush_metrics: bool = True, lambda_context: bool = True
) -> Callable[[F], F]:
    """The decorators of a Lambda entry point ``(event, context)``, outermost first: the X-Ray handler
    segment, the Lambda context in every log line (unless ``lambda_context`` is False), the metrics
    flushed (EMF), and the invocation bound to its correlation id (``correlation_of(event)``, see
    :mod:`stockscreen.core.correlation`; the id is in the lines of every Powertools logger)."""
    from stockscreen.core.correlation import correlated

    def decorate(fn: F) -> F:
        wrapped: Any = correlated(correlation_of)(fn)
        if flush_metrics:
            wrapped = metrics.log_metrics(wrapped)
        if lambda_context:
            wrapped = logger.inject_lambda_context(clear_state=True)(wrapped)
        return capture_lambda_handler(wrapped)  # type: ignore[no-any-return]

    return decorate
