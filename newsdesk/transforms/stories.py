"""Stories: headlines that are near-duplicates or trusted translations of one another."""

from __future__ import annotations

import polars as pl

from newsdesk.transforms.near_duplicates import component_labels


def story_groups(clusters: pl.DataFrame, translations: pl.DataFrame, languages: pl.DataFrame) -> pl.DataFrame:
    """`headline_id`, `story_id` (the smallest headline_id of the story) for every headline that
    has a near-duplicate or a trusted translation.

    Takes the outputs of cluster_headlines and translation_candidates, and `headline_id`,
    `language`. A translation candidate joins two stories only when each side is the other's
    single best match in its language, counting a cluster of near-duplicates as one: "Raja
    vence al Wydad" matches "Raja bat Wydad" and "Wydad bat Raja" equally, so it joins neither,
    and the two French headlines never end up in one story through it.
    """
    cluster_of = clusters.select("headline_id", group="cluster_id")
    language = languages.select("headline_id", "language")
    directed = pl.concat(
        [
            translations.select(source="headline_id_a", target="headline_id_b", score="score"),
            translations.select(source="headline_id_b", target="headline_id_a", score="score"),
        ]
    )
    directed = (
        directed.join(language.rename({"headline_id": "target", "language": "target_language"}), on="target", how="left")
        .with_columns(
            source_group=_grouped("source", cluster_of),
            target_group=_grouped("target", cluster_of),
        )
        .group_by("source_group", "target_group", "target_language")
        .agg(pl.col("score").max())
        .with_columns(best=pl.col("score").max().over("source_group", "target_language"))
        .filter(pl.col("score") == pl.col("best"))
        .filter(pl.len().over("source_group", "target_language") == 1)
    )
    mutual = directed.join(
        directed.select(source_group="target_group", target_group="source_group"), on=["source_group", "target_group"]
    )
    links = pl.concat(
        [
            clusters.select(headline_id_a="cluster_id", headline_id_b="headline_id"),
            mutual.select(headline_id_a="source_group", headline_id_b="target_group"),
        ]
    )
    ids = pl.concat([links["headline_id_a"], links["headline_id_b"]]).unique().sort()
    index = ids.to_frame("headline_id").with_row_index("key")
    pairs = links.join(index.rename({"headline_id": "headline_id_a", "key": "key_a"}), on="headline_id_a").join(
        index.rename({"headline_id": "headline_id_b", "key": "key_b"}), on="headline_id_b"
    )
    component = component_labels(pairs, n_keys=ids.len())
    return index.with_columns(component=pl.Series(component)).select(
        "headline_id", story_id=pl.col("headline_id").min().over("component")
    )


def _grouped(column: str, cluster_of: pl.DataFrame) -> pl.Expr:
    """The headline's cluster_id when it has near-duplicates, else the headline itself."""
    return pl.col(column).replace_strict(cluster_of["headline_id"], cluster_of["group"], default=pl.col(column))
