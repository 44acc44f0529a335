import pytest

from newsdesk.transforms.decode import decode_page
from tests.builders import make_page

FRENCH = make_page("fr", title="Élections à Fès : l'été s'achève")
ARABIC = make_page("ar", title="الحكومة تصادق على مشروع قانون المالية", source="هسبريس")


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (FRENCH.encode("utf-8"), "utf-8"),
        (FRENCH.encode("utf-8-sig"), "utf-8-sig"),
        (FRENCH.encode("cp1252"), "cp1252"),
        (ARABIC.encode("cp1256"), "cp1256"),
        (ARABIC.encode("utf-16"), "utf-16"),
    ],
)
def test_decodes_to_the_original_text(editions, raw, encoding):
    decoded = decode_page(raw, editions)
    assert (decoded.encoding, decoded.status) == (encoding, None)
    assert decoded.text.lstrip("\ufeff") == (ARABIC if "ar" in encoding or encoding in ("cp1256", "utf-16") else FRENCH)


def test_french_legacy_page_is_not_taken_for_arabic(editions):
    # cp1256 decodes most French accents identically; the É and the marker tell them apart.
    assert decode_page(FRENCH.encode("cp1252"), editions).text == FRENCH


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (FRENCH.encode("utf-8")[:200] + b"\xff\xfe\xfd" + FRENCH.encode("utf-8")[200:], "encoding"),
        (FRENCH.encode("mac_roman"), "encoding"),
    ],
)
def test_undecodable_bytes_are_rejected_not_raised(editions, raw, status):
    decoded = decode_page(raw, editions)
    assert (decoded.status, decoded.text) == (status, None)
    assert decoded.detail
