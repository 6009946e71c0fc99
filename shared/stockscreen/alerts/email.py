"""Alert emails: one set of templates (jinja2) rendered as the HTML and the plain-text part, the firing
explained, a link to the stock, and RFC 8058 one-click unsubscribe headers."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from functools import cache
from typing import Any

from jinja2 import DictLoader, Environment, StrictUndefined, select_autoescape

_BODY = """{% block body %}
{{ heading }}

{% for line in lines %}{{ line }}
{% endfor %}
{% if link %}{{ link_label }}: {{ link }}
{% endif %}
{{ footer }}
Manage or unsubscribe: {{ manage }}
{% endblock %}"""

_TEMPLATES = {
    "alert.txt": _BODY,
    "alert.html": """<!doctype html>
<html><body style="font-family: sans-serif">
<h2>{{ heading }}</h2>
{% for line in lines %}<p>{{ line }}</p>
{% endfor %}
{% if link %}<p><a href="{{ link }}">{{ link_label }}</a></p>
{% endif %}
<p style="color: #666; font-size: small">{{ footer }} <a href="{{ manage }}">Manage or unsubscribe</a></p>
</body></html>""",
}


@cache
def _env(html: bool) -> Environment:
    return Environment(
        loader=DictLoader(_TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=html),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str
    headers: dict[str, str]


def _lines(firing: dict[str, Any]) -> list[str]:
    """The firing explained, clause by clause."""
    d = firing.get("details") or {}
    lines = [str(firing["message"])]
    if firing.get("value") is not None and firing.get("level") is not None:
        lines.append(f"Value {firing['value']:g} against the level {firing['level']:g}.")
    if d.get("query"):
        lines.append(f"Query: {d['query']}")
    if d.get("entrants"):
        lines.append("Entered: " + ", ".join(d["entrants"]))
    if d.get("leavers"):
        lines.append("Left: " + ", ".join(d["leavers"]))
    for line in d.get("summary") or []:
        lines.append(str(line))
    if d.get("as_of"):
        lines.append(f"Daily close of {d['as_of']}.")
    if not d.get("summary"):
        lines.append(f"Fired at {firing['fired_at']}.")
    return lines


def render(firing: dict[str, Any], *, app_url: str, unsubscribe_url: str, manage_url: str) -> Email:
    """``unsubscribe_url``: the API's one-click endpoint (the ``List-Unsubscribe`` header, RFC 8058);
    ``manage_url``: the web app's unsubscribe page (the link in the body, for people)."""
    name = (firing.get("details") or {}).get("name") or "Your alert"
    symbol = firing.get("symbol")
    ctx = {
        "heading": f"{name}{f': {symbol}' if symbol else ''}",
        "lines": _lines(firing),
        "link": f"{app_url.rstrip('/')}/stocks/{symbol}" if symbol else f"{app_url.rstrip('/')}/alerts",
        "link_label": f"Open {symbol}" if symbol else "Open your alerts",
        "footer": "You get this email because you set this alert on Stockscreen.",
        "manage": manage_url,
    }
    return Email(
        subject=f"Alert: {firing['message']}"[:200],
        text=_env(False).get_template("alert.txt").render(ctx),
        html=_env(True).get_template("alert.html").render(ctx),
        headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def mime(email: Email, *, sender: str, to: str) -> bytes:
    """The raw multipart/alternative message SES sends (plain text first, then HTML)."""
    msg = EmailMessage()
    msg["Subject"] = email.subject
    msg["From"] = sender
    msg["To"] = to
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    for k, v in email.headers.items():
        msg[k] = v
    msg.set_content(email.text)
    msg.add_alternative(email.html, subtype="html")
    return msg.as_bytes()
