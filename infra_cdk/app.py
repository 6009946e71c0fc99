#!/usr/bin/env python3
"""CDK app entry point: ``cd infra_cdk && npx cdk synth`` (see README.md)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stockscreen_infra.main import build_app

if __name__ == "__main__":
    application, _ = build_app()
    application.synth()
