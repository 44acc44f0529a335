"""Every query in docs/queries.md runs as written on the samples and gives the output shown."""

import pytest

from docs.render_queries import DOC, queries, render
from tests.builders import read_warehouse

pytestmark = pytest.mark.slow  # end to end: real runs of the whole pipeline

QUERIES = queries(DOC.read_text(encoding="utf-8"))


@pytest.mark.parametrize("query", QUERIES, ids=[m["sql"].splitlines()[0][:40] for m in QUERIES])
def test_documented_query_gives_the_documented_output(built_samples, query):
    with read_warehouse(built_samples["warehouse"]) as connection:
        assert render(connection, query["sql"]) == query["table"], "refresh with docs/render_queries.py"


def test_the_page_documents_every_view():
    from tests.test_report_and_views import VIEWS

    page = DOC.read_text(encoding="utf-8")
    assert all(f"FROM {view}" in page for view in VIEWS)
