"""The dev mailbox: every email the local SES endpoint accepted, headers included.

``make dev`` serves it at ``/dev/mail`` (``?format=json`` for JSON) and ``stockscreen mail`` prints
that page's JSON. The messages come from the local endpoint's own store: LocalStack's ``/_aws/ses``,
else the moto server ``make dev`` runs in its own process (its SES backend's sent messages).
"""

from __future__ import annotations

import email
import html
import json
import os
import urllib.error
import urllib.request
from email import policy
from email.message import EmailMessage
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response


def fetch(url: str) -> list[dict[str, Any]]:
    """The mailbox of a running ``make dev`` (``http://127.0.0.1:PORT/dev/mail``), as JSON."""
    data = _get(f"{url.rstrip('/')}?format=json")
    return list(data)


def endpoint() -> str:
    return os.environ.get("AWS_ENDPOINT_URL") or f"http://127.0.0.1:{os.environ.get('AWS_LOCAL_PORT', '4566')}"


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - a local endpoint
        return json.loads(resp.read())


def _raw_messages(base: str) -> list[tuple[str, str]]:
    """(id, raw RFC 5322 text) of every message sent, oldest first."""
    try:
        data = _get(f"{base}/_aws/ses")  # LocalStack
        if isinstance(data, dict) and isinstance(data.get("messages"), list):
            return [(str(m.get("Id", "")), str(m["RawData"])) for m in data["messages"] if m.get("RawData")]
    except (urllib.error.URLError, ValueError, KeyError, OSError):
        pass
    from moto.ses.models import ses_backends  # the moto server running in this process

    out: list[tuple[str, str]] = []
    for account in ses_backends.values():
        for backend in account.values():
            out.extend((str(m.id), str(m.raw_data)) for m in backend.sent_messages if hasattr(m, "raw_data"))
    return out


def _part(msg: EmailMessage, subtype: str) -> str | None:
    body = msg.get_body(preferencelist=(subtype,))
    return None if body is None else str(body.get_content())


def messages(base: str | None = None) -> list[dict[str, Any]]:
    """Every email sent through the local endpoint, newest first, parsed."""
    out = []
    for msg_id, raw in _raw_messages(base or endpoint()):
        msg = email.message_from_string(raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        out.append(
            {
                "id": msg_id,
                "from": str(msg["From"] or ""),
                "to": str(msg["To"] or ""),
                "subject": str(msg["Subject"] or ""),
                "date": str(msg["Date"] or ""),
                "headers": [[k, str(v)] for k, v in msg.items()],
                "text": _part(msg, "plain"),
                "html": _part(msg, "html"),
            }
        )
    return out[::-1]


def render_text(mails: list[dict[str, Any]]) -> str:
    if not mails:
        return "The dev mailbox is empty: no email was sent through the local SES endpoint yet.\n"
    blocks = []
    for m in mails:
        head = "\n".join(f"{k}: {v}" for k, v in m["headers"])
        blocks.append(f"=== {m['id']}\n{head}\n\n{(m['text'] or '').strip()}\n")
    return "\n".join(blocks)


def render_html(mails: list[dict[str, Any]]) -> str:
    items = []
    for m in mails:
        headers = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in m["headers"])
        frame = (
            f'<iframe sandbox="" style="width:100%;height:320px;border:1px solid #ccc" '
            f'srcdoc="{html.escape(m["html"] or "")}"></iframe>'
            if m["html"]
            else f"<pre>{html.escape(m['text'] or '')}</pre>"
        )
        items.append(
            f"<details><summary><b>{html.escape(m['subject'])}</b> to {html.escape(m['to'])} "
            f"<small>{html.escape(m['date'])}</small></summary><table>{headers}</table>{frame}"
            f"<pre>{html.escape(m['text'] or '')}</pre></details>"
        )
    body = "".join(items) or "<p>No email sent yet.</p>"
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Dev mailbox</title>"
        "<style>body{font-family:sans-serif;margin:2em}th{text-align:left;padding-right:1em}</style></head>"
        f"<body><h1>Dev mailbox</h1><p>{len(mails)} email(s) sent through the local SES endpoint.</p>"
        f"{body}</body></html>"
    )


async def page(request: Request) -> Response:
    """``GET /dev/mail`` (HTML; ``?format=json`` for JSON) in ``make dev`` only."""
    mails = await run_in_threadpool(messages)
    if request.query_params.get("format") == "json":
        return JSONResponse(mails)
    return HTMLResponse(render_html(mails))
