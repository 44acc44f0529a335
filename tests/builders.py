"""Builders of test pages and records, shaped like the real ones."""

import polars as pl

from newsdesk.readers import RECORD_SCHEMA
from newsdesk.project import PROJECT_ROOT
from newsdesk.transforms.editions import load_editions

REAL_PAGE = PROJECT_ROOT / "samples" / "real" / "000_944c1d705c4b9ef0.txt"
TRUTH_FILE = PROJECT_ROOT / "samples" / "truth.jsonl"
NBSP4 = "\u00a0" * 4

PUBLICATION = {
    "fr": "Publié dans {source} le {date}",
    "es": "Publicado en {source} el {date}",
    "ar": "نشر في {source} يوم {date}",
    "en": "Published in {source} on {date}",
}
FOOTER = {edition.code: edition.footer for edition in load_editions()}


def make_page(
    edition: str = "fr",
    title: str = "Un titre",
    source: str = "Le Matin",
    date: str = "05 - 03 - 2012",
    body: tuple[str, ...] = ("Premier paragraphe.", "Second paragraphe."),
    ticker: tuple[str, ...] = ("Titre un", "Titre deux"),
    footer: bool = True,
) -> str:
    lines = []
    if ticker:
        lines += ["".join(item + NBSP4 for item in ticker), "", ""]
    lines += [title, PUBLICATION[edition].format(source=source, date=date), "", *body, ""]
    if footer:
        lines.append(FOOTER[edition])
    return "\n".join(lines)


def records(*texts: str, **columns) -> pl.DataFrame:
    """A frame of decoded records, as the dump readers produce, for the given page texts."""
    n = len(texts)
    data = {name: [None] * n for name in RECORD_SCHEMA}
    data.update(page_id=[str(i) for i in range(1, n + 1)], text=list(texts), encoding=["utf-8"] * n)
    data.update(columns)
    return pl.DataFrame(data, schema=RECORD_SCHEMA)


def write_jsonl_dump(path, pages: int, variant: str = "") -> None:
    """A JSONL dump of distinct French pages sharing one ticker, like one crawl of the site."""
    import json

    ticker = tuple(f"Titre du fil {i} {variant}".strip() for i in range(48))
    with open(path, "w", encoding="utf-8") as out:
        for i in range(pages):
            text = make_page(title=f"Article {i} {variant}".strip(), body=(f"Corps de l'article {i}.",) * 5, ticker=ticker)
            out.write(json.dumps({"id": f"p{i}", "text": text}) + "\n")


def run_here(dumps, warehouse, workers: int = 1):
    """`newsdesk run` without the command line: the runner, in this process, on the instance
    of $DAGSTER_HOME (the definitions' settings must already point at dumps and warehouse)."""
    import dagster as dg

    from newsdesk.warehouse import Warehouse
    from orchestration.runner import run_pipeline

    with dg.DagsterInstance.get() as instance:
        return run_pipeline(dumps, Warehouse(str(warehouse)), instance, workers=workers)
