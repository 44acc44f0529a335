"""The corpus report: frames in, one self-contained HTML page of plotly charts out.

plotly.js is inlined once, so the page renders with the network cut."""

from __future__ import annotations

import html

import polars as pl

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


def build_report_html(frames: dict[str, pl.DataFrame], title: str, subtitle: str) -> str:
    """frames: one per section id (the section's query result); date_problems has `check`,
    `unexpected_count`, `unexpected_percent`, `passed`."""
    from plotly.offline import get_plotlyjs

    charts = {
        "articles_per_month_by_edition": lambda f: _stacked(f, "month", "edition", "articles"),
        "articles_per_month_by_site": lambda f: _stacked(f, "month", "site", "articles"),
        "language_mix_by_edition": lambda f: _stacked(f, "edition", "language", "articles"),
        "top_sources": lambda f: _bars(f.reverse(), "source", "articles", horizontal=True),
        "rejections_by_dump": lambda f: _stacked(f, "dump_id", "status", "pages"),
        "largest_stories": _stories,
        "date_problems": lambda f: _bars(f, "check", "unexpected_count"),
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
        f"<title>{html.escape(title)}</title><script>{get_plotlyjs()}</script>"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "section{margin-bottom:3em}.empty{color:#888}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p>{''.join(body)}</body></html>"
    )


def _stacked(frame: pl.DataFrame, x: str, color: str, y: str):
    import plotly.graph_objects as go

    figure = go.Figure()
    for (name,), group in frame.sort(x).group_by(color, maintain_order=True):
        figure.add_bar(x=group[x].to_list(), y=group[y].to_list(), name=str(name))
    figure.update_layout(barmode="stack", height=420, margin={"t": 20}, yaxis_title=y)
    return figure


def _bars(frame: pl.DataFrame, label: str, value: str, horizontal: bool = False):
    import plotly.graph_objects as go

    labels, values = frame[label].cast(pl.String).to_list(), frame[value].to_list()
    bar = go.Bar(y=labels, x=values, orientation="h") if horizontal else go.Bar(x=labels, y=values)
    return go.Figure(bar).update_layout(height=max(300, 24 * len(labels)) if horizontal else 380, margin={"t": 20})


def _stories(frame: pl.DataFrame):
    import plotly.graph_objects as go

    frame = frame.reverse()
    hover = [
        f"{html.escape(text)}<br>editions: {', '.join(editions)}<br>languages: {', '.join(languages)}"
        for text, editions, languages in frame.select("sample_text", "editions", "languages").iter_rows()
    ]
    labels = [text if len(text) <= 60 else text[:59] + "…" for text in frame["sample_text"].to_list()]
    bar = go.Bar(y=labels, x=frame["sightings"].to_list(), orientation="h", hovertext=hover, hoverinfo="text+x")
    return go.Figure(bar).update_layout(height=max(300, 28 * frame.height), margin={"t": 20, "l": 380})
