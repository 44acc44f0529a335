"""Bytes of one page to text: UTF-8 (with or without BOM), UTF-16 with BOM, or a legacy
single-byte code page of one of the editions (cp1252 French, cp1256 Arabic)."""

from __future__ import annotations

from dataclasses import dataclass

from assets.transforms.editions import Edition

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
    well_formed = sum(1 for char in text if char > "\x7f") - replaced
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
