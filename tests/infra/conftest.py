"""Synthesise the Stockscreen stack once per test session (synth takes a few seconds)."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA_DIR = REPO_ROOT / "infra_cdk"
if str(INFRA_DIR) not in sys.path:
    sys.path.insert(0, str(INFRA_DIR))

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

MINIMAL_CHALICE_APP = """\
from chalice import Chalice

app = Chalice(app_name="stockscreen-api")


@app.route("/health")
def health():
    return {"status": "ok"}
"""


def _api_source_dir(tmp_root: Path) -> Path:
    """functions/api once it exists; until then a throwaway minimal Chalice project."""
    real = REPO_ROOT / "functions" / "api"
    if (real / "app.py").exists() and (real / ".chalice" / "config.json").exists():
        return real
    project = tmp_root / "chalice-min"
    (project / ".chalice").mkdir(parents=True)
    (project / "app.py").write_text(MINIMAL_CHALICE_APP)
    (project / ".chalice" / "config.json").write_text('{"version": "2.0", "app_name": "stockscreen-api"}')
    (project / "requirements.txt").write_text("")
    return project


class Synth:
    def __init__(self, stack: Any, template: Any, messages: list[Any], api_source_dir: Path) -> None:
        self.env_changes: dict[str, Any] = {}
        self.modules_changed: list[str] = []
        self.stack = stack
        self.template = template
        self.messages = messages
        self.api_source_dir = api_source_dir

    def resources(self, type_: str) -> dict[str, dict[str, Any]]:
        return self.template.find_resources(type_)  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synth]:
    import aws_cdk as cdk
    from aws_cdk.assertions import Template
    from stockscreen_infra.main import build_app

    tmp = tmp_path_factory.mktemp("infra")
    api_dir = _api_source_dir(tmp)
    # A fixed frontend build (frontend/dist is rebuilt by others at any time).
    dist = tmp / "dist"
    dist.mkdir()
    (dist / "index.html").write_text("<!doctype html><title>stockscreen</title>")
    context = {
        "api_source_dir": str(api_dir),
        "build_dir": str(tmp / "build"),
        "layer_dir": str(tmp / "layer"),
        "frontend_dist_dir": str(dist),
        "nag": "true" if importlib.util.find_spec("cdk_nag") else "false",
    }
    # Synthesis must never download: make any pip call of `chalice package` fail instead.
    env_before = dict(os.environ)
    app_modules_before = {k: v for k, v in sys.modules.items() if k == "app" or k.startswith("chalicelib")}
    mp = pytest.MonkeyPatch()
    mp.setenv("PIP_NO_INDEX", "1")
    try:
        app = cdk.App(outdir=str(tmp / "cdk.out"), context=context)
        app, stack = build_app(app)
        assembly = app.synth()
    finally:
        mp.undo()
    messages = list(assembly.get_stack_by_name(stack.stack_name).messages)
    result = Synth(stack, Template.from_stack(stack), messages, api_dir)
    # chalice copies the stage env into os.environ and imports `app`: the construct must undo both.
    result.env_changes = {
        k: os.environ.get(k)
        for k in set(env_before) ^ set(os.environ) | {k for k in env_before if os.environ.get(k) != env_before[k]}
    }
    result.modules_changed = [
        k
        for k, v in sys.modules.items()
        if (k == "app" or k.startswith("chalicelib")) and app_modules_before.get(k) is not v
    ]
    yield result
