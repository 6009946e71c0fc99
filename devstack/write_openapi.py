"""Regenerate the committed OpenAPI document: ``python -m devstack.write_openapi`` (``make openapi``)."""

from __future__ import annotations

import sys

from devstack.lambdas import load_api


def main() -> int:
    load_api()
    from chalicelib import apidocs

    text = apidocs.render(apidocs.generate(load_api()))
    if "--check" in sys.argv:
        if apidocs.DOCUMENT.read_text() != text:
            print(f"{apidocs.DOCUMENT} is stale; run `make openapi`", file=sys.stderr)
            return 1
        return 0
    apidocs.DOCUMENT.write_text(text)
    print(f"wrote {apidocs.DOCUMENT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
