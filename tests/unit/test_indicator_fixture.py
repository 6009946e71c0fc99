"""The SPA's indicator fixture (frontend/.../indicators.fixture.json) is what the screener's code computes now."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devstack import indicator_fixture


def test_the_committed_fixture_is_current() -> None:
    fresh = indicator_fixture.build()
    assert indicator_fixture.FIXTURE.read_text() == indicator_fixture.render(fresh), (
        "stale: run `python -m devstack.indicator_fixture`"
    )
    assert fresh["expected"][-1]["index"] == len(fresh["bars"]) - 1
    # every field is checked on a day where it has a value
    last = fresh["expected"][-1]["values"]
    assert set(last) == set(indicator_fixture.FIELDS) and all(v is not None for v in last.values())


def test_check_mode_reports_a_stale_fixture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "fixture.json"
    data = json.loads(indicator_fixture.FIXTURE.read_text())
    data["expected"][-1]["values"]["sma20"] += 1
    stale.write_text(json.dumps(data))
    monkeypatch.setattr(indicator_fixture, "FIXTURE", stale)
    monkeypatch.setattr("sys.argv", ["indicator_fixture", "--check"])
    assert indicator_fixture.main() == 1
    assert "is stale" in capsys.readouterr().err
