"""The report as one HTML page: inline styles, inline SVG charts, no script, nothing to fetch.

Each key figure is in an element with a ``data-figure`` attribute and each chart in a ``<figure
data-chart=...>``, so tests (and anyone scraping the page) find them by name. Text from the lake
is escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence

import pandas as pd

from accelerator.report import charts
from accelerator.report import transform as tf
from accelerator.report.read import ReportData

CSS = """
:root { --ink: #1b1f24; --muted: #5f6b7a; --line: #d8dee4; --band: #f4f6f8; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: var(--ink); margin: 0 auto; padding: 24px 32px; max-width: 1180px; line-height: 1.4; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
h2 { font-size: 1.25rem; border-bottom: 2px solid var(--ink); padding-bottom: 4px; margin-top: 32px; }
h3 { font-size: 1.02rem; margin: 20px 0 6px; }
p.meta, p.note { color: var(--muted); margin: 4px 0 12px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 150px; }
.card .n { font-size: 1.45rem; font-weight: 600; display: block; }
.card .l { color: var(--muted); font-size: .85rem; }
.row { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
figure { margin: 8px 0 16px; break-inside: avoid; page-break-inside: avoid; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: .85rem; }
table { border-collapse: collapse; font-size: .85rem; margin: 6px 0 16px; break-inside: auto; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 8px; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background: var(--band); }
.status { padding: 0 6px; border-radius: 3px; color: white; font-size: .8rem; }
nav a { margin-right: 14px; color: var(--ink); }
@media print {
  body { padding: 0; max-width: none; font-size: 10pt; }
  nav { display: none; }
  h2 { break-before: auto; break-after: avoid; }
  tr, .card { break-inside: avoid; }
}
"""


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _num(v: object) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.2f}"
    return f"{int(v):,}" if isinstance(v, int | float) else esc(v)


def _pct(v: object) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{float(v):.1%}"  # type: ignore[arg-type]


def card(label: str, value: object, figure: str, *, pct: bool = False) -> str:
    shown = _pct(value) if pct else _num(value)
    return (
        f'<div class="card"><span class="n" data-figure="{esc(figure)}">{shown}</span>'
        f'<span class="l">{esc(label)}</span></div>'
    )


def table(
    df: pd.DataFrame,
    columns: Sequence[tuple[str, str]],
    *,
    name: str,
    pct: Iterable[str] = (),
    empty: str = "none",
) -> str:
    """An HTML table of ``df``'s ``columns`` (column, heading); numbers right-aligned."""
    if df.empty:
        return f'<p class="note" data-table="{esc(name)}" data-rows="0">{esc(empty)}</p>'
    pct = set(pct)
    head = "".join(
        f'<th class="{"n" if pd.api.types.is_numeric_dtype(df[c]) else ""}">{esc(h)}</th>' for c, h in columns
    )
    body = []
    for r in df.to_dict("records"):
        cells = []
        for c, _ in columns:
            v = r[c]
            if c in pct:
                cells.append(f'<td class="n">{_pct(v)}</td>')
            elif c == "status":
                colour = charts.STATUS_COLOURS.get(str(v), "#555")
                cells.append(f'<td><span class="status" style="background:{colour}">{esc(v)}</span></td>')
            elif isinstance(v, int | float) and not isinstance(v, bool):
                cells.append(f'<td class="n">{_num(v)}</td>')
            else:
                cells.append(f"<td>{esc(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<table data-table="{esc(name)}" data-rows="{len(df)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def chart(name: str, svg: str, caption: str) -> str:
    return f'<figure data-chart="{esc(name)}">{svg}<figcaption>{esc(caption)}</figcaption></figure>'


# ------------------------------------------------------------------------------------- sections


def deliveries_section(d: ReportData) -> str:
    by_auth = tf.rows_by_authority(d.deliveries)
    return "".join(
        [
            '<section id="deliveries"><h2>Deliveries</h2>',
            _delivery_cards(d.deliveries, by_auth),
            _delivery_grid(tf.delivery_grid(d.deliveries)),
            _not_loaded(d.deliveries),
            _rows_by_authority(by_auth),
            _quarantine(tf.quarantine_by_reason(d.quarantine)),
            "</section>",
        ]
    )


def _delivery_cards(dv: pd.DataFrame, by_auth: pd.DataFrame) -> str:
    cards = [card("deliveries in this run", len(dv), "deliveries")]
    for s in ("LOADED", "DUPLICATE", "PENDING", "REJECTED"):
        cards.append(card(s.lower(), int((dv["status"] == s).sum()), f"deliveries_{s.lower()}"))
    cards.append(card("rows loaded", int(by_auth["rows_loaded"].sum()), "rows_loaded"))
    cards.append(card("rows quarantined", int(by_auth["rows_quarantined"].sum()), "rows_quarantined"))
    return '<div class="cards">' + "".join(cards) + "</div>"


def _delivery_grid(grid: pd.DataFrame) -> str:
    if grid.empty:
        return '<p class="note">This run assessed no delivery.</p>'
    caption = "Deliveries per authority and feed in this run, coloured by their worst status."
    columns = [("authority", "authority"), ("feed", "feed"), ("label", "deliveries")]
    return chart("delivery_grid", charts.to_svg(charts.delivery_grid(grid)), caption) + table(
        grid, columns, name="grid"
    )


def _not_loaded(dv: pd.DataFrame) -> str:
    columns = [
        ("authority", "authority"),
        ("feed", "feed"),
        ("folder", "folder"),
        ("status", "status"),
        ("reason", "reason"),
    ]
    return "<h3>Everything not LOADED, and why</h3>" + table(
        tf.not_loaded(dv), columns, name="not_loaded", empty="Every delivery of this run was LOADED."
    )


def _rows_by_authority(by_auth: pd.DataFrame) -> str:
    columns = [
        ("authority", "authority"),
        ("deliveries", "LOADED deliveries"),
        ("rows_in_files", "rows in files"),
        ("rows_loaded", "loaded"),
        ("rows_quarantined", "quarantined"),
    ]
    return "<h3>Rows by authority</h3>" + table(by_auth, columns, name="rows_by_authority")


def _quarantine(quarantine: pd.DataFrame) -> str:
    """Rows quarantined by reason code: a chart when there are any, and the table by feed."""
    out = ["<h3>Quarantine by reason code</h3>"]
    if not quarantine.empty:
        by_code = quarantine.groupby("reason_code", as_index=False)["rows"].sum()
        svg = charts.to_svg(
            charts.bars(
                by_code, x="reason_code", y="rows", x_title="reason code", y_title="rows", horizontal=True
            )
        )
        out.append(chart("quarantine", svg, "Rows quarantined in this run, by reason code."))
    columns = [("authority", "authority"), ("feed", "feed"), ("reason_code", "reason code"), ("rows", "rows")]
    out.append(table(quarantine, columns, name="quarantine", empty="No row was quarantined in this run."))
    return "".join(out)


def quality_section(d: ReportData) -> str:
    card_ = tf.scorecard(d.dq)
    trend = tf.scorecard_trend(d.dq)
    out = ['<section id="quality"><h2>Partner scorecard</h2>']
    out.append(
        f'<p class="note">Data quality of the deliveries applied in the last {len(d.runs)} run(s), per '
        "authority and feed (silver/_platform/dq_metrics). Invalid identifiers: NHS numbers, UPNs and NI "
        "numbers that fail their check, over rows delivered. Key nulls: the highest null rate among the "
        "feed's key columns (feeds.md).</p>"
    )
    if not trend.empty:
        svg = charts.to_svg(
            charts.lines(
                trend,
                x="extract_date",
                y="rate",
                colour="feed",
                x_title="extract date",
                y_title="share of rows",
                y_format="%",
                facet="measure",
            )
        )
        out.append(
            chart(
                "scorecard_trend", svg, "Share of rows quarantined and of invalid identifiers, per delivery."
            )
        )
    out.append(
        table(
            card_,
            [
                ("authority", "authority"),
                ("feed", "feed"),
                ("deliveries", "deliveries"),
                ("rows", "rows"),
                ("quarantined_rate", "quarantined"),
                ("invalid_identifier_rate", "invalid identifiers"),
                ("key_null_rate", "key nulls"),
                ("date_formats", "date formats"),
                ("encodings", "encodings"),
            ],
            name="scorecard",
            pct=("quarantined_rate", "invalid_identifier_rate", "key_null_rate"),
            empty="No data-quality metrics yet.",
        )
    )
    out.append("</section>")
    return "".join(out)


LINKAGE_CARDS = (
    ("records", "records"),
    ("people", "people"),
    ("links", "links (at or over the threshold)"),
    ("pairs_stored", "pairs stored"),
    ("records_scored", "records scored this run"),
    ("refused_merges", "merges refused"),
)


def linkage_section(d: ReportData) -> str:
    head = '<section id="linkage"><h2>Linkage</h2>'
    if d.linkage.empty:
        return head + '<p class="note">No linkage report for this run.</p></section>'
    s = tf.linkage_summary(d.linkage)
    threshold = s.get("match_weight_threshold", d.threshold)
    rules = tf.links_by_rule(d.linkage)
    return "".join(
        [
            head,
            _linkage_cards(s),
            _linkage_charts(d, rules, threshold),
            _links_by_rule(rules),
            _largest_clusters(d),
            _churn(d),
            _refused_merges(d),
            precision_block(d, threshold),
            "</section>",
        ]
    )


def _linkage_cards(s: dict[str, float]) -> str:
    cards = [card(label, s.get(item), f"linkage_{item}") for item, label in LINKAGE_CARDS]
    churn = card(
        "earlier records whose person id changed", s.get("id_churn_share"), "linkage_churn", pct=True
    )
    return '<div class="cards">' + "".join(cards) + churn + "</div>"


def _linkage_charts(d: ReportData, rules: pd.DataFrame, threshold: float) -> str:
    """Stored pairs by match weight; links by blocking rule and people by size, side by side."""
    out = [
        chart(
            "match_weight",
            charts.to_svg(charts.match_weights(tf.match_weights(d.linkage, threshold), threshold)),
            f"Stored pairs by match weight; pairs at or over {threshold:g} are linked.",
        ),
        '<div class="row">',
    ]
    if not rules.empty:
        svg = charts.to_svg(
            charts.bars(rules, x="rule", y="links", x_title="blocking rule", y_title="links", horizontal=True)
        )
        out.append(chart("links_by_rule", svg, "Links by the blocking rule that first found them."))
    sizes = tf.cluster_sizes(d.linkage)
    if not sizes.empty:
        svg = charts.to_svg(
            charts.bars(sizes, x="records", y="people", x_title="records per person", y_title="people")
        )
        out.append(chart("cluster_sizes", svg, "People by how many records they hold."))
    out.append("</div>")
    return "".join(out)


def _links_by_rule(rules: pd.DataFrame) -> str:
    columns = [
        ("rule", "blocking rule"),
        ("links", "links"),
        ("share", "share"),
        ("pairs_stored", "pairs stored"),
    ]
    return table(rules, columns, name="links_by_rule", pct=("share",))


def _largest_clusters(d: ReportData) -> str:
    columns = [
        ("rank", "rank"),
        ("records", "records"),
        ("authorities", "authorities"),
        ("feeds", "feeds"),
        ("dates_of_birth", "distinct dates of birth"),
    ]
    return "<h3>Largest people (sizes only)</h3>" + table(
        tf.largest_clusters(d.linkage), columns, name="largest_clusters"
    )


def _churn(d: ReportData) -> str:
    """Person-id events over the recent runs: a chart when there are any, and their table."""
    churn = tf.churn_over_runs(d.linkage_history)
    out = ["<h3>Person-id churn over runs</h3>"]
    if not churn.empty:
        svg = charts.to_svg(
            charts.lines(
                churn, x="run_id", y="count", colour="measure", x_title="run", y_title="count", x_type="O"
            )
        )
        caption = "Person-id MERGE / SPLIT / NEW events, and earlier records whose id changed."
        out.append(chart("churn", svg, caption))
    columns = [("run_id", "run"), ("measure", "measure"), ("count", "count")]
    out.append(table(churn, columns, name="churn", empty="none"))
    return "".join(out)


def _refused_merges(d: ReportData) -> str:
    return "<h3>Refused merges</h3>" + table(
        tf.refused_merges(d.linkage),
        [("constraint", "constraint"), ("edges", "edges refused")],
        name="refused_merges",
        empty="The clustering refused no merge.",
    )


def precision_block(d: ReportData, threshold: float) -> str:
    p = tf.precision(d.labels, threshold)
    out = ["<h3>Precision from clerical review</h3>"]
    if p.reviewed == 0:
        out.append(
            '<p class="note" data-figure="precision">No reviewed pairs yet: reviewers label pairs in '
            "silver/&lt;authority&gt;/_review and the pipeline loads them with "
            "<code>accelerator linkage labels</code>.</p>"
        )
        return "".join(out)
    out.append('<div class="cards">')
    out.append(card("pairs reviewed", p.reviewed, "labels_reviewed"))
    out.append(card("reviewed pairs the model links", p.linked, "labels_linked"))
    out.append(card("of them the same person", p.correct, "labels_correct"))
    out.append(card("precision among reviewed links", p.estimate, "precision", pct=True))
    out.append("</div>")
    if p.low is not None:
        out.append(
            f'<p class="note">Wilson 95% interval <span data-figure="precision_low">{_pct(p.low)}</span> to '
            f'<span data-figure="precision_high">{_pct(p.high)}</span>. The reviewed pairs are borderline '
            "pairs (nearest the threshold), so this is the precision where the model is least sure: a lower "
            "bound for the precision of all links.</p>"
        )
    return "".join(out)


def gold_section(d: ReportData) -> str:
    out = ['<section id="gold"><h2>Gold</h2>']
    now = tf.gold_now(d.gold)
    if now.empty:
        out.append('<div class="cards">')
        out.append(card("families", 0, "gold_families"))
        out.append(card("eligible families", 0, "gold_eligible"))
        out.append('</div><p class="note">No family in gold.</p></section>')
        return "".join(out)
    out.append('<div class="cards">')
    out.append(card("families", int(d.gold["families"].sum()), "gold_families"))
    out.append(card("eligible families", int(d.gold["eligible"].sum()), "gold_eligible"))
    as_of = sorted({str(x) for x in d.gold["as_of"]})
    out.append(card("as of", ", ".join(as_of), "gold_as_of"))
    out.append("</div>")
    headlines = now[now["measure"] != "families"]
    out.append(
        chart(
            "prevalence",
            charts.to_svg(charts.prevalence(headlines)),
            "Eligible families and families with each headline, as a share of each authority's families.",
        )
    )
    wide = d.gold.copy()
    cols = [
        ("authority", "authority"),
        ("as_of", "as of"),
        ("families", "families"),
        ("eligible", "eligible"),
    ]
    cols += [(c, c) for c in d.gold.columns if c.startswith("h")]
    out.append(table(wide, cols, name="gold"))
    trend = tf.gold_trend(d.run_log, d.gold)
    out.append("<h3>Trend over as_of</h3>")
    if trend["as_of"].nunique() > 1:
        svg = charts.to_svg(
            charts.lines(
                trend,
                x="as_of",
                y="prevalence",
                colour="measure",
                x_title="as of",
                y_title="share of families",
                y_format="%",
                facet="authority",
            )
        )
        out.append(chart("gold_trend", svg, "Prevalence of eligibility and each headline over as_of."))
    else:
        out.append('<p class="note">One as_of so far: the trend starts with the next one.</p>')
    out.append("</section>")
    return "".join(out)


def timings_section(d: ReportData) -> str:
    t = tf.stage_timings(d.run_log, d.run_id)
    out = ['<section id="timings"><h2>Timings</h2>']
    if t.empty:
        out.append('<p class="note">This run recorded no stage timings.</p></section>')
        return "".join(out)
    out.append(card("seconds in all", round(float(t["seconds"].sum()), 1), "seconds_total"))
    out.append(chart("timings", charts.to_svg(charts.timings(t)), "Seconds per stage of this run."))
    out.append(table(t.round({"seconds": 1}), [("stage", "stage"), ("seconds", "seconds")], name="timings"))
    out.append("</section>")
    return "".join(out)


def render(d: ReportData) -> str:
    """The whole page for ``d``."""
    who = f"{d.authority}: deliveries, data quality and gold" if d.authority else "every authority"
    parts = [deliveries_section(d), quality_section(d)]
    links = [("deliveries", "Deliveries"), ("quality", "Scorecard")]
    if not d.authority:
        parts.append(linkage_section(d))
        links.append(("linkage", "Linkage"))
    parts += [gold_section(d), timings_section(d)]
    links += [("gold", "Gold"), ("timings", "Timings")]
    nav = "".join(f'<a href="#{a}">{esc(t)}</a>' for a, t in links)
    title = f"Run report {d.run_id}" + (f" — {d.authority}" if d.authority else "")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f'<header><h1>Run report <span data-figure="run_id">{esc(d.run_id)}</span></h1>'
        f'<p class="meta">{esc(who)}. Counts and charts only: no name, identifier or record key.</p>'
        f"<nav>{nav}</nav></header>{''.join(parts)}</body></html>"
    )
