import hashlib
from datetime import date

import polars as pl
import pytest

from newsdesk.transforms.decode import decode_page
from newsdesk.transforms.editions import load_editions
from newsdesk.transforms.parse import BINARY_TEXT, _has_control_chars, _last_line, parse_pages
from newsdesk.transforms.text_keys import identity_key
from tests.builders import FOOTER, REAL_PAGE, make_page, records


def parse_one(text: str, editions) -> dict:
    return parse_pages(records(text), editions).row(0, named=True)


def test_real_page_parses_to_its_fields(editions):
    decoded = decode_page(REAL_PAGE.read_bytes(), editions)
    page = parse_one(decoded.text, editions)
    assert page["status"] == "ok"
    assert page["edition"] == "fr"
    assert page["title"] == "Chakib Benmoussa appelle à une meilleure coordination"
    assert page["source"] == "Aujourd'hui le Maroc"
    assert page["published_raw"] == "25 - 11 - 2009"
    assert page["published_date"] == date(2009, 11, 25)
    assert len(page["ticker"]) == 48
    assert page["ticker"][0] == "Ksar El Kébir : Le versement des aides financières aux sinistrés se poursuit"
    assert page["ticker"][2] == "Ksar El Kébir: Continúa el pago de ayudas financieras a los damnificados"
    assert page["ticker"][-1] == "Quarts LdC et Coupe de la CAF : date et heure du tirage"
    assert page["body"].startswith("Lors de la 14ème Conférence des ministres de l'Intérieur")
    assert page["body"].endswith("à la protection civile.")
    assert "Cliquez ici" not in page["body"] and "Merci d'avoir signalé" not in page["body"]
    assert page["body"].count("\n") == 7  # eight paragraphs, blank lines dropped


def test_the_bundled_real_page_is_the_design_sample_byte_for_byte():
    # The SHA-256 of shared/samples/000_944c1d705c4b9ef0.txt, the page the design describes.
    assert hashlib.sha256(REAL_PAGE.read_bytes()).hexdigest() == (
        "29f235c26ccc063d6294b7c024fbb8900745cfdf16b9a169dd7c263752baba7b"
    )


@pytest.mark.parametrize("edition", ["fr", "es", "ar", "en"])
def test_every_edition_template(editions, edition):
    page = parse_one(make_page(edition, title="T", source="Al Massae", date="07 - 08 - 2015"), editions)
    assert (page["status"], page["edition"], page["source"], page["title"]) == ("ok", edition, "Al Massae", "T")
    assert page["published_date"] == date(2015, 8, 7)
    assert page["body"] == "Premier paragraphe.\nSecond paragraphe."
    assert page["ticker"] == ["Titre un", "Titre deux"]


def test_impossible_date_is_null_and_raw_is_kept(editions):
    page = parse_one(make_page(date="31 - 02 - 2010"), editions)
    assert page["status"] == "ok"
    assert page["published_raw"] == "31 - 02 - 2010"
    assert page["published_date"] is None


def test_eastern_arabic_digits_in_the_date(editions):
    page = parse_one(make_page("ar", date="٠٣ - ١٢ - ٢٠١٤"), editions)
    assert page["published_date"] == date(2014, 12, 3)


def test_crlf_bom_extra_blank_lines_and_no_ticker(editions):
    text = "\ufeff" + make_page(ticker=()).replace("\nPublié", "\n\n\n   \nPublié").replace("\n", "\r\n")
    page = parse_one(text, editions)
    assert (page["status"], page["title"], page["ticker"]) == ("ok", "Un titre", None)
    assert page["body"] == "Premier paragraphe.\nSecond paragraphe."


def test_no_break_spaces_anywhere_in_the_publication_line(editions):
    """A run of spaces of the template matches any horizontal whitespace, in its first words too."""
    text = make_page().replace("Publié dans Le Matin le", "Publié\u00a0dans\u00a0Le Matin\tle")
    page = parse_one(text, editions)
    assert (page["status"], page["edition"], page["source"], page["title"]) == ("ok", "fr", "Le Matin", "Un titre")


def test_a_ticker_line_that_is_a_publication_line_leaves_no_title(editions):
    publication = "Publié dans Le Matin le 05 - 03 - 2012"
    text = make_page(ticker=()).replace("Un titre\n", "").replace(publication, publication + "\u00a0" * 4 + "Titre un")
    assert parse_one(text, editions)["status"] == "no_publication_line"
    text = f"{publication}\nUn titre\n" + make_page(ticker=())
    text = text.replace(publication, publication + "\u00a0" * 4, 1)
    page = parse_one(text, editions)
    assert (page["status"], page["ticker"]) == ("no_title", [publication])


def test_missing_footer_and_truncated_body(editions):
    page = parse_one(make_page(body=("Un paragraphe coupé au mil",), footer=False), editions)
    assert page["body"] == "Un paragraphe coupé au mil"


@pytest.mark.parametrize("edition", ["fr", "es", "ar", "en"])
def test_the_body_ends_at_the_last_footer_line(editions, edition):
    """A footer-like paragraph inside the article (quoted, or pasted twice) is body text."""
    footer = FOOTER[edition]
    page = parse_one(make_page(edition, body=("Avant.", footer, "Après.")), editions)
    assert page["body"] == f"Avant.\n{footer}\nAprès."


@pytest.mark.parametrize(
    "text",
    [make_page(body=()), make_page(body=(), footer=False), make_page(ticker=(), body=(), footer=False).rstrip("\n")],
    ids=["footer only", "no footer", "ends at the publication line"],
)
def test_an_ok_page_without_body_text_has_an_empty_body(editions, text):
    page = parse_one(text, editions)
    assert (page["status"], page["body"]) == ("ok", "")


def test_a_rejected_page_has_no_body(editions):
    assert parse_one("Juste une ligne.", editions)["body"] is None


def test_boilerplate_is_never_the_title(editions):
    text = make_page(title="Merci d'avoir signalé!")
    assert parse_one(text, editions)["status"] == "no_title"


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("", "empty"),
        ("   \n\n  ", "empty"),
        ("Page introuvable\nLa page demandée n'existe pas.", "no_publication_line"),
        ("\x01\x02\x03\x04\x05 PNG", "binary"),
    ],
)
def test_rejections(editions, text, status):
    assert parse_one(text, editions)["status"] == status


def test_control_characters_are_found_wherever_the_page_text_lies_in_memory(editions):
    """Binary pages among good ones, long and short (polars keeps strings of up to 12 bytes apart
    from the others), in a frame of several chunks: only the pages with a NUL or a run of four
    control characters are 'binary'."""
    good = make_page(title="Une page propre")
    deep_run = make_page(body=("Un paragraphe " * 200 + "\x02\x03\x04\x05 fin",))
    lone_control = make_page(body=("Une seule \x07 commande dans un paragraphe.",))
    chunks = [
        records(good, "\x00", deep_run),
        records("\x01\x02\x03\x04", lone_control, good + "\x00"),
    ]
    frame = pl.concat(chunks, rechunk=False)
    assert frame.n_chunks() == 2
    statuses = parse_pages(frame, editions)["status"].to_list()
    assert statuses == ["ok", "binary", "binary", "binary", "ok", "binary"]


def test_control_characters_are_found_at_every_offset_and_in_every_mix():
    """Runs of one to five control characters (each kind, mixed with tab, newline, form feed
    and DEL), a NUL, and a DEL alone, at each byte offset of texts long and short, in frames of
    one and of several chunks: the test says what the regex over the whole text says."""
    runs = [
        "\x01", "\x01\x02\x03", "\x01\x02\x03\x04", "\x1f\x0b\x0e\x08\x05", "\x01\n\x02\x03\x04",
        "\t\n\x0c\r", "\n\n\n\n", "\x7f\x7f\x7f\x7f", "\x7f\x01\x7f", "\x02\x7f\x03\x04", "\x00", "\x7f", "\x0b\x0b\t\x0b\x0b",
    ]
    texts = [
        prefix * offset + run + suffix
        for run in runs
        for offset in range(9)
        for prefix, suffix in (("a", ""), ("é", " fin de la ligne"), ("x", "\n" * 20))
    ]
    texts += [text + "\n\n" for text in texts] + ["", "court", "a\x01\x02\x03\x04"]
    expected = pl.Series(texts).str.contains(BINARY_TEXT).to_list()
    assert any(expected) and not all(expected)
    assert _has_control_chars(pl.Series(texts)).to_list() == expected
    chunked = pl.concat([pl.Series(texts[i::5]) for i in range(5)], rechunk=False)
    assert chunked.n_chunks() == 5
    assert _has_control_chars(chunked).to_list() == chunked.str.contains(BINARY_TEXT).to_list()


def test_reader_rejections_are_kept(editions):
    frame = records(None, status=["bad_record"], detail=["invalid JSON"])
    page = parse_pages(frame, editions).row(0, named=True)
    assert (page["status"], page["detail"]) == ("bad_record", "invalid JSON")


def test_one_row_per_page_in_input_order(editions):
    texts = [make_page(title=f"Titre {i}") if i % 3 else "" for i in range(50)]
    parsed = parse_pages(records(*texts), editions)
    assert parsed["page_id"].to_list() == [str(i) for i in range(1, 51)]
    assert parsed.filter(pl.col("status") == "ok")["title"].to_list() == [f"Titre {i}" for i in range(50) if i % 3]


def test_same_article_gets_the_same_key_despite_case_and_spacing(editions):
    a = parse_one(make_page(title="Un  Titre", source="Le Matin"), editions)
    b = parse_one(make_page(title="un titre", source="LE MATIN"), editions)
    assert a["article_key"] == b["article_key"]


def test_identity_keys_collapse_every_run_of_whitespace():
    """A single space is kept, any other whitespace character or run of them becomes one space."""
    texts = ["Un titre", "Un  titre", "Un\ttitre", "Un \u00a0\u2003titre", "Un\ntitre", " Un titre\t", "Un\u3000titre", "UN TITRE"]
    keys = pl.Series(texts).to_frame("t").select(identity_key(pl.col("t")))["t"]
    assert keys.to_list() == ["un titre"] * len(texts)


def test_the_last_line_is_the_last_that_is_not_blank_stripped():
    """What the regex (\\S[^\\n]*?)\\s*$ extracts: the last line holding a character other than
    whitespace, without the whitespace around it; NULL when there is none."""
    texts = [None, "", " \n\t\n ", "Titre", "Boilerplate\n  Un titre\u00a0 \n \n\t", "a\x0cb\n", "un\ndeux\u2028", "\u3000x\u3000"]
    expected = pl.Series(texts, dtype=pl.String).str.extract(r"(\S[^\n]*?)\s*$", 1)
    assert _last_line(pl.Series(texts, dtype=pl.String)).to_list() == expected.to_list()
    assert expected.to_list() == [None, None, None, "Titre", "Un titre", "a\x0cb", "deux", "x"]


def test_a_new_edition_needs_only_the_templates_file(tmp_path):
    templates = tmp_path / "editions.toml"
    templates.write_text(
        '[it]\npublication = "Pubblicato su {source} il {DD} - {MM} - {YYYY}"\n'
        'footer = "Clicca qui per leggere l\'articolo alla fonte."\n'
    )
    italian = load_editions(templates)
    text = "Un titolo\nPubblicato su La Stampa il 02 - 03 - 2011\n\nCorpo.\nClicca qui per leggere l'articolo alla fonte."
    page = parse_one(text, italian)
    assert (page["edition"], page["source"], page["title"], page["body"]) == ("it", "La Stampa", "Un titolo", "Corpo.")


def test_a_broken_templates_file_names_the_problem(tmp_path):
    templates = tmp_path / "editions.toml"
    templates.write_text('[xx]\npublication = "Posted by {author}"\nfooter = "f"\n')
    with pytest.raises(ValueError, match=r"\[xx\]"):
        load_editions(templates)
