"""Parse decoded pages into article fields and ticker headlines, as polars expressions over a
frame of pages (one line per row after an explode), never a Python loop per page."""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from newsdesk.transforms.editions import Edition
from newsdesk.transforms.text_keys import identity_key

TICKER_SEPARATOR = "\u00a0" * 4
_KEY_SEPARATOR = "\x1f"
_ARABIC_INDIC_DIGITS = [*"٠١٢٣٤٥٦٧٨٩", *"۰۱۲۳۴۵۶۷۸۹"]
_ASCII_DIGITS = [*"0123456789", *"0123456789"]
# Control characters other than tab, newline, form feed and carriage return.
_CONTROL_CHARS = r"[\x01-\x08\x0b\x0e-\x1f\x7f]"
_ALLOWED_CONTROL_BYTES = np.array([0x09, 0x0A, 0x0C, 0x0D], dtype=np.uint8)
# Arrow string views hold strings of up to 12 bytes themselves, longer ones point into a buffer.
_INLINE_VIEW_BYTES = 12

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
        .when(pl.col("text").is_null() | ~pl.col("text").str.contains(r"\S"))
        .then(pl.lit("empty"))
        .when(_has_control_chars(pages["text"]))
        .then(pl.lit("binary")),
    )
    lines, ticker_lines = _lines(pages.filter(pl.col("status").is_null()), editions)
    publication = _publication_lines(lines, editions)
    ticker = _tickers(ticker_lines)
    title = _titles(lines, publication, editions)
    body = _bodies(lines, publication, editions)

    parsed = (
        pages.drop("text")
        .join(publication, on="row", how="left")
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
            # An ok page with no body text has a known, empty body: NULL would mean unknown.
            body=pl.when(pl.col("status") == "ok").then(pl.col("body").fill_null("")).otherwise("body"),
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
        )
    )
    # Sources and dates repeat from page to page: each distinct one is keyed once.
    parsed = _with_keys(parsed, {"source": "source_key", "published_raw": "date_key"}).with_columns(
        article_key=pl.when(pl.col("status") == "ok").then(
            pl.concat_str(["source_key", "title_key", "date_key"], separator=_KEY_SEPARATOR)
        ),
    ).sort("row")
    return parsed.select([pl.col(name).cast(dtype) for name, dtype in PARSED_SCHEMA.items()])


def _has_control_chars(text: pl.Series) -> pl.Series:
    """Whether each text holds a NUL or four control characters in a row.

    A regex scan of every page is the slow part of this test, and control characters are rare:
    numpy finds the pages holding any byte below 0x20 other than tab, line feed, form feed and
    carriage return (or DEL), and only those pages meet the regex. It reads polars' own string
    buffers (Arrow string views, no copy): a long string is a (buffer, offset, length) view into
    them, a string of at most 12 bytes is held in its view and goes to the regex directly.
    """
    array = text.to_arrow(compat_level=pl.CompatLevel.newest())
    views = np.frombuffer(array.buffers()[1], dtype=np.int32).reshape(-1, 4)[array.offset : array.offset + len(array)]
    lengths, buffer_index, offsets = views[:, 0], views[:, 2], views[:, 3]
    inline = lengths <= _INLINE_VIEW_BYTES
    suspect = inline & (lengths > 0)
    for number, buffer in enumerate(array.buffers()[2:]):
        data = np.frombuffer(buffer, dtype=np.uint8)
        low = np.flatnonzero(data < 0x20)
        control = low[~np.isin(data[low], _ALLOWED_CONTROL_BYTES)]
        positions = np.sort(np.concatenate([control, np.flatnonzero(data == 0x7F)]))
        # Views may overlap: a string holds a position when one lies in [offset, offset + length).
        holds = np.searchsorted(positions, offsets + lengths.astype(np.int64)) > np.searchsorted(positions, offsets)
        suspect |= ~inline & (buffer_index == number) & holds
    found = np.zeros(len(text), dtype=bool)
    suspects = np.flatnonzero(suspect)
    if len(suspects):
        checked = text.gather(suspects).str.contains(_CONTROL_CHARS + "{4}|\x00").fill_null(False)
        found[suspects] = checked.to_numpy()
    return pl.Series(found)


def _with_keys(frame: pl.DataFrame, columns: dict[str, str]) -> pl.DataFrame:
    """frame with the identity key of each column (column -> key column), computed once per
    distinct value: Unicode normalization is the costly part."""
    for column, key in columns.items():
        distinct = frame.select(pl.col(column).unique().drop_nulls())
        frame = frame.join(
            distinct.with_columns(identity_key(pl.col(column)).alias(key)), on=column, how="left", nulls_equal=False
        )
    return frame


def _lines(pages: pl.DataFrame, editions: tuple[Edition, ...]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(lines, ticker lines). Lines: one row per line of every page: row, line_no (0-based),
    line (raw), stripped. Ticker lines: row and line of the pages whose first line is a ticker.

    A ticker line is left out of the lines unless it starts like a publication line, the only
    part a ticker line could play: most of a page's bytes are its ticker, and stripping it costs.
    """
    markers = "|".join(re.escape(edition.marker) for edition in editions)
    lines = (
        pages.select("row", line=pl.col("text").str.split("\n"))
        .explode("line")
        .with_columns(line_no=pl.col("row").cum_count().over("row").cast(pl.UInt32) - 1)
        .with_columns(is_ticker=_is_ticker())
    )
    tickers = lines.filter("is_ticker")
    lines = pl.concat(
        [lines.filter(~pl.col("is_ticker")), tickers.filter(pl.col("line").str.contains(rf"^\s*(?:{markers})"))]
    )
    lines = lines.drop("is_ticker").with_columns(stripped=pl.col("line").str.strip_chars())
    return lines, tickers.select("row", "line")


def _is_ticker() -> pl.Expr:
    return (pl.col("line_no") == 0) & pl.col("line").str.contains(TICKER_SEPARATOR, literal=True)


def _tickers(ticker_lines: pl.DataFrame) -> pl.DataFrame:
    """The ticker of each page that has one: its headlines in order, stripped, non-empty, and
    their identity keys.

    Every page crawled at the same time shows the same ticker, so each distinct ticker line is
    split and keyed once, and each distinct headline is keyed once.
    """
    distinct = ticker_lines.select(pl.col("line").unique()).with_columns(
        ticker=pl.col("line")
        .str.split(TICKER_SEPARATOR)
        .list.eval(pl.element().str.strip_chars().filter(pl.element().str.strip_chars() != "")),
    )
    headlines = distinct["ticker"].explode().drop_nulls().unique()
    keys = headlines.to_frame("text").select(identity_key(pl.col("text")))["text"]
    distinct = distinct.with_columns(
        ticker_keys=pl.col("ticker").list.eval(pl.element().replace_strict(headlines, keys, return_dtype=pl.String))
    )
    return ticker_lines.join(distinct, on="line").select("row", "ticker", "ticker_keys")


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
    """Non-blank lines after the publication line, up to the last footer line, joined with
    newlines: a footer-like line inside the article (quoted, or pasted twice) is body text."""
    footers = sorted({edition.footer for edition in editions})
    after_publication = lines.join(publication.select("row", "publication_line_no"), on="row").filter(
        pl.col("line_no") > pl.col("publication_line_no")
    )
    is_footer = pl.any_horizontal([pl.col("stripped").str.starts_with(footer) for footer in footers])
    footer_line_no = pl.when(is_footer).then(pl.col("line_no")).max().over("row")
    return (
        after_publication.filter(
            (pl.col("stripped") != "") & (footer_line_no.is_null() | (pl.col("line_no") < footer_line_no))
        )
        .sort("row", "line_no")
        .group_by("row", maintain_order=True)
        .agg(body=pl.col("stripped").str.join("\n"))
    )
