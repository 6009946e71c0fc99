"""Regenerate the committed OpenAPI document: ``python -m devstack.openapi`` (``make openapi``)."""

from __future__ import annotations

import sys

from devstack.lambdas import load_api


def main() -> int:
    load_api()
    from chalicelib import openapi

    text = openapi.render(openapi.generate(load_api()))
    if "--check" in sys.argv:
        if openapi.DOCUMENT.read_text() != text:
            print(f"{openapi.DOCUMENT} is stale; run `make openapi`", file=sys.stderr)
            return 1
        return 0
    openapi.DOCUMENT.write_text(text)
    print(f"wrote {openapi.DOCUMENT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
