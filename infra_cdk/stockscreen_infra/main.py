"""Build the CDK app (used by ``infra_cdk/app.py`` and by the tests)."""

from __future__ import annotations

import os

import aws_cdk as cdk

from stockscreen_infra import constants as c
from stockscreen_infra.nag import apply_nag
from stockscreen_infra.stack import StockscreenStack


def build_app(app: cdk.App | None = None) -> tuple[cdk.App, StockscreenStack]:
    app = app or cdk.App()
    account = os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = os.environ.get("CDK_DEFAULT_REGION")
    env = cdk.Environment(account=account, region=region) if account and region else None
    stack = StockscreenStack(app, c.STACK_NAME, env=env, description="Stockscreen serverless stock screener")
    if stack.settings.nag:
        apply_nag(stack)
    return app, stack
