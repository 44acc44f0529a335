"""Parse decoded pages into article fields and ticker headlines, as polars expressions over a
frame of pages (one line per row after an explode), never a Python loop per page."""

from __future__ import annotations

import polars as pl

from assets.transforms.editions import Edition
from assets.transforms.text_keys import identity_key

TICKER_SEPARATOR = "\u00a0" * 4
_KEY_SEPARATOR = "\x1f"
_ARABIC_INDIC_DIGITS = [*"٠١٢٣٤٥٦٧٨٩", *"۰۱۲۳۴۵۶۷۸۹"]
_ASCII_DIGITS = [*"0123456789", *"0123456789"]
# Control characters other than tab, newline, form feed and carriage return.
_CONTROL_CHARS = r"[\x01-\x08\x0b\x0e-\x1f\x7f]"

PARSED_SCHEMA = {
    "page_id": pl.String,
    "crawl_date": pl.Date,
    "url": pl.String,
    "encoding": pl.String,
    "size_bytes": pl.Int64,
    "status": pl.String,
    "detail": pl.String,
    "edition": pl.String,
    "source": pl.String,
    "title": pl.String,
    "published_raw": pl.String,
    "published_date": pl.Date,
    "body": pl.String,
    "article_key": pl.String,
    "title_key": pl.String,
    "ticker": pl.List(pl.String),
    "ticker_keys": pl.List(pl.String),
}


def parse_pages(pages: pl.DataFrame, editions: tuple[Edition, ...]) -> pl.DataFrame:
    """Pages (page_id, crawl_date, url, text, encoding, size_bytes, status, detail) in,
    one parsed row per page out, with the columns of PARSED_SCHEMA and in input order.

    A page that a reader already rejected keeps its status; otherwise status becomes
    'empty', 'binary', 'no_publication_line', 'no_title' or 'ok'.
    """
    pages = pages.with_row_index("row").with_columns(
        text=pl.col("text").str.strip_prefix("\ufeff").str.replace_all("\r\n?", "\n")
    )
    pages = pages.with_columns(
        status=pl.when(pl.col("status").is_not_null())
        .then(pl.col("status"))
        .when(pl.col("text").is_null() | (pl.col("text").str.strip_chars() == ""))
        .then(pl.lit("empty"))
        .when(pl.col("text").str.contains(_CONTROL_CHARS + "{4}|\x00"))
        .then(pl.lit("binary")),
    )
    lines = _lines(pages.filter(pl.col("status").is_null()))
    publication = _publication_lines(lines, editions)
    ticker = _tickers(lines)
    title = _titles(lines, publication, editions)
    body = _bodies(lines, publication, editions)

    parsed = (
        pages.join(publication, on="row", how="left")
        .join(title, on="row", how="left")
        .join(body, on="row", how="left")
        .join(ticker, on="row", how="left")
        .with_columns(
            status=pl.when(pl.col("status").is_not_null())
            .then(pl.col("status"))
            .when(pl.col("edition").is_null())
            .then(pl.lit("no_publication_line"))
            .when(pl.col("title").is_null())
            .then(pl.lit("no_title"))
            .otherwise(pl.lit("ok")),
        )
        .with_columns(
            detail=pl.when(pl.col("detail").is_not_null())
            .then(pl.col("detail"))
            .when(pl.col("status") == "empty")
            .then(pl.lit("no text"))
            .when(pl.col("status") == "binary")
            .then(pl.lit("control characters in the text"))
            .when(pl.col("status") == "no_publication_line")
            .then(pl.lit("no line matches an edition's publication template"))
            .when(pl.col("status") == "no_title")
            .then(pl.lit("no title line before the publication line")),
            title_key=identity_key(pl.col("title")),
            article_key=pl.when(pl.col("status") == "ok").then(
                pl.concat_str(
                    [identity_key(pl.col(c)) for c in ("source", "title", "published_raw")],
                    separator=_KEY_SEPARATOR,
                )
            ),
        )
        .sort("row")
    )
    parsed = parsed.with_columns(ticker_keys=_ticker_keys(parsed["ticker"]))
    return parsed.select([pl.col(name).cast(dtype) for name, dtype in PARSED_SCHEMA.items()])


def _ticker_keys(tickers: pl.Series) -> pl.Expr:
    # Every page crawled at the same time shows the same ticker: key each distinct headline
    # once (Unicode normalization is the costly part), then map the lists through the keys.
    distinct = tickers.explode().drop_nulls().unique()
    keys = distinct.to_frame("text").select(identity_key(pl.col("text")))["text"]
    return pl.col("ticker").list.eval(pl.element().replace_strict(distinct, keys, return_dtype=pl.String))


def _lines(pages: pl.DataFrame) -> pl.DataFrame:
    """One row per line of every page: row, line_no (0-based), line (raw), stripped."""
    return (
        pages.select("row", line=pl.col("text").str.split("\n"))
        .explode("line")
        .with_columns(
            line_no=pl.int_range(pl.len(), dtype=pl.UInt32).over("row"),
            stripped=pl.col("line").str.strip_chars(),
        )
    )


def _is_ticker() -> pl.Expr:
    return (pl.col("line_no") == 0) & pl.col("line").str.contains(TICKER_SEPARATOR, literal=True)


def _tickers(lines: pl.DataFrame) -> pl.DataFrame:
    """The ticker of each page that has one: its headlines in order, stripped, non-empty."""
    return lines.filter(_is_ticker()).select(
        "row",
        ticker=pl.col("line")
        .str.split(TICKER_SEPARATOR)
        .list.eval(pl.element().str.strip_chars().filter(pl.element().str.strip_chars() != "")),
    )


def _publication_lines(lines: pl.DataFrame, editions: tuple[Edition, ...]) -> pl.DataFrame:
    """The first line of each page that matches an edition's publication template."""
    starts_like_publication = pl.any_horizontal(
        [pl.col("stripped").str.starts_with(edition.marker) for edition in editions]
    )
    candidates = lines.filter(starts_like_publication)
    fields = pl.coalesce(
        [
            pl.when(pl.col("stripped").str.contains(edition.publication_regex)).then(
                pl.col("stripped").str.extract_groups(edition.publication_regex)
            )
            for edition in editions
        ]
    )
    edition_code = pl.coalesce(
        [
            pl.when(pl.col("stripped").str.contains(edition.publication_regex)).then(pl.lit(edition.code))
            for edition in editions
        ]
    )
    matched = (
        candidates.with_columns(fields=fields, edition=edition_code)
        .filter(pl.col("edition").is_not_null())
        .sort("row", "line_no")
        .unique("row", keep="first", maintain_order=True)
        .unnest("fields")
    )
    ascii_digits = {
        part: pl.col(part).str.replace_many(_ARABIC_INDIC_DIGITS, _ASCII_DIGITS) for part in ("day", "month", "year")
    }
    return matched.select(
        "row",
        publication_line_no="line_no",
        edition="edition",
        source=pl.col("source").str.strip_chars(),
        published_raw="published_raw",
        published_date=pl.concat_str(
            [ascii_digits["year"], ascii_digits["month"], ascii_digits["day"]], separator="-"
        ).str.to_date("%Y-%m-%d", strict=False),
    )


def _titles(lines: pl.DataFrame, publication: pl.DataFrame, editions: tuple[Edition, ...]) -> pl.DataFrame:
    """The last content line before the publication line: not blank, not boilerplate, not the ticker."""
    boilerplate = sorted({line for edition in editions for line in edition.boilerplate})
    return (
        lines.join(publication.select("row", "publication_line_no"), on="row")
        .filter(
            (pl.col("line_no") < pl.col("publication_line_no"))
            & (pl.col("stripped") != "")
            & ~pl.col("stripped").is_in(boilerplate)
            & ~_is_ticker()
        )
        .group_by("row")
        .agg(title=pl.col("stripped").sort_by("line_no").last())
    )


def _bodies(lines: pl.DataFrame, publication: pl.DataFrame, editions: tuple[Edition, ...]) -> pl.DataFrame:
    """Non-blank lines after the publication line, up to the footer, joined with newlines."""
    footers = sorted({edition.footer for edition in editions})
    after_publication = lines.join(publication.select("row", "publication_line_no"), on="row").filter(
        pl.col("line_no") > pl.col("publication_line_no")
    )
    is_footer = pl.any_horizontal([pl.col("stripped").str.starts_with(footer) for footer in footers])
    footer_line_no = pl.when(is_footer).then(pl.col("line_no")).min().over("row")
    return (
        after_publication.filter(
            (pl.col("stripped") != "") & (footer_line_no.is_null() | (pl.col("line_no") < footer_line_no))
        )
        .sort("row", "line_no")
        .group_by("row", maintain_order=True)
        .agg(body=pl.col("stripped").str.join("\n"))
    )
