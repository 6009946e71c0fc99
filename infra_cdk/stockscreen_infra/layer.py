"""The shared Lambda layer (the ``stockscreen`` domain package and its dependencies)."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Annotations
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stockscreen_infra import constants as c


def ensure_layer_dir(layer_dir: Path) -> bool:
    """Make sure ``layer_dir`` exists; returns True when a placeholder had to be created.

    ``make layer`` fills ``<layer_dir>/python/`` with
    ``pip install --target python/ --platform manylinux2014_x86_64 --only-binary=:all: .``.
    When it has not run (tests, a first ``cdk synth``), an empty placeholder layer is created so
    that synthesis never downloads anything. Deploying a placeholder layer gives functions that
    fail at import time, so the stack carries a warning annotation.
    """
    if (layer_dir / "python").is_dir() and any((layer_dir / "python").iterdir()):
        return (layer_dir / "python" / c.LAYER_PLACEHOLDER_MARKER).exists()
    (layer_dir / "python").mkdir(parents=True, exist_ok=True)
    (layer_dir / "python" / c.LAYER_PLACEHOLDER_MARKER).write_text(
        "Placeholder created at synth time: run `make layer` before deploying.\n"
    )
    return True


class SharedLayer(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, layer_dir: Path) -> None:
        super().__init__(scope, construct_id)
        self.is_placeholder = ensure_layer_dir(layer_dir)
        if self.is_placeholder:
            Annotations.of(self).add_warning_v2(
                "stockscreen:placeholder-layer",
                f"Layer directory {layer_dir} is a placeholder; run `make layer` before deploying.",
            )
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=lambda_.Code.from_asset(str(layer_dir)),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_11],
            compatible_architectures=[lambda_.Architecture.X86_64],
            description=f"stockscreen domain package + dependencies ({c.LAYER_PLATFORM})",
        )
