"""The Stockscreen HTTP API (Chalice). Wiring only: each resource is a blueprint."""

from __future__ import annotations

import gc
import os
import sys
import types

# The cold start allocates ~100k objects that live as long as the container (modules, classes, pydantic's
# validators, built on the first request); the cyclic collector would scan them ~130 times before the first
# answer (a seventh of its CPU). Off until then: the middleware freezes what is there and turns it back on.
_GC_WAS_ENABLED = gc.isenabled()
gc.disable()

# pydantic looks for plugins in every installed distribution's entry points when it builds its first
# validator, a scan of all package metadata on the cold first request; the API uses no pydantic plugin.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
# Even then, asking its plugin loader imports importlib.metadata (email, zipfile, csv: ~8 ms of a cold start)
# for a loader that answers "none": while the setting disables them all, a stand-in answers that.
if os.environ["PYDANTIC_DISABLE_PLUGINS"] in ("__all__", "1", "true") and "pydantic.plugin._loader" not in sys.modules:
    sys.modules["pydantic.plugin._loader"] = _no_pydantic_plugins = types.ModuleType("pydantic.plugin._loader")
    _no_pydantic_plugins.__dict__.update(_plugins=None, get_plugins=lambda: ())

# numpy's bundled OpenBLAS starts a thread per core when numpy is imported, and they spin: ~100 ms of CPU on
# the other cores during a cold screen (measured), CPU the gateway's other requests need. The screening
# engine does no linear algebra; one thread is all BLAS would get.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import chalicelib.resources  # noqa: E402 (after the two settings above)
from chalicelib import health, http, saved_screens, screens, securities  # noqa: E402

app = http.ApiApp(app_name="stockscreen-api")
http.install(app, resume_gc=_GC_WAS_ENABLED)
app.register_blueprint(health.bp)
app.register_blueprint(securities.bp)
app.register_blueprint(screens.bp)
app.register_blueprint(saved_screens.bp)
chalicelib.resources.register(app)

_ALL = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


@app.route("/{proxy+}", methods=_ALL)
def not_found() -> http.Response:
    """Anything no blueprint claims: the uniform 404 (API Gateway prefers specific routes)."""
    request = app.current_request
    event = request.to_original_event() if request is not None else {}
    where = f"{event.get('httpMethod', '')} {event.get('path', '?')}".strip()
    return http.error_response(request, 404, "not_found", f"no route for {where}")
