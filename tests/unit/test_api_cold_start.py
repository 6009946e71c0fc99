"""What a Lambda cold start imports: ``import app`` registers every route of the API without importing
pydantic, the data-access libraries or the domain; a request imports what it uses. No timing here (that is
tests/bench/test_api_bench.py); each check runs in a fresh interpreter, since this one has imported them all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Third-party packages a route may need but the handler module must not import before its first request.
LAZY = (
    "pydantic",
    "pydantic_core",
    "pydantic_settings",
    "sqlalchemy",
    "psycopg",
    "psycopg_pool",
    "redis",
    "boto3",
    "botocore",
    "numpy",
    "pandas",
    "lark",
    "argon2",
    "jwt",
    "cryptography",
    "aws_lambda_powertools",
)


def _fresh(script: str) -> dict[str, list[str]]:
    """Run ``script`` after ``import app`` in a new interpreter; it leaves its findings in ``found``."""
    prelude = "import json, sys; sys.path.insert(0, 'functions/api'); import app; found = {}"
    code = f"{prelude}\n{script}\nprint(json.dumps(found))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    result: dict[str, list[str]] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_import_registers_every_route_without_the_heavy_packages() -> None:
    found = _fresh(
        "from chalicelib.http import ROUTES\n"
        # (app.py's stand-in for pydantic's plugin loader is no import of pydantic)
        "found['top'] = sorted({m.split('.')[0] for m in sys.modules if m != 'pydantic.plugin._loader'})\n"
        "found['ours'] = sorted(m for m in sys.modules if m.startswith(('stockscreen.', 'chalicelib.schemas')))\n"
        "found['routes'] = sorted(f'{m} {p}' for p, e in app.app.routes.items() for m in e)\n"
        "found['declared'] = sorted(f'{m} {p}' for m, p in ROUTES)\n"
    )
    assert sorted(set(LAZY) & set(found["top"])) == []
    assert found["ours"] == ["stockscreen.core", "stockscreen.core.errors", "stockscreen.core.policy"]
    assert "GET /securities/{symbol}/bars" in found["routes"] and "POST /screens/saved" in found["routes"]
    assert set(found["declared"]) <= set(found["routes"]) and len(found["declared"]) > 50


def test_models_are_imported_on_first_use() -> None:
    found = _fresh(
        "from chalicelib import securities\n"
        "from chalicelib.http import ROUTES, resolve\n"
        "before = set(sys.modules)\n"
        "found['bars'] = [securities.schema.BarsQuery.model_validate({'interval': '1w'}).interval]\n"
        "found['schema'] = sorted({m.split('.')[0] for m in set(sys.modules) - before})\n"
        "from pydantic.plugin import _loader\n"
        "found['plugins'] = [str(_loader._plugins is not None), str('importlib.metadata' in sys.modules)]\n"
        "import os\n"
        "found['blas'] = [os.environ.get('OPENBLAS_NUM_THREADS', '')]\n"
        "from pydantic import BaseModel\n"
        "refs = [r for spec in ROUTES.values() for r in (spec.body, spec.query, spec.response) if r is not None]\n"
        "found['refs'] = [str(len(refs))]\n"
        "found['not_models'] = [repr(m) for m in map(resolve, refs) if not issubclass(m, BaseModel)]\n"
    )
    assert found["bars"] == ["1w"]
    # no scan of every distribution's entry points (PYDANTIC_DISABLE_PLUGINS), nor importlib.metadata imported
    assert found["plugins"] == ["False", "False"]
    assert found["blas"] == ["1"]  # numpy's OpenBLAS starts no spinning thread per core (app.py)
    assert "pydantic" in found["schema"] and "sqlalchemy" not in found["schema"]
    assert int(found["refs"][0]) > 50 and found["not_models"] == []


def test_the_first_requests_modules_leave_out_sqlalchemy_and_boto3() -> None:
    """What ``GET /health`` and an anonymous screen run on a cold container (the checks, the settings, the
    screening engine and its result cache, the snapshot artifact, the hot-path AWS calls, the rate limiter)
    import neither SQLAlchemy, boto3, botocore's client machinery, pydantic-settings, redis-py (the request
    path's Redis client is ``stockscreen.core.resp``), lark (a valid query is read by the fast path), nor
    psycopg and asyncio (the one-row reads go through psycopg's libpq: ``stockscreen.db.libpq``)
    (README, "Cold start")."""
    found = _fresh(
        "import stockscreen.core.health, stockscreen.screening.engine, stockscreen.screening.result_cache\n"
        "import stockscreen.screening.artifact, stockscreen.accounts.settings, stockscreen.core.awsrequest\n"
        "import stockscreen.core.ratelimit, stockscreen.core.cache\n"
        "from stockscreen.screening.language import parse\n"
        "parse('market_cap > 2B and pe between 5 and 40 and sector in (\"Energy\") and close > max(high, 20)[-1]')\n"
        "from chalicelib import screens, saved_screens, health, steps\n"
        "import os\n"
        "os.environ.update(DATABASE_URL='postgresql://u:p%40w@127.0.0.1:1/x?sslmode=require', "
        "REDIS_URL='redis://127.0.0.1:1/0')\n"
        "from stockscreen.db.engine import reader_for\n"
        "found['lean'] = [str(reader_for().lean)]\n"
        "from stockscreen.screening.engine import ScreenRequest\n"
        "found['ast_built'] = [str(ScreenRequest.from_body({'query': 'pe < 9', 'limit': 50}).condition())]\n"
        "found['pydantic'] = [m for m in ('pydantic', 'pydantic_core', 'pydantic.main') if m in sys.modules]\n"
        "import stockscreen.market.adapters\n"  # the quotes route's (its WebSocket messages are pydantic's)
        "found['loaded'] = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'boto3', 's3transfer', 'pydantic_settings', 'redis', 'lark', 'psycopg', 'psycopg_binary', "
        "'asyncio') or m == 'botocore.session')\n"
    )
    assert found["loaded"] == []
    assert found["lean"] == ["True"]  # the reader of the configured database: libpq's, psycopg not imported
    # a screen given as text is checked, parsed into AST nodes and run without pydantic (JSON ASTs are its)
    assert found["pydantic"] == []
    assert found["ast_built"] == [
        "Compare(kind='compare', left=FieldRef(kind='field', name='pe', offset=0, timeframe='daily'), op='<', "
        "right=Num(kind='num', value=9.0, percent=False))"
    ]


def test_a_signed_in_requests_verification_leaves_out_sqlalchemy() -> None:
    """Before its route, a signed-in request verifies the access token (PyJWT, the keys from Secrets Manager
    over the standard library), reads the caller's account (psycopg alone) and takes a rate-limit token
    (Redis): the accounts service, its repository and the audit log's ``Origin`` import no SQLAlchemy, and the
    API's auth service builds no engine until a route opens a transaction."""
    found = _fresh(
        "import os\n"
        "os.environ.update(DATABASE_URL='postgresql://u@127.0.0.1:1/x', REDIS_URL='redis://127.0.0.1:1/0',\n"
        "                  JWT_SECRET_ARN='arn:aws:secretsmanager:us-east-1:1:secret:jwt')\n"
        "from chalicelib import authn, steps\n"
        "import stockscreen.accounts.service, stockscreen.accounts.repository, stockscreen.accounts.tokens\n"
        "import stockscreen.accounts.adapters, stockscreen.accounts.revocations, stockscreen.core.audit\n"
        "import stockscreen.core.ratelimit\n"
        "service = authn.auth_service()\n"
        "origin = authn.origin_of(None)\n"
        "found['loaded'] = sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'redis'))\n"
        "found['engine'] = [repr(service.store._engine)]\n"
    )
    assert found["loaded"] == [] and found["engine"] == ["None"]


def test_the_garbage_collector_waits_for_the_first_response() -> None:
    """The cold start runs without the cyclic collector (it would scan the startup's objects ~130 times);
    the first response, even an error, turns it back on with those objects frozen (README, "Cold start")."""
    found = _fresh(
        "import gc\n"
        "found['cold'] = [str(gc.isenabled())]\n"
        "from chalice.test import Client\n"
        "with Client(app.app) as client:\n"
        "    status = client.http.get('/securities/AAPL/bars?interval=bogus').status_code\n"
        "found['first'] = [str(status), str(gc.isenabled()), str(gc.get_freeze_count() > 10000)]\n"
    )
    assert found["cold"] == ["False"]
    assert found["first"] == ["400", "True", "True"]


def test_pydantic_plugins_are_looked_for_when_the_setting_allows_them() -> None:
    """The stand-in for pydantic's plugin loader (app.py) is there only while the setting disables every
    plugin; otherwise pydantic's own loader reads the entry points."""
    code = (
        "import json, sys; sys.path.insert(0, 'functions/api'); import app\n"
        "from pydantic import BaseModel\n"
        "class M(BaseModel):\n"
        "    x: int\n"
        "from pydantic.plugin import _loader\n"
        "print(json.dumps([M(x=1).x, getattr(_loader, '__file__', None) is not None, _loader._plugins is not None]))\n"
    )
    for setting, own_loader in (("", True), ("some_plugin", True), ("__all__", False)):
        env = {**os.environ, "PYDANTIC_DISABLE_PLUGINS": setting}
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        assert json.loads(out.stdout.strip().splitlines()[-1]) == [1, own_loader, own_loader], setting


def test_a_first_health_check_imports_no_pydantic() -> None:
    """``GET /health`` validates no request body: its first call in a new container reads the settings
    (:mod:`stockscreen.core.envsettings`, pydantic only for a value it must decide), checks the database,
    Redis and the AWS endpoint (here all unreachable: the uniform 503) and answers without importing
    pydantic (README, "Cold start"); the first request that validates a body imports it then."""
    found = _fresh(
        "import os\n"
        "os.environ.update(DATABASE_URL='postgresql://u@127.0.0.1:1/x', REDIS_URL='redis://127.0.0.1:1/0',\n"
        "                  JWT_SECRET_ARN='arn:aws:secretsmanager:us-east-1:1:secret:jwt',\n"
        "                  AWS_ENDPOINT_URL='http://127.0.0.1:1', AWS_ACCESS_KEY_ID='k', AWS_SECRET_ACCESS_KEY='s',\n"
        "                  CORS_ALLOW_ORIGINS='https://app.example', RATE_LIMIT_MULTIPLIER='2')\n"
        "from chalice.test import Client\n"
        "with Client(app.app) as client:\n"
        "    health = client.http.get('/health', headers={'origin': 'https://app.example'})\n"
        "    headers = {k.lower(): v for k, v in health.headers.items()}\n"
        "    error = json.loads(health.body)['error']['code']\n"
        "    found['health'] = [str(health.status_code), error, headers.get('access-control-allow-origin', '')]\n"
        "    lean = ('pydantic', 'pydantic_core', 'annotated_types')\n"
        "    found['loaded'] = sorted(m for m in lean if m in sys.modules)\n"
        "    bad = client.http.post('/auth/login', headers={'content-type': 'application/json'}, body='{}')\n"
        "    error = json.loads(bad.body)['error']['code']\n"
        "    found['body'] = [str(bad.status_code), error, str('pydantic' in sys.modules)]\n"
    )
    assert found["health"] == ["503", "unavailable", "https://app.example"]
    assert found["loaded"] == []
    assert found["body"] == ["400", "validation_error", "True"]


def test_powertools_jmespath_helpers_are_imported_on_first_use() -> None:
    """The logger's JMESPath helpers (jmespath, gzip, typing_extensions) wait for their first use
    (``stockscreen.core.observability``): a cold ``/health`` does not import them; a logger given a
    ``correlation_id_path`` and the idempotency utility get the real module."""
    found = _fresh(
        "from stockscreen.core.observability import logger\n"
        "found['cold'] = sorted(m for m in ('jmespath', 'gzip', 'typing_extensions') if m in sys.modules)\n"
        "import types\n"
        "from aws_lambda_powertools import Logger\n"
        "log = Logger(service='t')\n"
        "seen = []\n"
        "@log.inject_lambda_context(correlation_id_path='headers.id')\n"
        "def handler(event, context):\n"
        "    seen.append(log.get_correlation_id())\n"
        "ctx = types.SimpleNamespace(function_name='f', memory_limit_in_mb=128, invoked_function_arn='a',\n"
        "                            aws_request_id='r')\n"
        "handler({'headers': {'id': 'abc'}}, ctx)\n"
        "from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer\n"
        "real = sys.modules['aws_lambda_powertools.utilities.jmespath_utils']\n"
        "found['used'] = [*seen, type(real).__name__, str('jmespath' in sys.modules)]\n"
    )
    assert found["cold"] == []
    assert found["used"] == ["abc", "module", "True"]
