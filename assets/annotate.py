"""The language and duplicate step of a publish: languages of new texts, near-duplicate
clusters, translation candidates and stories, computed by the pure transforms on frames read
from the warehouse and written back into it, inside the publish transaction."""

from __future__ import annotations

import duckdb
import polars as pl

from assets.transforms.language import identify_languages
from assets.transforms.near_duplicates import cluster_headlines
from assets.transforms.stories import story_groups
from assets.transforms.translations import translation_candidates

# Cross-language pairs are looked for among headlines first seen in the same week: the same
# story runs in two editions within days, and a bounded window bounds the pair search.
TRANSLATION_WINDOW = "1w"


# Texts not identified yet, with the edition they were seen on as the prior.
_UNKNOWN_TEXTS = {
    "article": """
        SELECT md5(body) AS text_md5, body AS text, edition
        FROM articles
        ANTI JOIN meta.text_languages AS known ON known.kind = 'article' AND known.text_md5 = md5(body)
        WHERE body IS NOT NULL
    """,
    # A headline's prior is the edition of the pages that show it most often.
    "headline": """
        WITH unknown AS (
            SELECT headline_id, text FROM headlines
            ANTI JOIN meta.text_languages AS known ON known.kind = 'headline' AND known.text_md5 = md5(text)
        ),
        seen AS (
            SELECT s.headline_id, mode(p.edition) AS edition
            FROM headline_sightings AS s JOIN pages AS p USING (dump_id, page_id)
            WHERE s.headline_id IN (SELECT headline_id FROM unknown)
            GROUP BY s.headline_id
        )
        SELECT md5(text) AS text_md5, text, edition FROM unknown LEFT JOIN seen USING (headline_id)
    """,
}
_SET_LANGUAGES = {
    "article": """
        UPDATE articles SET language = known.language, language_score = known.language_score
        FROM meta.text_languages AS known
        WHERE known.kind = 'article' AND known.text_md5 = md5(articles.body)
    """,
    "headline": """
        UPDATE headlines SET language = known.language, language_score = known.language_score
        FROM meta.text_languages AS known
        WHERE known.kind = 'headline' AND known.text_md5 = md5(headlines.text)
    """,
}


def tag_languages(connection: duckdb.DuckDBPyConnection) -> int:
    """Identify each article body and headline text not identified before (meta.text_languages
    keeps every answer: a text is identified once), then set the language columns. Returns how
    many texts were new."""
    new = 0
    for kind in ("article", "headline"):
        unknown = connection.sql(_UNKNOWN_TEXTS[kind]).pl().unique("text_md5")
        if unknown.height:
            identified = identify_languages(unknown["text"], kind=kind, editions=unknown["edition"])
            answers = unknown.join(identified, on="text", how="left").select(
                "text_md5",
                kind=pl.lit(kind),
                language=pl.col("language").fill_null("und"),
                language_score="language_score",
            )
            _insert(connection, "meta.text_languages", answers)
            new += unknown.height
        connection.execute(_SET_LANGUAGES[kind])
    return new


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
    weeks = headlines.with_columns(week=pl.col("first_seen").dt.truncate(TRANSLATION_WINDOW))
    translations = pl.concat(
        [
            translation_candidates(window.select("headline_id", "text", "language"))
            for _, window in weeks.group_by("week")
            if window.height > 1
        ]
        or [pl.DataFrame(schema={"headline_id_a": pl.String, "headline_id_b": pl.String, "score": pl.Float64})]
    )
    stories = story_groups(clusters, translations, headlines.select("headline_id", "language"))
    for table, frame in (
        ("headline_clusters", clusters),
        ("headline_translations", translations),
        ("headline_stories", stories),
    ):
        connection.execute(f"DELETE FROM {table}")
        _insert(connection, table, frame)
