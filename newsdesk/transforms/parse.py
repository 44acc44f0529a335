"""Parse decoded pages into article fields and ticker headlines, as polars expressions over a
frame of pages (one row per page, cut at byte offsets that regexes find), never a Python loop
per page."""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from newsdesk.transforms import IN_MEMORY
from newsdesk.transforms.editions import HORIZONTAL_SPACE, Edition
from newsdesk.transforms.text_keys import identity_key

TICKER_SEPARATOR = "\u00a0" * 4
_KEY_SEPARATOR = "\x1f"
_ARABIC_INDIC_DIGITS = [*"٠١٢٣٤٥٦٧٨٩", *"۰۱۲۳۴۵۶۷۸۹"]
_ASCII_DIGITS = [*"0123456789", *"0123456789"]
# Control characters other than tab, newline, form feed and carriage return.
_CONTROL_CHARS = r"[\x01-\x08\x0b\x0e-\x1f\x7f]"
# What makes a text binary: a NUL, or four control characters in a row.
BINARY_TEXT = _CONTROL_CHARS + "{4}|\x00"
# _CONTROL_CHARS and NUL, by byte value.
_CONTROL_BYTE = np.array([re.fullmatch(_CONTROL_CHARS + "|\x00", chr(byte)) is not None for byte in range(256)])
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
    # The row, in this frame, of the first page with the same edition, crawl date and ticker line
    # (NULL without a ticker): pages grouped so, a ticker's headlines are counted once per group.
    "ticker_first_row": pl.UInt32,
}


def parse_pages(pages: pl.DataFrame, editions: tuple[Edition, ...]) -> pl.DataFrame:
    """Pages (page_id, crawl_date, url, text, encoding, size_bytes, status, detail) in,
    one parsed row per page out, with the columns of PARSED_SCHEMA and in input order.

    A page that a reader already rejected keeps its status; otherwise status becomes
    'empty', 'binary', 'no_publication_line', 'no_title' or 'ok'.
    """
    pages = pages.with_columns(text=_without_bom_and_carriage_returns(pages["text"]))
    pages = pages.with_columns(
        status=pl.when(pl.col("status").is_not_null())
        .then(pl.col("status"))
        .when(pl.col("text").is_null() | ~pl.col("text").str.contains(r"\S"))
        .then(pl.lit("empty"))
        .when(_has_control_chars(pages["text"]))
        .then(pl.lit("binary")),
    )
    parts = _page_parts(pages.select(pl.when(pl.col("status").is_null()).then("text")).to_series(), editions)
    parsed = (
        pl.concat([pages.drop("text"), _publication_fields(parts["publication_line"], editions)], how="horizontal")
        .with_columns(
            title=_title(parts["above_publication"], editions),
            body=_body(parts["below_publication"], editions),
            ticker_line=parts["ticker_line"],
        )
        .join(_tickers(parts["ticker_line"]), on="ticker_line", how="left", maintain_order="left")
        .with_row_index("page_row")
        .with_columns(
            ticker_first_row=pl.when(pl.col("ticker_number").is_not_null()).then(
                pl.col("page_row").min().over("edition", "crawl_date", "ticker_number")
            ),
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
            # Only such pages are rewritten: filling the nulls of the whole column copied it.
            body=pl.when((pl.col("status") == "ok") & pl.col("body").is_null()).then(pl.lit("")).otherwise("body"),
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
    parsed = parsed.with_columns(
        article_key=pl.when(pl.col("status") == "ok").then(
            pl.concat_str(["source_key", "title_key", "date_key"], separator=_KEY_SEPARATOR)
        ),
    )
    return parsed.select([pl.col(name).cast(dtype) for name, dtype in PARSED_SCHEMA.items()])


def _without_bom_and_carriage_returns(text: pl.Series) -> pl.Series:
    """text without a leading byte order mark and with CR LF and a lone CR as LF. Only the pages
    holding either are rewritten: most hold neither, and a rewrite copies the page."""
    holding = (text.str.contains("\r", literal=True) | text.str.starts_with("\ufeff")).arg_true()
    if not len(holding):
        return text
    rewritten = text.gather(holding).str.strip_prefix("\ufeff").str.replace_all("\r\n?", "\n")
    return text.clone().scatter(holding, rewritten)


def _has_control_chars(text: pl.Series) -> pl.Series:
    """Whether each text holds a NUL or four control characters in a row.

    A regex scan of every page is the slow part of this test, and control characters are rare:
    only the pages that may hold them meet the regex. Four bytes in a row hold two that start at
    an even offset, so numpy reads polars' own string buffers (Arrow string views, no copy) as
    two-byte words and finds the words whose bytes are both control characters; a NUL or a DEL
    anywhere is a literal search. A long string is a (buffer, offset, length) view into the
    buffers; a string of at most 12 bytes is held in its view and goes to the regex directly.
    """
    array = text.to_arrow(compat_level=pl.CompatLevel.newest())
    views = np.frombuffer(array.buffers()[1], dtype=np.int32).reshape(-1, 4)[array.offset : array.offset + len(array)]
    lengths, buffer_index, offsets = views[:, 0], views[:, 2], views[:, 3]
    inline = lengths <= _INLINE_VIEW_BYTES
    suspect = (inline & (lengths > 0)) | text.str.contains("\x00|\x7f").fill_null(False).to_numpy()
    # The long strings grouped by the buffer they point into: a frame may hold hundreds of buffers.
    long = np.flatnonzero(~inline)
    long = long[np.argsort(buffer_index[long], kind="stable")]
    data_buffers = array.buffers()[2:]
    bounds = np.searchsorted(buffer_index[long], np.arange(len(data_buffers) + 1))
    for number, buffer in enumerate(data_buffers):
        rows = long[bounds[number] : bounds[number + 1]]
        if not len(rows):
            continue
        data = np.frombuffer(buffer, dtype=np.uint8)
        # Words of two bytes below 0x20 (mostly blank lines), then those of two control characters.
        low_words = np.flatnonzero((data[: len(data) // 2 * 2].view(np.uint16) & 0xE0E0) == 0)
        positions = 2 * low_words[_CONTROL_BYTE[data[2 * low_words]] & _CONTROL_BYTE[data[2 * low_words + 1]]]
        # Views may overlap: a string holds a word when its first byte lies in [offset, offset + length).
        starts = offsets[rows].astype(np.int64)
        holds = np.searchsorted(positions, starts + lengths[rows]) > np.searchsorted(positions, starts)
        suspect[rows[holds]] = True
    found = np.zeros(len(text), dtype=bool)
    suspects = np.flatnonzero(suspect)
    if len(suspects):
        checked = text.gather(suspects).str.contains(BINARY_TEXT).fill_null(False)
        found[suspects] = checked.to_numpy()
    return pl.Series(found)


def _page_parts(texts: pl.Series, editions: tuple[Edition, ...]) -> pl.DataFrame:
    """Each text cut around its publication line (the first line that matches an edition's
    template): ticker_line, above_publication (the lines between the ticker line and the
    publication line, NULL without a publication line), publication_line and
    below_publication (from the end of the publication line).

    The text is cut at byte offsets, not split into lines: a page's bytes are mostly its
    ticker and body, and only the regexes that find the publication line and the footer read
    them, each starting with a literal the engine finds with a vectorised search.
    """
    first_line, other_lines = _publication_line_regexes(editions)
    text = pl.col("text")
    # Byte offsets, signed: the lines between the ticker and the publication line are a difference.
    first_break = text.str.find("\n", literal=True).cast(pl.Int64)
    separator = text.str.find(TICKER_SEPARATOR, literal=True)
    on_first_line = pl.col("on_first_line")
    below_ticker = pl.when(pl.col("ticker_line").is_not_null()).then(first_break + 1).otherwise(0)
    return (
        texts.to_frame("text")
        .with_columns(on_first_line=text.str.extract(first_line, 1))
        .with_columns(
            ticker_line=pl.when(separator < first_break.fill_null(pl.col("text").str.len_bytes())).then(
                _byte_slice(text, 0, first_break)
            ),
            publication_line=pl.coalesce(on_first_line, text.str.extract(other_lines, 1)),
            publication_start=pl.when(on_first_line.is_not_null())
            .then(0)
            .otherwise(text.str.find(other_lines).cast(pl.Int64) + 1),
        )
        .select(
            "ticker_line",
            "publication_line",
            above_publication=pl.when(pl.col("publication_line").is_not_null()).then(
                _byte_slice(text, below_ticker, (pl.col("publication_start") - below_ticker).clip(0))
            ),
            below_publication=_byte_slice(text, pl.col("publication_start") + pl.col("publication_line").str.len_bytes()),
        )
    )


def _byte_slice(text: pl.Expr, offset: pl.Expr | int, length: pl.Expr | None = None) -> pl.Expr:
    """The bytes of text from offset, on character boundaries, as text."""
    return text.cast(pl.Binary).bin.slice(offset, length).cast(pl.String)


def _publication_line_regexes(editions: tuple[Edition, ...]) -> tuple[str, str]:
    """Regexes whose group 1 is the first line of a text that matches an edition's publication
    template: (the text's first line, a later line). Fields are not captured here."""
    templates = "|".join(re.sub(r"\(\?P<\w+>", "(?:", edition.publication_regex[1:-1]) for edition in editions)
    line = rf"({HORIZONTAL_SPACE}*(?:{templates}){HORIZONTAL_SPACE}*)(?:\n|$)"
    return "^" + line, "\n" + line


def _publication_fields(publication_line: pl.Series, editions: tuple[Edition, ...]) -> pl.DataFrame:
    """The edition (the first whose template the stripped line matches), source,
    published_raw and published_date of each publication line, and the identity keys of its
    source and date. A source's pages of a day share their publication line: each distinct line
    is matched and keyed once (Unicode normalization is the costly part of a key)."""
    line = pl.col("line")
    # Whether each edition's template matches, computed once: the fields and the edition ask it.
    matches = {edition.code: f"matches {edition.code}" for edition in editions}
    fields = pl.coalesce(
        [pl.when(matches[edition.code]).then(line.str.extract_groups(edition.publication_regex)) for edition in editions]
    )
    edition_code = pl.coalesce([pl.when(matches[edition.code]).then(pl.lit(edition.code)) for edition in editions])
    ascii_digits = {
        part: pl.col(part).str.replace_many(_ARABIC_INDIC_DIGITS, _ASCII_DIGITS) for part in ("day", "month", "year")
    }
    found = (
        publication_line.drop_nulls()
        .unique()
        .to_frame("as_found")
        .lazy()
        .with_columns(line=pl.col("as_found").str.strip_chars())
        .with_columns(line.str.contains(edition.publication_regex).alias(matches[edition.code]) for edition in editions)
        .select("as_found", fields=fields, edition=edition_code)
        .unnest("fields")
        .select(
            "as_found",
            "edition",
            source=pl.col("source").str.strip_chars(),
            published_raw="published_raw",
            published_date=pl.concat_str(
                [ascii_digits["year"], ascii_digits["month"], ascii_digits["day"]], separator="-"
            ).str.to_date("%Y-%m-%d", strict=False),
        )
        .with_columns(source_key=identity_key(pl.col("source")), date_key=identity_key(pl.col("published_raw")))
    )
    return (
        publication_line.to_frame("as_found")
        .lazy()
        .join(found, on="as_found", how="left", maintain_order="left")
        .drop("as_found")
        .collect(engine=IN_MEMORY)
    )


def _tickers(ticker_lines: pl.Series) -> pl.DataFrame:
    """The ticker of each distinct ticker line: its headlines in order, stripped, non-empty,
    and their identity keys.

    Every page crawled at the same time shows the same ticker, so each distinct ticker line is
    split and keyed once, and each distinct headline is keyed once. ticker_number numbers the
    distinct lines: pages are grouped by it rather than by their ticker's texts.
    """
    distinct = (
        ticker_lines.drop_nulls()
        .unique()
        .to_frame("ticker_line")
        .with_columns(
            ticker_number=pl.int_range(pl.len(), dtype=pl.UInt32),
            ticker=pl.col("ticker_line")
            .str.split(TICKER_SEPARATOR)
            .list.eval(pl.element().str.strip_chars().filter(pl.element().str.strip_chars() != "")),
        )
    )
    headlines = distinct["ticker"].explode().drop_nulls().unique()
    keys = headlines.to_frame("text").select(identity_key(pl.col("text")))["text"]
    return distinct.with_columns(
        ticker_keys=pl.col("ticker").list.eval(pl.element().replace_strict(headlines, keys, return_dtype=pl.String))
    )


def _title(above_publication: pl.Series, editions: tuple[Edition, ...]) -> pl.Series:
    """The last line above the publication line that is neither blank nor boilerplate, stripped."""
    boilerplate = sorted({line for edition in editions for line in edition.boilerplate})
    title = _last_line(above_publication)
    # The boilerplate comes before the title: only where the last line is boilerplate are the
    # boilerplate lines taken out and the last line looked for again.
    behind = title.is_in(boilerplate).arg_true()
    if len(behind):
        pattern = "|".join(re.escape(line) for line in boilerplate)
        lines = rf"(?m)^{HORIZONTAL_SPACE}*(?:{pattern}){HORIZONTAL_SPACE}*$"
        title = title.scatter(behind, _last_line(above_publication.gather(behind).str.replace_all(lines, "")))
    return title


def _last_line(texts: pl.Series) -> pl.Series:
    """The last line of each text that is not blank, stripped; NULL where there is none."""
    # Split at line breaks: a regex anchored at the text's end, "(\S[^\n]*?)\s*$", is tried from
    # every line and took six times as long.
    line = pl.first().str.strip_chars_end().str.split("\n").list.last().str.strip_chars()
    return texts.to_frame().select(line.replace("", None)).to_series()


def _body(below_publication: pl.Series, editions: tuple[Edition, ...]) -> pl.Series:
    """The non-blank lines below the publication line up to the last footer line, stripped and
    joined with newlines: a footer-like line inside the article (quoted, or pasted twice) is
    body text. NULL when there are none."""
    footers = "|".join(re.escape(footer) for footer in sorted({edition.footer for edition in editions}))
    footer_line = rf"\n{HORIZONTAL_SPACE}*(?:{footers})"
    frame = below_publication.to_frame("below")
    # Most pages have at most one footer line: their body ends at the first.
    body = frame.select(_byte_slice(pl.col("below"), 0, pl.col("below").str.find(footer_line))).to_series()
    several = frame.select(pl.col("below").str.count_matches(footer_line) > 1).to_series().arg_true()
    if len(several):
        body = body.scatter(several, below_publication.gather(several).str.extract(rf"(?s)^(.*){footer_line}", 1))
    # A run of whitespace holding a line break is the end of one non-blank line and the start of the next.
    body = body.str.replace_all(rf"{HORIZONTAL_SPACE}*\n\s*", "\n").str.strip_chars()
    return body.to_frame().select(pl.when(pl.first() != "").then(pl.first())).to_series()
