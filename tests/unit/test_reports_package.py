"""The reports render Lambda's package: under Lambda's 250 MB unzipped limit (function + both layers),
and what its cold start imports (no database driver, no features), with its size and import time printed.

The size is the installed size of every distribution the two layers ship (the domain package's runtime
dependencies, and fpdf2 + jinja2 with their dependencies), read from their RECORD files in this
environment: the same manylinux wheels ``make layer`` and ``make render-layer`` install."""

from __future__ import annotations

import importlib.metadata as md
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024


def _closure(names: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in seen:
            continue
        seen.add(name)
        for spec in md.requires(name) or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


def _installed_bytes(dist: str) -> int:
    d = md.distribution(dist)
    total = 0
    for f in d.files or []:
        p = Path(str(d.locate_file(f)))
        if p.is_file() and "__pycache__" not in p.parts:
            total += p.stat().st_size
    return total


def test_render_function_fits_lambda_and_imports_little() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    shared = _closure([Requirement(r).name for r in project["dependencies"]])
    render_reqs = [
        Requirement(line).name
        for line in (ROOT / "functions/reports/render/requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    render = _closure(render_reqs) - shared
    shared_bytes = sum(_installed_bytes(d) for d in shared)
    render_bytes = sum(_installed_bytes(d) for d in render)
    own = sum(p.stat().st_size for p in (ROOT / "shared/stockscreen").rglob("*.py"))
    own += sum(p.stat().st_size for p in (ROOT / "functions/reports/render").rglob("*") if p.is_file())
    total = shared_bytes + render_bytes + own
    assert {"fpdf2", "jinja2", "pillow", "fonttools"} <= render
    assert "matplotlib" not in render | shared and "reportlab" not in render | shared
    print(
        f"\nBENCH reports_render_package_mb {total / 2**20:.1f} MB "
        f"(shared layer {shared_bytes / 2**20:.1f}, render layer {render_bytes / 2**20:.1f}: "
        + ", ".join(f"{d} {_installed_bytes(d) / 2**20:.1f}" for d in sorted(render))
        + f"; code {own / 2**20:.1f})"
    )
    assert total < LAMBDA_UNZIPPED_LIMIT

    # cold import of the handler in a fresh interpreter, as Lambda's init does
    code = (
        "import sys, time, json; t = time.perf_counter(); import handlers; "
        "import fpdf, jinja2; dt = time.perf_counter() - t; "
        "print(json.dumps({'s': dt, 'mods': sorted(m for m, v in sys.modules.items() if v is not None)}))"
    )
    out = subprocess.run(
        [sys.executable, "-X", "frozen_modules=on", "-c", code],
        cwd=ROOT / "functions/reports/render",
        env={"PYTHONPATH": str(ROOT / "shared"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    mods = set(got["mods"])
    assert "stockscreen.reports.rendering" in mods and "fpdf" in mods
    for heavy in ("sqlalchemy", "psycopg", "numpy", "stockscreen.screening", "stockscreen.portfolios", "matplotlib"):
        assert heavy not in mods, f"the render Lambda imports {heavy} at cold start"
    print(f"BENCH reports_render_cold_import_ms {got['s'] * 1000:.0f} ms (handler + fpdf2 + jinja2)")
