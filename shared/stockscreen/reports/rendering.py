"""Rendering a report's figures: the email (one jinja2 template set -> HTML part and text part), the
PDF (fpdf2, its charts drawn with the PDF's own vector lines: no image library, no matplotlib) and,
for a screen report, the CSV.

This module reads no database and no AWS: the render Lambda imports only it (and fpdf2, jinja2).
Per-send values are left as markers the send task fills in: ``__DOWNLOAD_URL__`` (the presigned link,
known only once the PDF is stored), ``__UNSUBSCRIBE_URL__`` and ``__APP_URL__``.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

from jinja2 import DictLoader, Environment, StrictUndefined, select_autoescape


# -- the report as sections (what the email and the PDF both show) --------------------------------
@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    spark: list[list[float]] | None = None  # one small price chart per row (screen report)


@dataclass
class Chart:
    title: str
    dates: list[str]
    series: dict[str, list[float]]


@dataclass
class Section:
    heading: str
    lines: list[str] = field(default_factory=list)
    table: Table | None = None
    chart: Chart | None = None


def money(v: float | None) -> str:
    return "-" if v is None else f"{v:,.2f}"


def signed(v: float | None) -> str:
    return "-" if v is None else f"{v:+,.2f}"


def pct(v: float | None) -> str:
    return "-" if v is None else f"{v:+.2f}%"


def num(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) < 1e6 else f"{v / 1e9:,.2f}B"
    return str(v)


def _daily(d: dict[str, Any]) -> list[Section]:
    out = []
    for w in d["watchlists"]:
        rows = [[m["symbol"], m["name"], money(m["close"]), pct(m["change_pct"])] for m in w["movers"]]
        out.append(
            Section(
                f"Watchlist {w['name']}: biggest movers",
                [] if rows else ["No prices for this session."],
                Table(["Symbol", "Name", "Close", "Change"], rows, [False, False, True, True]) if rows else None,
            )
        )
    alerts = [f"{a['fired_at'][:16].replace('T', ' ')} UTC  {a['message']}" for a in d["alerts"]]
    out.append(Section("Alerts that fired", alerts or ["No alert fired."]))
    if d["portfolios"]:
        rows = [[p["name"], money(p["value"]), signed(p["day_pnl"]), pct(p["day_pct"])] for p in d["portfolios"]]
        out.append(
            Section("Portfolios: the day's P&L", table=Table(["Portfolio", "Value", "Day P&L", "Day"], rows,
                                                              [False, True, True, True]))
        )  # fmt: skip
    for s in d["screens"]:
        lines = [
            f"Entered: {', '.join(s['entrants']) or 'none'}",
            f"Left: {', '.join(s['leavers']) or 'none'}",
            f"{s['count']} stocks match now.",
        ]
        out.append(Section(f"Screen {s['name']}", lines))
    return out


def _weekly(d: dict[str, Any]) -> list[Section]:
    out = []
    for p in d["portfolios"]:
        lines = [
            f"Value {money(p['value_start'])} -> {money(p['value_end'])}; net flows {signed(p['net_flows'])}.",
            f"Return {pct(p['return_pct'])} against {pct(p['universe_pct'])} for the equal-weighted universe.",
            f"Realised P&L {signed(p['realised_pnl'])} to date ({signed(p['realised_week'])} this week); "
            f"unrealised {signed(p['unrealised_pnl'])}.",
        ]
        top = ", ".join(f"{h['symbol']} {pct(h['week_pct'])}" for h in p["top"])
        bottom = ", ".join(f"{h['symbol']} {pct(h['week_pct'])}" for h in p["bottom"])
        if top:
            lines.append(f"Top of the week: {top}.")
        if bottom:
            lines.append(f"Bottom of the week: {bottom}.")
        chart = None
        if p["chart"]:
            chart = Chart(
                "Performance (rebased to 100) against the equal-weighted universe",
                [c["date"] for c in p["chart"]],
                {"Portfolio": [c["portfolio"] for c in p["chart"]], "Universe": [c["universe"] for c in p["chart"]]},
            )
        rows = [
            [h["symbol"], num(h["quantity"]), money(h["average_cost"]), money(h["price"]), money(h["market_value"]),
             signed(h["unrealised_pnl"]), pct(h["unrealised_pct"]), pct(h["week_pct"])]
            for h in p["holdings"]
        ]  # fmt: skip
        table = Table(
            ["Symbol", "Qty", "Avg cost", "Price", "Value", "Unrealised", "Unreal. %", "Week"],
            rows,
            [False, True, True, True, True, True, True, True],
        )
        out.append(Section(f"Portfolio {p['name']}", lines, table if rows else None, chart))
    for w in d["watchlists"]:
        rows = [[i["symbol"], i["name"], money(i["close"]), pct(i["week_pct"])] for i in w["items"]]
        out.append(
            Section(
                f"Watchlist {w['name']}: the week",
                [f"Average {pct(w['average_pct'])}."],
                Table(["Symbol", "Name", "Close", "Week"], rows, [False, False, True, True]) if rows else None,
            )
        )
    return out


def _screen(d: dict[str, Any]) -> list[Section]:
    cols = d["columns"]
    rows = [[num(r.get(c)) for c in cols] for r in d["rows"]]
    shown = f"the first {len(rows)}" if d["count"] > len(rows) else "all"
    lines = [f"Query: {d['screen']['query'] or '(every stock)'}", f"{d['count']} stocks match; {shown} listed."]
    numeric = [c not in ("symbol", "name", "sector", "industry") for c in cols]
    return [Section("Results", lines, Table(cols, rows, numeric, [r["spark"] for r in d["rows"]]))]


def sections(data: dict[str, Any]) -> list[Section]:
    kind = data["kind"]
    if kind == "daily":
        return _daily(data)
    if kind == "weekly":
        return _weekly(data)
    return _screen(data)


# -- email -------------------------------------------------------------------------------------------
_TEXT = """{{ title }}
{{ "=" * title|length }}
{{ subtitle }}
{% for s in sections %}
{{ s.heading }}
{{ "-" * s.heading|length }}
{% for line in s.lines %}{{ line }}
{% endfor %}{% if s.table %}{% for row in s.table.rows %}  {{ row|join("  ") }}
{% endfor %}{% endif %}{% if s.chart %}(chart in the PDF)
{% endif %}{% endfor %}
The PDF, with charts (link valid for 7 days): __DOWNLOAD_URL__
Your reports and their schedule: __APP_URL__/reports
Stop this report: __UNSUBSCRIBE_URL__
"""

_HTML = """<!doctype html>
<html><body style="font-family: sans-serif; color: #222">
<h2 style="margin-bottom: 0">{{ title }}</h2>
<p style="color: #666; margin-top: 4px">{{ subtitle }}</p>
{% for s in sections %}<h3>{{ s.heading }}</h3>
{% for line in s.lines %}<p style="margin: 4px 0">{{ line }}</p>
{% endfor %}{% if s.chart %}<p style="margin: 4px 0; color: #666">The performance chart is in the PDF.</p>
{% endif %}{% if s.table %}<table cellpadding="4" style="border-collapse: collapse; font-size: 14px">
<tr>{% for c in s.table.columns %}<th style="text-align: {{ 'right' if s.table.numeric[loop.index0] else 'left' }}; border-bottom: 1px solid #ccc">{{ c }}</th>{% endfor %}</tr>
{% for row in s.table.rows %}<tr>{% for v in row %}<td style="text-align: {{ 'right' if s.table.numeric[loop.index0] else 'left' }}">{{ v }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% endif %}{% endfor %}
<p><a href="__DOWNLOAD_URL__">Download the PDF</a> (with charts; the link is valid for 7 days)</p>
<p style="color: #666; font-size: small">You get this email because you scheduled it on Stockscreen
(<a href="__APP_URL__/reports">your reports</a>). <a href="__UNSUBSCRIBE_URL__">Unsubscribe</a></p>
</body></html>"""  # noqa: E501


@cache
def _env(html: bool) -> Environment:
    return Environment(
        loader=DictLoader({"report.txt": _TEXT, "report.html": _HTML}),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=html),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def subtitle(data: dict[str, Any]) -> str:
    if data["kind"] == "weekly":
        return f"For {data['user']['name']}: the week from {data['week_start']} to {data['session']} (closes)."
    return f"For {data['user']['name']}: the market session of {data['session']} (closes)."


def email_parts(data: dict[str, Any]) -> dict[str, str]:
    """Subject, text and HTML of the report's email (with the per-send markers in)."""
    ctx = {"title": data["title"], "subtitle": subtitle(data), "sections": sections(data)}
    return {
        "subject": f"Stockscreen: {data['title']}"[:200],
        "text": _env(False).get_template("report.txt").render(ctx),
        "html": _env(True).get_template("report.html").render(ctx),
    }


def to_csv(data: dict[str, Any]) -> str:
    """A screen report's rows (its key fields and the closes of the sparkline, oldest first)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*data["columns"], "closes_60d"])
    for r in data["rows"]:
        w.writerow([*(("" if r.get(c) is None else r.get(c)) for c in data["columns"]),
                    " ".join(f"{x:g}" for x in r["spark"])])  # fmt: skip
    return buf.getvalue()


# -- PDF -----------------------------------------------------------------------------------------------
BLUE = (31, 119, 180)
ORANGE = (255, 127, 14)
GREY = (120, 120, 120)


def _latin(s: str) -> str:
    """The core PDF fonts are Latin-1: anything else becomes '?' (names, queries)."""
    return s.replace("\u2019", "'").replace("\u2014", "-").encode("latin-1", "replace").decode("latin-1")


def pdf(data: dict[str, Any]) -> bytes:
    """The report as a PDF (A4), tables and vector charts."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    doc = FPDF(orientation="P", unit="mm", format="A4")
    doc.set_auto_page_break(auto=True, margin=15)
    doc.set_title(_latin(data["title"]))
    doc.set_author("Stockscreen")
    doc.add_page()
    doc.set_font("helvetica", "B", 16)
    doc.cell(0, 9, _latin(data["title"]), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    doc.set_font("helvetica", "", 9)
    doc.set_text_color(*GREY)
    doc.cell(0, 5, _latin(subtitle(data)), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    doc.set_text_color(0, 0, 0)
    for s in sections(data):
        doc.ln(3)
        doc.set_font("helvetica", "B", 12)
        doc.cell(0, 7, _latin(s.heading), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        doc.set_font("helvetica", "", 9)
        for line in s.lines:
            doc.multi_cell(0, 4.5, _latin(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if s.chart is not None:
            _chart(doc, s.chart)
        if s.table is not None:
            _table(doc, s.table)
    return bytes(doc.output())


def _table(doc: Any, t: Table) -> None:
    from fpdf.enums import XPos, YPos

    width = doc.epw
    spark_w = 28.0 if t.spark else 0.0
    weights = [2.4 if c.lower() in ("name", "sector") else 1.0 for c in t.columns]
    unit = (width - spark_w) / sum(weights)
    widths = [w * unit for w in weights]
    row_h = 6.0 if t.spark else 5.0

    def header() -> None:
        doc.set_font("helvetica", "B", 8)
        doc.set_fill_color(235, 235, 235)
        for c, w, n in zip(t.columns, widths, t.numeric, strict=True):
            doc.cell(w, row_h, _latin(c), border="B", align="R" if n else "L", fill=True)
        if t.spark:
            doc.cell(spark_w, row_h, "60 sessions", border="B", align="C", fill=True)
        doc.ln(row_h)
        doc.set_font("helvetica", "", 8)

    header()
    for i, row in enumerate(t.rows):
        if doc.get_y() + row_h > doc.page_break_trigger:
            doc.add_page()
            header()
        y = doc.get_y()
        for v, w, n in zip(row, widths, t.numeric, strict=True):
            text = _latin(v)
            while text and doc.get_string_width(text) > w - 1.5:
                text = text[:-1]
            doc.cell(w, row_h, text, align="R" if n else "L")
        if t.spark:
            _spark(doc, t.spark[i], doc.get_x() + 1, y + 0.8, spark_w - 2, row_h - 1.6)
        doc.set_xy(doc.l_margin, y + row_h)
    doc.set_x(doc.l_margin)
    doc.cell(0, 1, "", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _spark(doc: Any, values: list[float], x: float, y: float, w: float, h: float) -> None:
    if len(values) < 2:
        return
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    step = w / (len(values) - 1)
    pts = [(x + k * step, y + h - (v - lo) / span * h) for k, v in enumerate(values)]
    doc.set_draw_color(*(BLUE if values[-1] >= values[0] else ORANGE))
    doc.set_line_width(0.25)
    doc.polyline(pts)
    doc.set_draw_color(0, 0, 0)


def _chart(doc: Any, c: Chart) -> None:
    """A line chart: the series over the dates, y axis with 5 ticks, first/last dates, legend."""
    x0, w, h = doc.l_margin + 12, doc.epw - 14, 55.0
    if doc.get_y() + h + 14 > doc.page_break_trigger:
        doc.add_page()
    doc.set_font("helvetica", "B", 9)
    doc.cell(0, 6, _latin(c.title), new_x="LMARGIN", new_y="NEXT")
    y0 = doc.get_y() + 2
    values = [v for s in c.series.values() for v in s]
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.08 or 1.0
    lo, hi = lo - pad, hi + pad
    doc.set_font("helvetica", "", 7)
    doc.set_draw_color(220, 220, 220)
    doc.set_line_width(0.1)
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        yy = y0 + h - (v - lo) / (hi - lo) * h
        doc.line(x0, yy, x0 + w, yy)
        doc.text(doc.l_margin, yy + 1, f"{v:.1f}")
    doc.set_draw_color(0, 0, 0)
    doc.rect(x0, y0, w, h)
    n = len(c.dates)
    step = w / max(n - 1, 1)
    for series, colour in zip(c.series.values(), (BLUE, ORANGE), strict=False):
        doc.set_draw_color(*colour)
        doc.set_line_width(0.5)
        pts = [(x0 + k * step, y0 + h - (v - lo) / (hi - lo) * h) for k, v in enumerate(series)]
        if len(pts) > 1:
            doc.polyline(pts)
    doc.set_draw_color(0, 0, 0)
    doc.set_text_color(*GREY)
    doc.text(x0, y0 + h + 4, c.dates[0])
    doc.text(x0 + w - doc.get_string_width(c.dates[-1]), y0 + h + 4, c.dates[-1])
    lx = x0 + w / 2 - 30
    for (name, series), colour in zip(c.series.items(), (BLUE, ORANGE), strict=False):
        doc.set_fill_color(*colour)
        doc.rect(lx, y0 + h + 1.5, 4, 2.5, style="F")
        doc.set_text_color(0, 0, 0)
        doc.text(lx + 5.5, y0 + h + 4, f"{name} {series[-1] - 100:+.2f}%")
        lx += 32
    doc.set_text_color(0, 0, 0)
    doc.set_y(y0 + h + 7)


# -- the render task ------------------------------------------------------------------------------------
class Store(Protocol):
    def put(self, key: str, body: bytes, content_type: str) -> None: ...
    def get(self, key: str) -> bytes: ...


def render_to_store(store: Store, data_key: str) -> dict[str, Any]:
    """Render the figures stored at ``data_key`` into the PDF, the email parts and (screen) the CSV, next
    to it in the store; their keys and the PDF's size. Rendering twice writes the same keys."""
    data = json.loads(store.get(data_key))
    prefix = data_key.rsplit("/", 1)[0]
    document = pdf(data)
    out: dict[str, Any] = {
        "run_id": data.get("run_id"),
        "pdf_key": f"{prefix}/report.pdf",
        "email_key": f"{prefix}/email.json",
        "csv_key": None,
        "pdf_bytes": len(document),
    }
    store.put(out["pdf_key"], document, "application/pdf")
    store.put(out["email_key"], json.dumps(email_parts(data)).encode(), "application/json")
    if data["kind"] == "screen":
        out["csv_key"] = f"{prefix}/report.csv"
        store.put(out["csv_key"], to_csv(data).encode(), "text/csv")
    return out
