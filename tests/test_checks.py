"""The Great Expectations suites of expectations/, run as the real Dagster asset checks.

A tiny warehouse built by SQL (sql/schema.sql and the publish's meta tables, then rows) passes every expectation; each
case below breaks it in one way and checks that the one expectation meant to catch it fails,
with the right count, through `dg.materialize` of the checks alone (the warehouse assets are
not re-published, so the hand-made tables stay as they are).
"""

import dataclasses
import json
import re
import shutil
import textwrap
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from assets.checks import warehouse_checks
from assets.keys import CHECKS_OP, TABLES
from assets.parsed_dump import parsed_dump
from assets.resources import DumpsFolder, WarehouseResource
from assets.warehouse_tables import warehouse_tables
from newsdesk.gx_suites import run_suites, slicings
from newsdesk.project import SAMPLE_DUMPS_DIR
from newsdesk.snapshots import list_snapshots
from newsdesk.suites import SuiteError, load_suites
from newsdesk.warehouse import Warehouse
from orchestration.jobs import publish_warehouse_job
from tests.builders import read_warehouse, run_here, written_warehouse

# Kept pages p1-p4 (one per edition), a rejected p5. Edges that must pass: p2 is published one
# day after its crawl (the slack), p3 on the date floor itself. Headline h1 is on a French and
# a Spanish page: 1 of 5 headlines (20%) in more than one edition. meta.dump_headlines holds
# the sightings per page edition, as the publish keeps it, and meta.changed_* say that the
# latest publish changed every row, so the checks validate them all.
BASELINE = """
INSERT INTO pages (dump_id, page_id, crawl_date, status, edition, source, title, published_raw, published_date, article_id) VALUES
    ('d1', 'p1', DATE '2026-02-18', 'ok', 'fr', 'Le Matin', 'Cinq jeunes', '17 - 02 - 2026', DATE '2026-02-17', 'a1'),
    ('d1', 'p2', DATE '2026-02-18', 'ok', 'es', 'EFE', 'Cinco jóvenes', '19 - 02 - 2026', DATE '2026-02-19', 'a2'),
    ('d1', 'p3', DATE '2026-02-18', 'ok', 'ar', 'الخبر', 'خمسة شبان', '01 - 01 - 1995', DATE '1995-01-01', 'a3'),
    ('d1', 'p4', DATE '2026-02-18', 'ok', 'en', 'MWN', 'Five young', '05 - 03 - 2012', DATE '2012-03-05', 'a4'),
    ('d1', 'p5', DATE '2026-02-18', 'empty', NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO articles (article_id, edition, source, title, published_raw, published_date, body, language, first_seen, last_seen, sightings) VALUES
    ('a1', 'fr', 'Le Matin', 'Cinq jeunes', '17 - 02 - 2026', DATE '2026-02-17', 'Corps.', 'fr', DATE '2026-02-18', DATE '2026-02-18', 1),
    ('a2', 'es', 'EFE', 'Cinco jóvenes', '19 - 02 - 2026', DATE '2026-02-19', 'Cuerpo.', 'es', DATE '2026-02-18', DATE '2026-02-18', 1),
    ('a3', 'ar', 'الخبر', 'خمسة شبان', '01 - 01 - 1995', DATE '1995-01-01', 'نص.', 'und', DATE '2026-02-18', DATE '2026-02-18', 1),
    ('a4', 'en', 'MWN', 'Five young', '05 - 03 - 2012', DATE '2012-03-05', 'Body.', 'en', DATE '2026-02-18', DATE '2026-02-18', 1);
INSERT INTO headlines (headline_id, text, language, first_seen, last_seen, sightings) VALUES
    ('h1', 'Titre un', 'fr', DATE '2026-02-18', DATE '2026-02-18', 2),
    ('h2', 'Titulo dos', 'es', DATE '2026-02-18', DATE '2026-02-18', 1),
    ('h3', 'عنوان ثلاثة', 'ar', DATE '2026-02-18', DATE '2026-02-18', 1),
    ('h4', 'Title four', 'en', DATE '2026-02-18', DATE '2026-02-18', 1),
    ('h5', 'Titre cinq', 'fr', DATE '2026-02-18', DATE '2026-02-18', 1);
INSERT INTO headline_sightings VALUES
    ('d1', 'p1', 1, 'h1'), ('d1', 'p1', 2, 'h2'), ('d1', 'p1', 3, 'h3'),
    ('d1', 'p2', 1, 'h1'), ('d1', 'p2', 2, 'h4'), ('d1', 'p4', 1, 'h5');
INSERT INTO meta.dump_headlines (dump_id, headline_id, edition, spelling, sightings) VALUES
    ('d1', 'h1', 'fr', 'Titre un', 1), ('d1', 'h2', 'fr', 'Titulo dos', 1), ('d1', 'h3', 'fr', 'عنوان ثلاثة', 1),
    ('d1', 'h1', 'es', 'Titre un', 1), ('d1', 'h4', 'es', 'Title four', 1), ('d1', 'h5', 'en', 'Titre cinq', 1);
INSERT INTO headline_clusters VALUES ('h1', 'c1'), ('h5', 'c1');
INSERT INTO headline_translations VALUES ('h1', 'h4', 0.9);
INSERT INTO meta.changed_dumps VALUES ('d1');
INSERT INTO meta.changed_articles SELECT article_id FROM articles;
INSERT INTO meta.changed_headlines SELECT headline_id FROM headlines;
"""

ALL_CHECKS = {(e.asset, e.check) for suite in load_suites() for e in suite.expectations}
BLOCKING_CHECKS = {(e.asset, e.check) for suite in load_suites() for e in suite.expectations if e.blocking}

# (what breaks, SQL that breaks it, the check that must fail, its unexpected count, a sample it shows)
FAILURES = [
    ("unknown status", "UPDATE pages SET status = 'weird' WHERE page_id = 'p5'", "pages", "status_known", 1, "weird"),
    ("page twice", "INSERT INTO pages (dump_id, page_id, status) VALUES ('d1', 'p5', 'empty')", "pages", "page_key_unique", 2, None),
    ("no crawl date", "UPDATE pages SET crawl_date = NULL WHERE page_id = 'p5'", "pages", "crawl_date_present", 1, None),
    ("unparsed date", "UPDATE pages SET published_date = NULL, published_raw = '31 - 02 - 2010' WHERE page_id = 'p4'",
     "pages", "published_date_present", 1, "31 - 02 - 2010"),
    ("future date", "UPDATE pages SET published_date = DATE '2026-02-20' WHERE page_id = 'p1'",
     "pages", "published_date_not_after_crawl", 1, ["2026-02-19", "2026-02-20"]),
    ("before the floor", "UPDATE pages SET published_date = DATE '1994-12-31' WHERE page_id = 'p3'",
     "pages", "published_date_after_floor", 1, "1994-12-31"),
    ("sentinel date", "UPDATE pages SET published_date = DATE '1970-01-01' WHERE page_id = 'p4'",
     "pages", "published_date_not_sentinel", 1, "1970-01-01"),
    ("Hijri year", "UPDATE pages SET published_date = DATE '1445-08-12' WHERE page_id = 'p3'",
     "pages", "published_date_not_hijri", 1, "1445-08-12"),
    ("unknown article language", "UPDATE articles SET language = 'de' WHERE article_id = 'a3'",
     "articles", "language_known", 1, "de"),
    ("unknown edition", "UPDATE articles SET edition = 'xx' WHERE article_id = 'a4'", "articles", "edition_known", 1, "xx"),
    ("wrong language", "UPDATE articles SET language = 'ar' WHERE article_id = 'a2'",
     "articles", "language_matches_edition", 1, ["ar", "es"]),
    ("article twice", "INSERT INTO articles SELECT * FROM articles WHERE article_id = 'a1'", "articles", "article_id_unique", 2, "a1"),
    ("same article, two ids", "INSERT INTO articles SELECT * REPLACE ('a9' AS article_id) FROM articles WHERE article_id = 'a1'",
     "articles", "article_unique_by_source_title_date", 2, None),
    ("unknown headline language", "UPDATE headlines SET language = 'zz' WHERE headline_id = 'h1'",
     "headlines", "language_known", 1, "zz"),
    ("undetermined headlines", "UPDATE headlines SET language = 'und' WHERE headline_id IN ('h2', 'h3')",
     "headlines", "language_detected", 2, "und"),
    ("duplicated headline", "INSERT INTO headlines SELECT * FROM headlines WHERE headline_id = 'h2'",
     "headlines", "headline_id_unique", 2, "h2"),
    ("headlines in several editions",
     "INSERT INTO headline_sightings VALUES ('d1', 'p4', 2, 'h2'), ('d1', 'p4', 3, 'h3');"
     "INSERT INTO meta.dump_headlines (dump_id, headline_id, edition, spelling, sightings) VALUES"
     " ('d1', 'h2', 'en', 'Titulo dos', 1), ('d1', 'h3', 'en', 'عنوان ثلاثة', 1)",
     "headlines", "multi_edition_share", 3, "en,fr: Titulo dos"),
    ("missing column", "ALTER TABLE pages DROP COLUMN title", "pages", "contract_columns", 1, "title VARCHAR"),
    ("retyped column", "ALTER TABLE headline_sightings ALTER COLUMN position TYPE BIGINT", "headline_sightings", "contract_columns", 1, "position INTEGER"),
    ("missing position", "ALTER TABLE headline_sightings DROP COLUMN position", "headline_sightings", "contract_columns", 1, "position INTEGER"),
    ("missing first_seen", "ALTER TABLE headlines DROP COLUMN first_seen", "headlines", "contract_columns", 1, "first_seen DATE"),
    ("missing sightings", "ALTER TABLE articles DROP COLUMN sightings", "articles", "contract_columns", 1, "sightings BIGINT"),
    ("renamed column", "ALTER TABLE headline_clusters RENAME COLUMN cluster_id TO cluster", "headline_clusters", "contract_columns", 1, "cluster_id VARCHAR"),
    ("missing score", "ALTER TABLE headline_translations DROP COLUMN score", "headline_translations", "contract_columns", 1, "score DOUBLE"),
]


def build_warehouse(path, *statements: str):
    with written_warehouse(path) as connection:
        connection.execute(BASELINE)
        for statement in statements:
            connection.execute(statement)
    return path


def run_checks(warehouse, checks=None, checks_page=False, all_rows=False):
    """Execute the asset checks (all, or the given (asset, check) pairs) on the warehouse; the
    run's result and its check evaluations by (asset, check). A blocking check is part of the
    publish (its audit), so selecting one runs the publish of the (empty) dumps folder beside
    the warehouse, which leaves the hand-made rows as they are."""
    keys = ALL_CHECKS if checks is None else set(checks)
    selection = dg.AssetSelection.checks(*(dg.AssetCheckKey(dg.AssetKey(a), c) for a, c in keys - BLOCKING_CHECKS))
    if keys & BLOCKING_CHECKS:
        selection |= dg.AssetSelection.assets(*TABLES)
    dumps = warehouse.parent / "dumps"
    dumps.mkdir(exist_ok=True)
    result = dg.materialize(
        [warehouse_tables, *warehouse_checks],
        selection=selection,
        resources={
            "warehouse": WarehouseResource(path=str(warehouse), checks_page=checks_page),
            "dumps": DumpsFolder(path=str(dumps)),
        },
        run_config={"ops": {CHECKS_OP: {"config": {"all_rows": all_rows}}}},
        raise_on_error=False,
    )
    evaluations = {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}
    return result, evaluations


def meta(evaluation) -> dict:
    return {key: value.value for key, value in evaluation.metadata.items()}


def checks_page_row(page: Path, asset: str, check: str) -> str:
    """The line of the checks page about one check (the page's anchor for it is asset.check)."""
    [row] = re.findall(rf'<tr id="{re.escape(asset)}\.{re.escape(check)}">.*?</tr>', page.read_text(encoding="utf-8"), re.S)
    return row


def test_a_clean_warehouse_passes_every_expectation(tmp_path):
    result, evaluations = run_checks(build_warehouse(tmp_path / "w.ducklake"), checks_page=True)
    assert result.success
    assert set(evaluations) == ALL_CHECKS
    failed = {key: evaluation.description for key, evaluation in evaluations.items() if not evaluation.passed}
    assert failed == {}
    shared = meta(evaluations[("headlines", "multi_edition_share")])
    assert (shared["unexpected_count"], shared["unexpected_percent"]) == (1, 20.0)  # reported even when passing
    assert shared["samples"] == ["es,fr: Titre un"]
    page = tmp_path / "w_checks" / "index.html"
    assert meta(evaluations[("pages", "status_known")])["checks_page"] == str(page)
    # The page names every check as Dagster does, with its level, and works offline: nothing is fetched.
    assert "http" not in page.read_text(encoding="utf-8").replace("charset", "")
    for asset, check in ALL_CHECKS:
        row = checks_page_row(page, asset, check)
        assert f"{asset}: {check}" in row and '<span class="passed">passed</span>' in row
    assert "<td>ERROR</td>" in checks_page_row(page, "pages", "status_known")
    assert "<td>WARN</td>" in checks_page_row(page, "pages", "published_date_present")


@pytest.mark.parametrize(("sql", "asset", "check", "count", "sample"), [case[1:] for case in FAILURES], ids=[c[0] for c in FAILURES])
def test_each_expectation_fails_on_its_defect(tmp_path, sql, asset, check, count, sample):
    result, evaluations = run_checks(build_warehouse(tmp_path / "w.ducklake", sql), checks=[(asset, check)])
    evaluation = evaluations[(asset, check)]
    assert not evaluation.passed, evaluation.description
    values = meta(evaluation)
    assert values["unexpected_count"] == count
    assert 0 < values["unexpected_percent"] <= 100
    assert len(values["samples"]) <= 10
    if sample is not None:
        assert sample in values["samples"]
    critical = check in ("status_known", "page_key_unique", "article_id_unique", "headline_id_unique", "contract_columns")
    assert evaluation.severity == (dg.AssetCheckSeverity.ERROR if critical else dg.AssetCheckSeverity.WARN)
    # An ERROR check fails the publish, and so the run; a WARN rate lets the run go on.
    assert result.success is not critical


def test_every_expectation_has_a_failing_case():
    assert {(asset, check) for _, _, asset, check, _, _ in FAILURES} == ALL_CHECKS


def test_a_failing_query_fails_its_suite_checks_with_the_error(tmp_path):
    warehouse = build_warehouse(tmp_path / "w.ducklake", "ALTER TABLE pages DROP COLUMN published_raw")
    _, evaluations = run_checks(warehouse, checks=[("pages", "contract_columns")])
    assert meta(evaluations[("pages", "contract_columns")])["samples"] == ["published_raw VARCHAR"]
    _, evaluations = run_checks(warehouse, checks=[("pages", "published_date_not_hijri")])
    broken = evaluations[("pages", "published_date_not_hijri")]
    assert not broken.passed
    assert "published_raw" in meta(broken)["error"]


def test_the_date_floor_is_a_parameter(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSDESK_CHECK_DATE_FLOOR", "2000-01-01")
    _, evaluations = run_checks(build_warehouse(tmp_path / "w.ducklake"), checks=[("pages", "published_date_after_floor")])
    evaluation = evaluations[("pages", "published_date_after_floor")]
    assert not evaluation.passed
    assert meta(evaluation)["samples"] == ["1995-01-01"]


def test_checks_validate_what_the_latest_publish_changed_unless_told_every_row(tmp_path):
    """Rows the latest publish did not change (meta.changed_*) were validated by the publish
    that wrote them: a publish's checks leave them out, and all_rows takes them in."""
    warehouse = build_warehouse(
        tmp_path / "w.ducklake",
        "INSERT INTO articles (article_id, edition, source, title, language, sightings) VALUES ('old', 'fr', 'S', 'T', 'de', 1)",
        "INSERT INTO pages (dump_id, page_id, crawl_date, status) VALUES ('d0', 'p1', DATE '2026-01-01', 'weird')",
    )
    checks = [("articles", "language_known"), ("articles", "article_id_unique"), ("pages", "crawl_date_present")]
    _, evaluations = run_checks(warehouse, checks)
    assert all(evaluation.passed for evaluation in evaluations.values())
    assert meta(evaluations[("articles", "language_known")])["element_count"] == 4
    assert meta(evaluations[("pages", "crawl_date_present")])["element_count"] == 5
    _, evaluations = run_checks(warehouse, [("articles", "language_known"), ("pages", "crawl_date_present")], all_rows=True)
    known = evaluations[("articles", "language_known")]
    assert not known.passed and meta(known)["samples"] == ["de"]
    assert meta(evaluations[("pages", "crawl_date_present")])["element_count"] == 6


def test_the_publish_job_runs_the_checks(tmp_path, pipeline_env):
    """The publish_warehouse job (also what `newsdesk run` runs) checks the tables it wrote."""
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    warehouse = pipeline_env(dumps)
    defs = dg.Definitions(
        assets=[parsed_dump, warehouse_tables],
        asset_checks=warehouse_checks,
        jobs=[publish_warehouse_job],
        resources={"dumps": DumpsFolder(path=str(dumps)), "warehouse": WarehouseResource(path=str(warehouse))},
    )
    result = defs.resolve_job_def("publish_warehouse").execute_in_process(raise_on_error=False)
    assert result.success
    assert {(e.asset_key.to_user_string(), e.check_name) for e in result.get_asset_check_evaluations()} == ALL_CHECKS


def test_suite_files_are_checked_when_loaded(tmp_path):
    (tmp_path / "a.yaml").write_text(
        textwrap.dedent(
            """
            name: a
            asset: pages
            query: SELECT status FROM pages
            expectations:
              - {check: same, type: expect_column_values_to_not_be_null, kwargs: {column: status}}
            """
        )
    )
    (tmp_path / "b.json").write_text(
        '{"name": "b", "asset": "pages", "query": "SELECT 1", "expectations": [{"check": "same", "type": "x"}]}'
    )
    with pytest.raises(SuiteError, match="already defined"):
        load_suites(tmp_path)
    (tmp_path / "b.json").write_text('{"name": "b", "asset": "pages", "query": "SELECT 1", "expectations": [{"check": "bad name", "type": "x"}]}')
    with pytest.raises(SuiteError, match="letters, digits"):
        load_suites(tmp_path)


@pytest.mark.slow
def test_each_warehouse_has_its_own_checks_page_of_bounded_size(tmp_path):
    _, first = run_checks(build_warehouse(tmp_path / "one.duckdb"), checks_page=True)
    _, second = run_checks(build_warehouse(tmp_path / "two.duckdb"), checks_page=True)
    assert meta(first[("pages", "status_known")])["checks_page"] == str(tmp_path / "one_checks" / "index.html")
    assert meta(second[("pages", "status_known")])["checks_page"] == str(tmp_path / "two_checks" / "index.html")
    size = (tmp_path / "one_checks" / "index.html").stat().st_size
    run_checks(tmp_path / "one.duckdb", checks_page=True)
    results = json.loads((tmp_path / "one_checks" / "results.json").read_text(encoding="utf-8"))
    assert set(results) == {f"{asset}.{check}" for asset, check in ALL_CHECKS}  # the latest result of each check
    assert (tmp_path / "one_checks" / "index.html").stat().st_size == size
    assert sorted(p.name for p in (tmp_path / "one_checks").iterdir()) == ["index.html", "results.json", "results.json.lock"]



def test_suites_keep_their_order_and_a_failed_query_fails_only_its_suite(tmp_path):
    """run_suites fetches the next batch while validating one: the results still come in the
    suites' order, and a query that fails mid-way fails its own suite only."""
    warehouse = build_warehouse(tmp_path / "w.ducklake")
    [pages] = [suite for suite in load_suites() if suite.name == "pages"]
    suites = [
        dataclasses.replace(pages, name="first"),
        dataclasses.replace(pages, name="broken", query="SELECT no_such_column FROM pages"),
        dataclasses.replace(pages, name="third"),
    ]

    runs = run_suites(suites, lambda: read_warehouse(warehouse))
    assert [run.suite.name for run in runs] == ["first", "broken", "third"]
    assert [run.rows for run in runs] == [5, None, 5]
    assert all(outcome.passed for run in (runs[0], runs[2]) for outcome in run.outcomes)
    assert all("no_such_column" in outcome.error for outcome in runs[1].outcomes)


@pytest.mark.slow
def test_a_dump_that_repeats_a_page_id_is_data_not_a_failure(tmp_path):
    from tests.test_scale import build, jsonl_dump, page

    dumps = tmp_path / "dumps"
    dumps.mkdir()
    jsonl_dump(
        dumps / "d-2026-01-01.jsonl",
        [page("Premier", id="same"), page("Autre", id="other"), page("Second", id="same")],
    )
    warehouse = tmp_path / "w.ducklake"
    build(dumps, warehouse)
    with read_warehouse(warehouse) as connection:
        rows = connection.execute("SELECT page_id, status, title FROM pages ORDER BY status, title").fetchall()
        titles = connection.execute("SELECT title FROM articles ORDER BY title").fetchall()
    assert rows == [("same", "duplicate_id", None), ("other", "ok", "Autre"), ("same", "ok", "Premier")]
    assert titles == [("Autre",), ("Premier",)]
    result, evaluations = run_checks(warehouse, [("pages", "page_key_unique"), ("pages", "status_known")])
    assert result.success and all(evaluation.passed for evaluation in evaluations.values())


@pytest.mark.slow
def test_a_publish_that_fails_a_blocking_check_commits_nothing(tmp_path, pipeline_env):
    """Write-audit-publish: a contract violation planted in a partition file reaches the
    publish's transaction, the blocking check catches it there, and nothing is committed:
    readers keep the snapshot they had, the run fails, and the check shows what it found."""
    dumps = tmp_path / "dumps"
    shutil.copytree(SAMPLE_DUMPS_DIR, dumps)
    warehouse = pipeline_env(dumps)
    assert run_here(dumps, warehouse).succeeded
    with read_warehouse(warehouse) as connection:
        snapshots_before = [s.snapshot_id for s in list_snapshots(connection)]
        pages_before = connection.execute("SELECT status, count(*) FROM pages GROUP BY ALL ORDER BY ALL").fetchall()

    part = Warehouse(str(warehouse)).part_path("turess-es-2026-02-20")
    planted = pl.read_parquet(part).with_columns(status=pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("weird")).otherwise("status"))
    planted.write_parquet(part)
    outcome = run_here(dumps, warehouse)

    assert outcome.failures["publish"].startswith("1 blocking check failed, so nothing was published: pages: status_known")
    assert outcome.failed_checks == ["pages: status_known (ERROR)"]
    with read_warehouse(warehouse) as connection:
        assert [s.snapshot_id for s in list_snapshots(connection)] == snapshots_before
        assert connection.execute("SELECT status, count(*) FROM pages GROUP BY ALL ORDER BY ALL").fetchall() == pages_before
    with dg.DagsterInstance.get() as instance:
        check = dg.AssetCheckKey(dg.AssetKey("pages"), "status_known")
        evaluation = instance.event_log_storage.get_asset_check_execution_history(check, limit=1)[0].event.dagster_event.event_specific_data
    assert not evaluation.passed
    assert (meta(evaluation)["unexpected_count"], meta(evaluation)["samples"]) == (1, ["weird"])
    # The checks page shows the failure that kept the publish back, with its sample.
    row = checks_page_row(Warehouse(str(warehouse)).checks_page, "pages", "status_known")
    assert '<span class="failed">failed</span>: 1 unexpected' in row and "&quot;weird&quot;" in row


def test_a_crawl_dated_at_the_end_of_the_calendar_is_checked_not_a_crash(tmp_path):
    """A crawl date of 9999-12-31 plus the day of slack is a year Python's dates cannot hold."""
    warehouse = build_warehouse(tmp_path / "w.ducklake", "UPDATE pages SET crawl_date = DATE '9999-12-31'")
    _, evaluations = run_checks(warehouse, [("pages", "published_date_not_after_crawl")], all_rows=True)
    evaluation = evaluations[("pages", "published_date_not_after_crawl")]
    assert evaluation.passed and "error" not in meta(evaluation), meta(evaluation)


def test_a_batch_validated_in_slices_gives_the_outcome_of_the_whole_batch(tmp_path):
    """Every defect at once, validated whole and then in slices of two rows: the counts,
    rates, verdicts and samples are the same. A duplicate is found only if its rows share a
    slice, so the uniqueness expectations are cut on their keys."""
    defects = [sql for _, sql, *_ in FAILURES if "ALTER TABLE" not in sql]
    warehouse = build_warehouse(tmp_path / "w.ducklake", *defects)
    suites = load_suites()

    def outcomes(slice_rows):
        runs = run_suites(suites, lambda: read_warehouse(warehouse), slice_rows=slice_rows)
        return {
            outcome.expectation.key: (
                outcome.passed,
                outcome.element_count,
                outcome.unexpected_count,
                outcome.unexpected_percent,
                sorted(json.dumps(sample) for sample in outcome.samples),
                outcome.error,
            )
            for run in runs
            for outcome in run.outcomes
        }

    whole, sliced = outcomes(1000), outcomes(2)
    assert sliced == whole
    failing = {key for key, (passed, *_) in whole.items() if not passed}
    # p4's unparsed date is overwritten by the sentinel date defect: every other defect shows.
    expected = {(asset, check) for _, sql, asset, check, *_ in FAILURES if "ALTER TABLE" not in sql}
    assert failing == expected - {("pages", "published_date_present")}


def test_how_each_suite_is_sliced():
    keys = {suite.name: [(s.key, [e.check for e in s.part.expectations]) for s in slicings(suite)] for suite in load_suites()}
    assert keys["article_duplicates"] == [
        (("article_id",), ["article_id_unique"]),
        (("source", "title", "published_date"), ["article_unique_by_source_title_date"]),
    ]
    assert keys["pages"] == [(("dump_id", "kept_page_id"), ["page_key_unique", "status_known", "crawl_date_present"])]
    assert keys["dates"] == [((), [e.check for e in next(s for s in load_suites() if s.name == "dates").expectations])]
    assert keys["structure"] == [(None, ["contract_columns"] * 6)]
