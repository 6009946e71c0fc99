"""Alert emails (one set of templates -> HTML and text, RFC 8058 headers) and unsubscribe tokens."""

from __future__ import annotations

import email
from email import policy

import pytest

from stockscreen.alerts import unsubscribe
from stockscreen.alerts.email import mime, render
from stockscreen.core.errors import Invalid

FIRING = {
    "alert_id": "a1",
    "user_id": "u1",
    "symbol": "AAPL",
    "fired_at": "2026-12-01T15:00:00+00:00",
    "message": "AAPL price 151.2 rose above 150 (150)",
    "value": 151.2,
    "level": 150.0,
    "details": {"name": "<b>Breakout</b>", "query": "close > 150 and rsi14 < 70", "entrants": ["MSFT"]},
}


def test_one_set_of_templates_gives_both_parts_and_the_unsubscribe_headers() -> None:
    out = render(
        FIRING,
        app_url="https://app.example/",
        unsubscribe_url="https://app.example/api/alerts/unsubscribe?token=t",
        manage_url="https://app.example/unsubscribe?token=t",
    )
    assert out.headers == {
        "List-Unsubscribe": "<https://app.example/api/alerts/unsubscribe?token=t>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    for part in (out.text, out.html):  # the same explanation in both
        assert "rose above 150" in part and "Value 151.2 against the level 150." in part
        assert "close &gt; 150" in part or "close > 150" in part
        assert "Entered: MSFT" in part and "https://app.example/stocks/AAPL" in part
    # people follow the body's link to the web app's unsubscribe page; mail clients use the header (the API)
    assert 'href="https://app.example/unsubscribe?token=t"' in out.html
    assert "Manage or unsubscribe: https://app.example/unsubscribe?token=t" in out.text
    assert "/api/alerts/unsubscribe" not in out.html + out.text
    assert "&lt;b&gt;Breakout&lt;/b&gt;" in out.html and "<b>Breakout</b>" not in out.html  # escaped in HTML
    assert "<b>Breakout</b>: AAPL" in out.text  # plain text is not escaped
    raw = mime(out, sender="noreply@stockscreen.local", to="ann@example.com")
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" and msg["To"] == "ann@example.com"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]


def test_unsubscribe_tokens_verify_only_untampered_with_a_known_key() -> None:
    key = b"k" * 32
    token = unsubscribe.sign("user-1", "alert-1", "kid1", key)
    assert unsubscribe.verify(token, {"kid1": key}) == ("user-1", "alert-1")
    payload, kid, mac = token.split(".")
    forged = unsubscribe.sign("user-2", "alert-1", "kid1", b"x" * 32)
    for bad in (f"{forged.split('.')[0]}.{kid}.{mac}", f"{payload}.kid2.{mac}", "nonsense", f"{payload}.{kid}.AAAA"):
        with pytest.raises(Invalid):
            unsubscribe.verify(bad, {"kid1": key})
    assert unsubscribe.verify(token, {"kid0": b"o" * 32, "kid1": key})[0] == "user-1"  # a rotated ring still verifies
