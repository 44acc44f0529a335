"""The corpus report: frames in, one HTML page of plotly charts out.

The page loads plotly.js from a file beside it (`plotly_script_name`), written once for all the
reports of a folder rather than 4.8 MB inlined into each: it renders with the network cut.
A name (a language, an edition, a site, a status) has one colour on every chart and in every
report, and counts have whole-number axes."""

from __future__ import annotations

import hashlib
import html

import polars as pl

# The editions' languages and "und" first, in the palette's first colours, so that they never
# share one; any other name gets a colour from its hash.
_KNOWN_NAMES = ("fr", "es", "ar", "en", "und")
_PALETTE = (
    "#636efa", "#ef553b", "#00cc96", "#ab63fa", "#7f7f7f", "#ffa15a", "#19d3f3", "#ff6692",
    "#b6e880", "#ff97ff", "#fecb52", "#1f77b4", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
)  # plotly's qualitative colours, then D3's; grey for "und"

# (section id, title, what the chart says); the order of the page.
SECTIONS = (
    ("articles_per_month_by_edition", "Articles per month, by edition", "Distinct articles by month of publication."),
    ("articles_per_month_by_site", "Articles per month, by site", "Distinct articles by month of publication and aggregator site."),
    ("language_mix_by_edition", "Language mix per edition", "Detected language of article bodies in each edition ('und': undetermined)."),
    ("top_sources", "Top sources", "The twenty newspapers with the most distinct articles."),
    ("rejections_by_dump", "Rejected pages per dump", "Pages kept out of the articles, by reason (pages.status)."),
    ("largest_stories", "Largest cross-edition stories", "Stories told in several editions or languages, by ticker sightings."),
    ("date_problems", "Date problems in the latest publish", "Failing rows of each date expectation among the pages the latest publish loaded, as its checks found them."),
)


def plotly_script_name() -> str:
    """The file of plotly.js the reports load, named by its version: a report never loads
    another version's (its content: plotly.offline.get_plotlyjs())."""
    import plotly

    return f"plotly-{plotly.__version__}.min.js"


def build_report_html(frames: dict[str, pl.DataFrame], title: str, subtitle: str) -> str:
    """frames: one per section id (the section's query result); date_problems has `check`,
    `unexpected_count`, `unexpected_percent`, `passed`. The page expects
    plotly_script_name() beside it."""
    charts = {
        "articles_per_month_by_edition": lambda f: _stacked(f, "month", "edition", "articles", "month of publication"),
        "articles_per_month_by_site": lambda f: _stacked(f, "month", "site", "articles", "month of publication"),
        "language_mix_by_edition": lambda f: _stacked(f, "edition", "language", "articles", "edition"),
        "top_sources": lambda f: _bars(f.reverse(), "source", "articles", horizontal=True),
        "rejections_by_dump": lambda f: _stacked(f, "dump_id", "status", "pages", "dump"),
        "largest_stories": _stories,
        "date_problems": lambda f: _bars(f, "check", "unexpected_count", count_title="failing pages"),
    }
    body = []
    for section, heading, explanation in SECTIONS:
        frame = frames.get(section, pl.DataFrame())
        content = (
            charts[section](frame).to_html(full_html=False, include_plotlyjs=False, default_width="100%")
            if frame.height
            else "<p class='empty'>Nothing to show yet.</p>"
        )
        body.append(
            f"<section id='{section}'><h2>{html.escape(heading)}</h2>"
            f"<p>{html.escape(explanation)}</p>{content}</section>"
        )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><script src='{html.escape(plotly_script_name())}'></script>"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "section{margin-bottom:3em}.empty{color:#888}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p>{''.join(body)}</body></html>"
    )


def colour(name: str) -> str:
    """The colour of a name on every chart of every report."""
    if name in _KNOWN_NAMES:
        return _PALETTE[_KNOWN_NAMES.index(name)]
    others = _PALETTE[len(_KNOWN_NAMES) :]
    return others[int(hashlib.md5(name.encode()).hexdigest(), 16) % len(others)]


def _count_axis(title: str, largest) -> dict:
    """An axis of counts: whole numbers, from zero, a tick per unit when there are few."""
    axis = {"title": title, "tickformat": ",d", "rangemode": "tozero"}
    if largest is not None and largest <= 10:
        axis["dtick"] = 1
    return axis


def _stacked(frame: pl.DataFrame, x: str, color: str, y: str, x_title: str):
    import plotly.graph_objects as go

    figure = go.Figure()
    for (name,), group in frame.sort(x).group_by(color, maintain_order=True):
        figure.add_bar(x=group[x].to_list(), y=group[y].to_list(), name=str(name), marker_color=colour(str(name)))
    largest = frame.group_by(x).agg(pl.col(y).sum())[y].max()
    figure.update_layout(
        barmode="stack", bargap=0.1, height=420, margin={"t": 20},
        xaxis={"title": x_title}, yaxis=_count_axis(y, largest), legend_title_text=color,
    )
    if x == "month":  # years of months: a tick per year or so, and a slider to zoom in
        figure.update_xaxes(type="date", tickformat="%Y-%m", rangeslider={"visible": True, "thickness": 0.06})
    return figure


def _bars(frame: pl.DataFrame, label: str, value: str, horizontal: bool = False, count_title: str | None = None):
    import plotly.graph_objects as go

    labels, values = frame[label].cast(pl.String).to_list(), frame[value].to_list()
    counts = _count_axis(count_title or value, frame[value].max())
    if horizontal:
        figure = go.Figure(go.Bar(y=labels, x=values, orientation="h"))
        return figure.update_layout(height=max(300, 24 * len(labels)), margin={"t": 20}, xaxis=counts, yaxis_title=label)
    figure = go.Figure(go.Bar(x=labels, y=values))
    return figure.update_layout(height=380, margin={"t": 20}, yaxis=counts, xaxis_title=label)


def _stories(frame: pl.DataFrame):
    import plotly.graph_objects as go

    frame = frame.reverse()
    hover = [
        f"{html.escape(text)}<br>editions: {', '.join(editions)}<br>languages: {', '.join(languages)}"
        for text, editions, languages in frame.select("sample_text", "editions", "languages").iter_rows()
    ]
    labels = [text if len(text) <= 60 else text[:59] + "…" for text in frame["sample_text"].to_list()]
    bar = go.Bar(y=labels, x=frame["sightings"].to_list(), orientation="h", hovertext=hover, hoverinfo="text+x")
    return go.Figure(bar).update_layout(
        height=max(300, 28 * frame.height), margin={"t": 20, "l": 380},
        xaxis=_count_axis("ticker sightings", frame["sightings"].max()), yaxis_title="story (a headline of it)",
    )
