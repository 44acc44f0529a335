"""The same story told in two languages: scored pairs of headlines (translation candidates).

translation_candidates is meant for a window of headlines (a day, a week: up to about 100,000
headlines in a few seconds); its pairing through shared evidence grows faster than the input.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import polars as pl

from newsdesk.transforms.headline_matching import gazetteer_entities, matching_key, tokenize_keys

# Translation candidates: pairs scoring below this are dropped. Calibrated on benchmarks/eval:
# precision 0.9 or more at recall 0.7 or more (the benchmark prints the sweep).
MIN_TRANSLATION_SCORE = 0.4
# Evidence shared by more headlines than this is too common to propose a pair through (it still
# counts in the score of pairs proposed by rarer evidence).
MAX_ANCHOR_HEADLINES = 50
# A cognate is compared on its first letters: incendie/incendio, logistique/logística.
COGNATE_PREFIX = 5
# Evidence weight added to the Dice denominator, in units of one anchor seen in no other
# headline: a single shared name ("Casablanca" and nothing else comparable) must not look like a
# certain translation.
EVIDENCE_PSEUDO_WEIGHT = 2.0
# Document frequencies are read against at least this many headlines (about a day of press).
REFERENCE_HEADLINES = 1_000

# Arabic glues "and" and prepositions to the next word (بتطوان = ب + تطوان, للمغرب = ل + المغرب);
# they are stripped to find names.
_ARABIC_PROCLITIC_LAM_AL = (r"^(?:و|ف)?لل(\p{Arabic}{2,})$", "ال${1}")
_ARABIC_PROCLITICS = (r"^(?:و|ف)?(?:ب|ل|ك)?(\p{Arabic}{3,})$", "${1}")


def translation_candidates(headlines: pl.DataFrame) -> pl.DataFrame:
    """Scored pairs of headlines in two languages that may tell the same story.

    Takes `headline_id`, `text`, `language`; returns `headline_id_a` < `headline_id_b` and a
    `score` in [0, 1], for pairs at or above MIN_TRANSLATION_SCORE. The evidence is offline:
    shared numbers, shared names (the gazetteer of headline_lexicon.toml) and, between
    Latin-script languages, cognates. Each piece weighs by its rarity in the input, and the
    score is the weighted Dice overlap of the two headlines' evidence. Headlines whose numbers
    disagree are not paired.
    """
    frame = (
        headlines.select(
            pl.col("headline_id").cast(pl.String),
            pl.col("language").cast(pl.String),
            key=matching_key(pl.col("text").cast(pl.String)),
        )
        .filter(pl.col("language").is_not_null() & (pl.col("language") != "und"))
        .drop_nulls("key")
        .with_row_index("row")
    )
    evidence = _weighted_evidence(_evidence(frame))
    totals = (
        evidence.group_by("row")
        .agg(
            total=pl.col("weight").sum(),
            total_cross_script=pl.col("weight").filter("cross_script").sum(),
            numbers=(pl.col("kind") == "number").sum(),
        )
        .join(frame.select("row"), on="row", how="right")
        .fill_null(0)
    )
    shared = _shared_evidence(evidence, frame)
    return _score_pairs(shared, totals, frame)


def _evidence(frame: pl.DataFrame) -> pl.DataFrame:
    """`row`, `anchor`, `kind`, `cross_script`: numbers, names and cognates of each headline."""
    hashed, vocabulary = tokenize_keys(frame, "row")
    tokens = hashed.join(vocabulary, on="token_hash")
    numbers = tokens.filter("is_number").select(
        "row", anchor=pl.col("token"), kind=pl.lit("number")
    )
    cognates = tokens.filter(
        (pl.col("is_content") | pl.col("is_guard"))
        & pl.col("token").str.contains(r"^\p{Latin}{4,}$")
    ).select("row", anchor=pl.col("token").str.slice(0, COGNATE_PREFIX), kind=pl.lit("cognate"))
    names = _gazetteer_names(tokens).select("row", anchor="entity", kind=pl.lit("name"))
    return (
        pl.concat([numbers, cognates, names])
        .unique(["row", "kind", "anchor"])
        .with_columns(cross_script=pl.col("kind") != "cognate")
    )


def _gazetteer_names(tokens: pl.DataFrame) -> pl.DataFrame:
    """`row`, `entity` for each gazetteer name found in a headline, as one to three words."""
    words = tokens.sort("row", "position").select(
        "row",
        "token",
        bare=pl.col("token")
        .str.replace(*_ARABIC_PROCLITIC_LAM_AL)
        .str.replace(*_ARABIC_PROCLITICS),
        next1=pl.col("token").shift(-1).over("row"),
        next2=pl.col("token").shift(-2).over("row"),
    )
    phrases = pl.concat(
        [
            words.select("row", phrase=pl.concat_str([first, *following], separator=" "))
            for first in ("token", "bare")
            for following in ([], ["next1"], ["next1", "next2"])
        ]
    ).drop_nulls()
    return phrases.join(_gazetteer(), on="phrase").unique(["row", "entity"]).select("row", "entity")


@cache
def _gazetteer() -> pl.DataFrame:
    """`phrase` (a spelling, as matching_key writes it) → `entity` (its first spelling)."""
    entities = gazetteer_entities()
    spellings = pl.DataFrame(
        {
            "entity": [names[0] for names in entities for _ in names],
            "spelling": [name for names in entities for name in names],
        }
    )
    return spellings.select(
        phrase=matching_key(pl.col("spelling")), entity=matching_key(pl.col("entity"))
    ).unique("phrase")


def _weighted_evidence(evidence: pl.DataFrame) -> pl.DataFrame:
    """Each anchor weighs its inverse document frequency: a number or a name shared by two
    headlines out of thousands says much more than "Maroc". Divided by ln(N), weights stay in
    [0, 1] (1 for an anchor of one headline); N is at least a day of press, so that in a small
    input (one page) an anchor of three headlines does not look common."""
    log_headlines = np.log(max(evidence["row"].n_unique(), REFERENCE_HEADLINES))
    return evidence.with_columns(headlines=pl.len().over("kind", "anchor")).with_columns(
        weight=1.0 - pl.col("headlines").log() / log_headlines
    )


def _shared_evidence(evidence: pl.DataFrame, frame: pl.DataFrame) -> pl.DataFrame:
    """Per pair of headlines in different languages sharing some rare evidence: the weight and
    the numbers they share."""
    rare = evidence.filter(pl.col("headlines").is_between(2, MAX_ANCHOR_HEADLINES)).select(
        "row", "kind", "anchor"
    )
    languages = frame.select("row", "language")
    candidates = (
        rare.join(rare, on=["kind", "anchor"], suffix="_b")
        .filter(pl.col("row") < pl.col("row_b"))
        .select("row", "row_b")
        .unique()
        .join(languages, on="row")
        .join(languages, left_on="row_b", right_on="row", suffix="_b")
        .filter(pl.col("language") != pl.col("language_b"))
    )
    anchors = evidence.select("row", "kind", "anchor", "weight")
    return (
        candidates.join(anchors, on="row")
        .join(anchors.drop("weight"), left_on=["row_b", "kind", "anchor"], right_on=["row", "kind", "anchor"])
        .group_by("row", "row_b")
        .agg(
            shared=pl.col("weight").sum(),
            shared_numbers=(pl.col("kind") == "number").sum(),
            arabic_pair=(pl.col("language") == "ar").first() | (pl.col("language_b") == "ar").first(),
        )
    )


def _score_pairs(shared: pl.DataFrame, totals: pl.DataFrame, frame: pl.DataFrame) -> pl.DataFrame:
    ids = frame.select("row", "headline_id")
    scored = (
        shared.join(totals, on="row")
        .join(totals, left_on="row_b", right_on="row", suffix="_b")
        # Arabic and Latin script share no cognates: only numbers and names count on both sides.
        .with_columns(
            denominator=pl.when("arabic_pair")
            .then(pl.col("total_cross_script") + pl.col("total_cross_script_b"))
            .otherwise(pl.col("total") + pl.col("total_b"))
        )
        .with_columns(
            score=(
                2 * pl.col("shared") / (pl.col("denominator") + EVIDENCE_PSEUDO_WEIGHT)
            ).clip(0.0, 1.0)
        )
        # A translation keeps the numbers: numbers on one side only, or none in common, mean
        # two different stories or two different days.
        .filter(
            ((pl.col("numbers") == 0) & (pl.col("numbers_b") == 0)) | (pl.col("shared_numbers") > 0)
        )
        .filter(pl.col("score") >= MIN_TRANSLATION_SCORE)
        .join(ids, on="row")
        .join(ids, left_on="row_b", right_on="row", suffix="_b")
    )
    return scored.select(
        headline_id_a=pl.min_horizontal("headline_id", "headline_id_b"),
        headline_id_b=pl.max_horizontal("headline_id", "headline_id_b"),
        score=pl.col("score").cast(pl.Float64),
    ).sort("headline_id_a", "headline_id_b")
