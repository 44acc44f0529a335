"""What users see: the corpus report and the SQL views, on the sample warehouse."""

import re

import pytest

from newsdesk.project import SQL_DIR
from newsdesk.transforms.report_html import SECTIONS, colour
from tests.builders import read_warehouse

pytestmark = pytest.mark.slow  # end to end: real runs of the whole pipeline

VIEWS = re.findall(r"CREATE OR REPLACE VIEW (\w+)", (SQL_DIR / "views.sql").read_text())


def test_the_report_has_every_chart_and_needs_no_network(built_samples):
    page = built_samples["report"].read_text(encoding="utf-8")
    for section, title, _ in SECTIONS:
        block = page.split(f"<section id='{section}'>", 1)[1].split("</section>", 1)[0]
        assert title in block and "plotly-graph-div" in block, section
    # One script, a file beside the report, nothing from the network.
    [script] = re.findall(r"<script[^>]+src='([^']+)'", page)
    assert "/" not in script and (built_samples["report"].parent / script).stat().st_size > 1_000_000
    assert "cdn." not in page.split("<body>", 1)[1]


def test_a_name_has_one_colour_on_every_chart_and_counts_are_whole_numbers(built_samples):
    page = built_samples["report"].read_text(encoding="utf-8")
    by_edition = page.split("<section id='articles_per_month_by_edition'>", 1)[1].split("</section>", 1)[0]
    by_language = page.split("<section id='language_mix_by_edition'>", 1)[1].split("</section>", 1)[0]
    french = colour("fr")
    assert re.search(rf'"marker":\{{"color":"{french}"\}},"name":"fr"', by_edition)
    assert re.search(rf'"marker":\{{"color":"{french}"\}},"name":"fr"', by_language)
    assert len({colour(name) for name in ("fr", "es", "ar", "en", "und")}) == 5
    assert '"dtick":1' in by_language and '"tickformat":",d"' in by_language


def test_every_view_has_a_comment():
    script = (SQL_DIR / "views.sql").read_text()
    for view in VIEWS:
        assert re.search(rf"--[^\n]+\n(?:--[^\n]*\n)*CREATE OR REPLACE VIEW {view}\b", script), view


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_returns_rows_on_the_samples(built_samples, view):
    with read_warehouse(built_samples["warehouse"]) as connection:
        assert connection.execute(f"SELECT count(*) FROM {view}").fetchall()[0][0] > 0


def test_headlines_in_several_editions_agrees_with_the_sightings(built_samples):
    with read_warehouse(built_samples["warehouse"]) as connection:
        from_sightings = connection.execute(
            """SELECT s.headline_id, list(DISTINCT p.edition ORDER BY p.edition), list(DISTINCT p.dump_id ORDER BY p.dump_id)
               FROM headline_sightings AS s JOIN pages AS p USING (dump_id, page_id)
               WHERE p.edition IS NOT NULL
               GROUP BY s.headline_id HAVING count(DISTINCT p.edition) > 1 ORDER BY ALL"""
        ).fetchall()
        from_view = connection.execute(
            "SELECT headline_id, editions, dumps FROM headlines_in_several_editions ORDER BY ALL"
        ).fetchall()
    assert from_sightings and from_view == from_sightings


def test_cross_edition_stories_join_translations_but_not_swapped_roles(built_samples):
    with read_warehouse(built_samples["warehouse"]) as connection:
        stories = connection.execute("SELECT sample_texts, languages FROM cross_edition_stories").fetchall()
        texts = [" | ".join(sample) for sample, _ in stories]
        fire = [text for text in texts if "Catalogne" in text]
        assert len(fire) == 1  # French, Spanish, Arabic and English versions in one story
        assert next(langs for sample, langs in stories if "Catalogne" in " | ".join(sample)) == ["ar", "en", "es", "fr"]
        wydad = connection.execute(
            "SELECT count(*) FILTER (text LIKE '%Wydad bat le Raja%'), count(*) FILTER (text LIKE '%Raja bat le Wydad%') "
            "FROM headlines"
        ).fetchone()
        together = connection.execute(
            """SELECT count(*) FROM headline_stories a JOIN headline_stories b USING (story_id)
               JOIN headlines ha ON ha.headline_id = a.headline_id JOIN headlines hb ON hb.headline_id = b.headline_id
               WHERE ha.text LIKE '%Wydad bat le Raja%' AND hb.text LIKE '%Raja bat le Wydad%'"""
        ).fetchall()[0][0]
        assert wydad[0] >= 1 and wydad[1] >= 1  # both headlines are in the warehouse...
        assert together == 0  # ...and never in the same story


def test_newsdesk_report_prints_where_the_report_is(built_samples, capsys):
    from orchestration.cli import main

    assert main(["report", "--warehouse", str(built_samples["warehouse"])]) == 0
    assert capsys.readouterr().out.strip() == str(built_samples["report"])
