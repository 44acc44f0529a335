"""Bytes of one page to text: UTF-8 (with or without BOM), UTF-16 with BOM, or a legacy
single-byte code page of one of the editions (cp1252 French, cp1256 Arabic)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from newsdesk.transforms.editions import Edition

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class Decoded:
    text: str | None
    encoding: str | None
    status: str | None = None  # a rejection reason code, None when the bytes decoded
    detail: str | None = None


def decode_page(raw: bytes, editions: tuple[Edition, ...]) -> Decoded:
    """Decode a page's bytes; undecodable bytes give a rejection, never an exception."""
    if raw.startswith(_UTF16_BOMS):
        try:
            return Decoded(raw.decode("utf-16"), "utf-16")
        except UnicodeDecodeError as error:
            return Decoded(None, "utf-16", "encoding", f"invalid UTF-16: {error.reason}")
    if b"\x00" in raw:
        return Decoded(None, None, "binary", "NUL bytes in a text page")
    encoding = "utf-8-sig" if raw.startswith(_UTF8_BOM) else "utf-8"
    try:
        return Decoded(raw.decode(encoding), encoding)
    except UnicodeDecodeError as error:
        utf8_error = error
    if _mostly_utf8(raw):
        # Valid multi-byte sequences next to invalid ones: damaged UTF-8, not a legacy page.
        return Decoded(None, "utf-8", "encoding", f"damaged UTF-8 at byte {utf8_error.start}")
    return _decode_legacy(raw, editions)


def _mostly_utf8(raw: bytes) -> bool:
    text = raw.decode("utf-8", errors="replace")
    replaced = text.count("\ufffd")
    well_formed = len(text) - len(text.encode("ascii", "ignore")) - replaced  # the characters past ASCII
    return well_formed >= replaced


def _decode_legacy(raw: bytes, editions: tuple[Edition, ...]) -> Decoded:
    # The right code page is the one under which the page shows its own edition's
    # publication marker (French under cp1256 looks almost right, so ask the marker).
    # A page that no code page makes readable is rejected rather than kept as mojibake.
    decodable: list[tuple[str, str]] = []
    for encoding in dict.fromkeys(edition.legacy_encoding for edition in editions):
        try:
            decodable.append((encoding, raw.decode(encoding)))
        except UnicodeDecodeError:
            continue
    for edition in editions:
        for encoding, text in decodable:
            if encoding == edition.legacy_encoding and edition.marker in text:
                return Decoded(text, encoding)
    return Decoded(
        None, None, "encoding", "not UTF-8, and no edition's legacy code page shows a publication line"
    )


# Pages whose bytes are checked as UTF-8 in one polars call; a group holding a page that is not
# UTF-8 is checked again page by page.
_UTF8_CHECK_GROUP = 64


def decode_pages(raw: list[bytes], editions: tuple[Edition, ...]) -> pl.DataFrame:
    """decode_page for many pages at once: one row per page, in order, with text, encoding,
    status and detail, the same as decode_page gives.

    Plain UTF-8 pages, the common case, are validated and turned into text by polars without a
    Python string each; the others (BOM, UTF-16, NUL bytes, not UTF-8) go through decode_page.
    """
    pages = pl.Series("raw", raw, dtype=pl.Binary)
    marked = pages.bin.starts_with(_UTF8_BOM) | pages.bin.contains(b"\x00")
    for bom in _UTF16_BOMS:
        marked = marked | pages.bin.starts_with(bom)
    text, valid = _as_utf8_text(pages, raw)
    decoded = pl.DataFrame({"text": text}).with_columns(
        encoding=pl.lit("utf-8"), status=pl.lit(None, pl.String), detail=pl.lit(None, pl.String)
    )
    others = np.flatnonzero(marked.to_numpy() | ~valid)
    if not len(others):
        return decoded
    # Written into their rows: putting the frames of both kinds back in order would copy every
    # page's text.
    results = [decode_page(raw[row], editions) for row in others]
    return pl.DataFrame(
        [decoded[name].clone().scatter(others, [getattr(result, name) for result in results]) for name in decoded.columns]
    )


def _as_utf8_text(pages: pl.Series, raw: list[bytes]) -> tuple[pl.Series, np.ndarray]:
    """Each page as text where it is valid UTF-8, empty where it is not, and which pages are.

    Polars validates a group of pages at once, and only in a group that fails is each page
    checked, and the group cast again with the others made empty: most batches of a crawl hold
    a page in a legacy code page, and the whole batch validated, then again group by group,
    then cast once more, cost twice as much. (Polars refuses a group holding one page that is
    not UTF-8 whether the cast is strict or not: it has no null for such a page.)
    """
    valid = np.ones(len(raw), dtype=bool)
    groups = []
    for start in range(0, len(raw), _UTF8_CHECK_GROUP):
        group = pages.slice(start, _UTF8_CHECK_GROUP)
        try:
            groups.append(group.cast(pl.String))
        except pl.exceptions.ComputeError:
            others = []
            for row in range(start, start + group.len()):
                try:
                    raw[row].decode("utf-8")
                except UnicodeDecodeError:
                    valid[row] = False
                    others.append(row - start)
            groups.append(group.scatter(others, [b""] * len(others)).cast(pl.String))
    return (pl.concat(groups) if groups else pl.Series("raw", [], dtype=pl.String)), valid
