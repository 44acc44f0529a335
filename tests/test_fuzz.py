"""Property tests: arbitrary input never escapes the pipeline as an exception, and valid pages
built from random field values parse back to those values."""

from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsdesk.transforms.decode import decode_page
from newsdesk.transforms.editions import load_editions
from newsdesk.transforms.parse import TICKER_SEPARATOR, parse_pages
from newsdesk.transforms.text_keys import identity_key
from tests.builders import make_page, records

EDITIONS = load_editions()
FUZZ = settings(max_examples=150, deadline=None)

# Printable text of the corpus' scripts; line and paragraph separators and controls excluded.
_chars = st.characters(
    categories=("L", "M", "N", "P", "S", "Zs"), exclude_characters="\u2028\u2029\u0085"
)
line = st.text(_chars, min_size=1, max_size=60).map(str.strip).filter(bool)


def decoded_records(pages: list[bytes]) -> pl.DataFrame:
    decoded = [decode_page(raw, EDITIONS) for raw in pages]
    return records(
        *[d.text for d in decoded],
        status=[d.status for d in decoded],
        detail=[d.detail for d in decoded],
        encoding=[d.encoding for d in decoded],
    )


@pytest.mark.slow  # hundreds of generated dumps
@FUZZ
@given(st.lists(st.binary(max_size=400), min_size=1, max_size=8))
def test_arbitrary_bytes_give_exactly_one_row_per_page(pages):
    parsed = parse_pages(decoded_records(pages), EDITIONS)
    assert parsed.height == len(pages)
    assert parsed["page_id"].to_list() == [str(i) for i in range(1, len(pages) + 1)]
    assert parsed["status"].null_count() == 0


@pytest.mark.slow  # hundreds of generated dumps
@FUZZ
@given(st.lists(st.text(max_size=300), min_size=1, max_size=8))
def test_arbitrary_text_gives_exactly_one_row_per_page(texts):
    parsed = parse_pages(records(*texts), EDITIONS)
    assert parsed.height == len(texts) and parsed["status"].null_count() == 0


@FUZZ
@given(st.lists(st.text(max_size=80), min_size=1, max_size=20))
def test_identity_key_is_idempotent(texts):
    once = pl.DataFrame({"t": texts}).select(identity_key(pl.col("t")))
    twice = once.select(identity_key(pl.col("t")))
    assert once.equals(twice)


def _not_template_line(text: str) -> bool:
    markers = [edition.marker for edition in EDITIONS] + [edition.footer for edition in EDITIONS]
    boilerplate = {b for edition in EDITIONS for b in edition.boilerplate}
    return text not in boilerplate and not any(text.startswith(m) for m in markers)


@pytest.mark.slow  # hundreds of generated dumps
@FUZZ
@given(
    edition=st.sampled_from(["fr", "es", "ar", "en"]),
    title=line.filter(_not_template_line),
    source=line,
    published=st.dates(min_value=date(1995, 1, 1), max_value=date(2030, 12, 31)),
    body=st.lists(line.filter(_not_template_line), min_size=1, max_size=5),
    ticker=st.lists(line.filter(lambda t: TICKER_SEPARATOR not in t), max_size=10),
)
def test_random_valid_pages_parse_back_to_their_fields(edition, title, source, published, body, ticker):
    text = make_page(
        edition,
        title=title,
        source=source,
        date=published.strftime("%d - %m - %Y"),
        body=tuple(body),
        ticker=tuple(ticker),
    )
    page = parse_pages(records(text), EDITIONS).row(0, named=True)
    assert page["status"] == "ok"
    assert (page["edition"], page["title"], page["source"]) == (edition, title, source)
    assert page["published_date"] == published
    assert page["body"] == "\n".join(body)
    assert page["ticker"] == (ticker or None)
