"""The language and duplicate step of a publish: languages of new texts, near-duplicate
clusters, translation candidates and stories, computed by the pure transforms on frames read
from the warehouse and written back into it, inside the publish transaction."""

from __future__ import annotations

import duckdb
import polars as pl

from newsdesk.project import read_sql
from newsdesk.transforms.language import identify_languages
from newsdesk.transforms.near_duplicates import cluster_headlines
from newsdesk.transforms.stories import story_groups
from newsdesk.transforms.translations import windowed_translation_candidates


def tag_headline_languages(connection: duckdb.DuckDBPyConnection) -> int:
    """Identify the queued headlines whose text was never identified (meta.text_languages
    keeps every answer: a text is identified once), then set their language. Returns how many
    texts were new. Article languages come with the partition files (parsed_dump)."""
    unknown = connection.sql(read_sql("publish/headline_languages.sql")).pl()
    if unknown.height:
        identified = identify_languages(unknown["text"], kind="headline", editions=unknown["edition"])
        answers = unknown.join(identified, on="text", how="left").select(
            "text_md5",
            kind=pl.lit("headline"),
            language=pl.col("language").fill_null("und"),
            language_score="language_score",
        )
        _insert(connection, "meta.text_languages", answers)
    connection.execute(read_sql("publish/set_headline_languages.sql"))
    return unknown.height


def _insert(connection: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    connection.register("frame", frame.to_arrow())
    try:
        connection.execute(f"INSERT INTO {table} BY NAME SELECT * FROM frame")
    finally:
        connection.unregister("frame")


def link_duplicates(connection: duckdb.DuckDBPyConnection) -> None:
    """Rebuild headline_clusters, headline_translations and headline_stories from headlines."""
    headlines = connection.sql("SELECT headline_id, text, language, first_seen FROM headlines").pl()
    clusters = cluster_headlines(headlines.select("headline_id", "text"))
    translations = windowed_translation_candidates(headlines)
    stories = story_groups(clusters, translations, headlines.select("headline_id", "language"))
    for table, frame in (
        ("headline_clusters", clusters),
        ("headline_translations", translations),
        ("headline_stories", stories),
    ):
        connection.execute(f"DELETE FROM {table}")
        _insert(connection, table, frame)
