"""The same story told in two languages: scored pairs of headlines (translation candidates).

translation_candidates is meant for a window of headlines (a day, a week: up to about 100,000
headlines in a few seconds); its pairing through shared evidence grows faster than the input.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache

import numpy as np
import polars as pl

from newsdesk.transforms.headline_matching import (
    concept_spellings,
    directed_concepts,
    folded_letters,
    gazetteer_entities,
    matching_key,
    number_magnitudes,
    opposite_concepts,
    tokenize_keys,
    transliteration_tables,
)

# A pair's score is the probability that it tells one story, from a logistic model of its
# evidence (PAIR_WEIGHTS, by feature, and PAIR_INTERCEPT) fitted on the development split of
# benchmarks/eval (`bench_languages.py --fit` fits and prints them). Pairs below
# MIN_TRANSLATION_SCORE are dropped: chosen on the development split (precision 0.937, recall
# 0.691 by cross-validation over its story groups), then scored once on the test split.
PAIR_INTERCEPT = -3.084
PAIR_WEIGHTS = {
    "dice": 1.657,  # the weighted Dice overlap of the two headlines' evidence
    "shared": 2.020,  # the weight of the evidence they share
    "unexplained_most": -0.571,  # the evidence of the headline that says more, less the shared
    "unexplained_least": 0.112,  # the same of the headline that says less
    "shared_numbers": 1.587,
    "shared_names": -0.921,
    "arabic_pair": -0.222,  # one of the two is Arabic: no cognates, names and numbers only
}
MIN_TRANSLATION_SCORE = 0.731
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

# A word is compared with words of the other script on its skeleton of consonant sounds when
# that holds at least this many: shorter ones ("hb", "ks") stand for too many words.
MIN_SKELETON_SOUNDS = 3

# Arabic glues "and" and prepositions to the next word (بتطوان = ب + تطوان, للمغرب = ل + المغرب);
# they are stripped to find names.
_ARABIC_PROCLITIC_LAM_AL = (r"^(?:و|ف)?لل(\p{Arabic}{2,})$", "ال${1}")
_ARABIC_PROCLITICS = (r"^(?:و|ف)?(?:ب|ل|ك)?(\p{Arabic}{3,})$", "${1}")
_ARABIC_ARTICLE = (r"^ال(\p{Arabic}{2,})$", "${1}")


# Cross-language pairs are looked for among headlines first seen within two consecutive spans of
# three weeks: the same story runs in two editions within days, or weeks later in a dump crawled
# later, and a bounded window bounds the pair search. Two headlines three weeks apart or less
# always share a window. On benchmarks/eval, where headlines are first seen up to 40 days after
# their story's first, one-week spans missed a tenth of the pairs found with no window at all;
# three-week spans miss none, in the same time at a million headlines (bench_languages --scale).
TRANSLATION_WINDOW = timedelta(weeks=3)

_NO_PAIRS = {"headline_id_a": pl.String, "headline_id_b": pl.String, "score": pl.Float64}


def windowed_translation_candidates(headlines: pl.DataFrame) -> pl.DataFrame:
    """translation_candidates over each two consecutive spans of TRANSLATION_WINDOW of
    `first_seen` (a date), so that two headlines first seen days apart are compared whichever
    side of a span's edge they fall on. A pair found in two windows keeps its higher score."""
    frame = _headline_frame(headlines.with_columns(span=pl.col("first_seen").dt.truncate(TRANSLATION_WINDOW)))
    # Each span's evidence is read once and kept while a window holds it: a window is a span and
    # the next; what the evidence weighs depends on the window's headlines.
    by_span = {span: part for (span,), part in frame.partition_by("span", as_dict=True).items() if span is not None}
    evidence_of_span: dict = {}
    found = []
    for span in sorted(by_span):
        window_spans = [s for s in (span, span + TRANSLATION_WINDOW) if s in by_span]
        for s in window_spans:
            if s not in evidence_of_span:
                evidence_of_span[s] = _evidence(by_span[s])
        window = pl.concat([by_span[s] for s in window_spans])
        if window.height > 1:
            evidence = pl.concat([evidence_of_span[s] for s in window_spans])
            found.append(_scored_pairs(window, evidence, MIN_TRANSLATION_SCORE))
        del evidence_of_span[span]
    if not found:
        return pl.DataFrame(schema=_NO_PAIRS)
    return pl.concat(found).group_by("headline_id_a", "headline_id_b").agg(pl.col("score").max()).sort(
        "headline_id_a", "headline_id_b"
    )


def translation_candidates(headlines: pl.DataFrame) -> pl.DataFrame:
    """Scored pairs of headlines in two languages that may tell the same story.

    Takes `headline_id`, `text`, `language`; returns `headline_id_a` < `headline_id_b` and a
    `score` in [0, 1], for pairs at or above MIN_TRANSLATION_SCORE. The evidence is offline:
    shared numbers, shared names (the gazetteer of headline_lexicon.toml; between Arabic and
    Latin script also the consonant skeletons of other names) and, between Latin-script
    languages, cognates. Each piece weighs by its rarity in the input; the score weighs what
    two headlines share against what each says that the other does not (PAIR_WEIGHTS).
    Headlines whose numbers disagree are not paired.
    """
    return _candidate_pairs(headlines, MIN_TRANSLATION_SCORE).select("headline_id_a", "headline_id_b", "score")


def translation_pair_features(headlines: pl.DataFrame) -> pl.DataFrame:
    """Every pair translation_candidates weighs, whatever its score: `headline_id_a`,
    `headline_id_b`, the features of PAIR_WEIGHTS (what the benchmark fits them on) and `score`."""
    return _candidate_pairs(headlines, None).select("headline_id_a", "headline_id_b", *PAIR_WEIGHTS, "score")


def _candidate_pairs(headlines: pl.DataFrame, min_score: float | None) -> pl.DataFrame:
    frame = _headline_frame(headlines)
    return _scored_pairs(frame, _evidence(frame), min_score)


def _headline_frame(headlines: pl.DataFrame) -> pl.DataFrame:
    """`row`, `headline_id`, `language`, `key`, `capitalised` (and `span` where given) of the
    headlines in a language."""
    return (
        headlines.select(
            pl.col("headline_id").cast(pl.String),
            pl.col("language").cast(pl.String),
            key=matching_key(pl.col("text").cast(pl.String)),
            # Capitalised words, as the key writes them: the Latin-script words that may be names.
            capitalised=pl.col("text").cast(pl.String).str.extract_all(r"\p{Lu}\p{L}*").list.eval(folded_letters(pl.element())),
            *(["span"] if "span" in headlines.columns else []),
        )
        .filter(pl.col("language").is_not_null() & (pl.col("language") != "und"))
        .drop_nulls("key")
        .with_row_index("row")
    )


def _scored_pairs(frame: pl.DataFrame, unweighted: pl.DataFrame, min_score: float | None) -> pl.DataFrame:
    """The pairs of `frame`'s headlines, scored on their evidence weighed within `frame`."""
    evidence = _weighted_evidence(unweighted)
    totals = (
        evidence.group_by("row")
        .agg(
            # A skeleton is evidence when it matches, and no evidence against a pair when it
            # does not: most words of a headline are not names.
            total=pl.col("weight").filter(pl.col("kind") != "sound").sum(),
            total_cross_script=pl.col("weight").filter(pl.col("cross_script") & (pl.col("kind") != "sound")).sum(),
            numbers=(pl.col("kind") == "number").sum(),
            names=(pl.col("kind") == "name").sum(),
        )
        .join(frame.select("row"), on="row", how="right")
        .fill_null(0)
    )
    shared = _shared_evidence(evidence, frame)
    vetoed = pl.concat([_contradicted(shared, evidence), _roles_swapped(shared, evidence)]).unique()
    return _score_pairs(shared, totals, frame, vetoed, min_score)


def _evidence(frame: pl.DataFrame) -> pl.DataFrame:
    """`row`, `anchor`, `kind`, `cross_script`: numbers, names and cognates of each headline."""
    hashed, vocabulary = tokenize_keys(frame, "row")
    tokens = hashed.join(vocabulary, on="token_hash")
    numbers = _scaled_numbers(tokens).select("row", "anchor", kind=pl.lit("number"))
    cognates = tokens.filter(
        (pl.col("is_content") | pl.col("is_guard"))
        & pl.col("token").str.contains(r"^\p{Latin}{4,}$")
    ).select("row", anchor=pl.col("token").str.slice(0, COGNATE_PREFIX), kind=pl.lit("cognate"))
    names = _gazetteer_names(tokens).select("row", anchor="entity", kind=pl.lit("name"), position="position")
    concepts = _concepts(tokens).select("row", anchor="concept", kind=pl.lit("concept"))
    sounds = _skeletons(tokens, frame).select("row", "anchor", kind=pl.lit("sound"))
    return (
        pl.concat([numbers, cognates, names, concepts, sounds], how="diagonal")
        .unique(["row", "kind", "anchor"])
        .with_columns(cross_script=pl.col("kind") != "cognate")
    )


def _skeletons(tokens: pl.DataFrame, frame: pl.DataFrame) -> pl.DataFrame:
    """`row`, `anchor`: the skeleton of consonant sounds of each word that may be a name and that
    neither the gazetteer nor the concept lexicon knows: the evidence that carries a name across
    scripts ("Akhannouch" and "أخنوش" are "knx"). In Latin script a name is capitalised; Arabic
    script has no capitals, and each content word is taken, with and without its proclitics and
    article (a first letter may be the name's own: فينيسيوس is not ف + ينيسيوس)."""
    known = pl.concat([_gazetteer().select(form="phrase"), _concept_spellings().select("form")])
    tables = transliteration_tables()
    doubled = {sound * 2: sound for table in tables.values() for sound in set(table.values()) if sound}
    words = tokens.filter("is_content").select("row", "token").join(known, left_on="token", right_on="form", how="anti")
    latin = words.join(frame.select("row", token="capitalised").explode("token"), on=["row", "token"], how="semi").filter(
        pl.col("token").str.contains(r"^\p{Latin}+$")
    )
    arabic = words.filter(pl.col("token").str.contains(r"^\p{Arabic}+$"))
    forms = {
        "latin": latin.select("row", form="token"),
        "arabic": pl.concat(
            [
                arabic.select("row", form="token"),
                arabic.select("row", form=_without_proclitics(pl.col("token")).str.replace(*_ARABIC_ARTICLE)),
            ]
        ),
    }
    return (
        pl.concat(
            written.with_columns(sounds=pl.col("form").str.replace_many(tables[script], leftmost=True))
            for script, written in forms.items()
        )
        .join(known, on="form", how="anti")
        # A final h is the silent ة of Arabic and the h of Latin spellings alike.
        .select("row", anchor=pl.col("sounds").str.replace_many(doubled).str.strip_suffix("h"))
        .filter(pl.col("anchor").str.len_chars() >= MIN_SKELETON_SOUNDS)
        .unique()
    )


def _scaled_numbers(tokens: pl.DataFrame) -> pl.DataFrame:
    """`row`, `anchor`: each number of a headline, times the magnitude word after it, so that
    "1.2 milliard", "1200 millones" and "1.2 billion" are the same anchor."""
    magnitudes = number_magnitudes()
    following = tokens.select("row", position=pl.col("position") - 1, factor=pl.col("token").replace_strict(
        magnitudes, default=None, return_dtype=pl.Float64
    )).drop_nulls("factor")
    numbers = tokens.filter("is_number").join(following, on=["row", "position"], how="left")
    scaled = pl.col("token").cast(pl.Float64) * pl.col("factor")
    return numbers.select(
        "row",
        anchor=pl.when(pl.col("factor").is_null())
        .then(pl.col("token"))
        .otherwise(scaled.round(0).cast(pl.Int64).cast(pl.String)),
    )


def _concepts(tokens: pl.DataFrame) -> pl.DataFrame:
    """`row`, `concept` for each word of a headline that the concept lexicon holds: "chômage",
    "paro", "unemployment" and "البطالة" are one concept, the only evidence besides names and
    numbers that Arabic and Latin script share. Arabic words are also looked up without their
    proclitics and article."""
    forms = tokens.select("row", "token", bare=_without_proclitics(pl.col("token"))).with_columns(
        stem=pl.col("bare").str.replace(*_ARABIC_ARTICLE)
    )
    return (
        pl.concat([forms.select("row", form=pl.col(column)) for column in ("token", "bare", "stem")])
        .join(_concept_spellings(), on="form")
        .unique(["row", "concept"])
        .select("row", "concept")
    )


def _without_proclitics(word: pl.Expr) -> pl.Expr:
    """An Arabic word without the "and", prepositions and "lil-" glued to it (others unchanged)."""
    return word.str.replace(*_ARABIC_PROCLITIC_LAM_AL).str.replace(*_ARABIC_PROCLITICS)


@cache
def _concept_spellings() -> pl.DataFrame:
    """`form` (a spelling, as matching_key writes it) → `concept`."""
    spellings = concept_spellings()
    frame = pl.DataFrame({"spelling": list(spellings), "concept": list(spellings.values())}, schema={"spelling": pl.String, "concept": pl.String})
    return frame.select(form=matching_key(pl.col("spelling")), concept="concept").unique("form", keep="first")


def _contradicted(pairs: pl.DataFrame, evidence: pl.DataFrame) -> pl.DataFrame:
    """The pairs (`row`, `row_b`) where one headline states a concept and the other its
    opposite ("suspend" and "resume", "raises" and "cuts"), neither stating both: the same
    subject, opposite news."""
    concepts = evidence.filter(pl.col("kind") == "concept").select("row", concept="anchor")
    opposites = _opposites()
    return (
        pairs.select("row", "row_b")
        .join(concepts, on="row")
        .join(opposites, on="concept")
        .join(concepts.rename({"row": "row_b", "concept": "opposite"}), on=["row_b", "opposite"], how="semi")
        .join(concepts.rename({"concept": "opposite"}), on=["row", "opposite"], how="anti")
        .join(concepts.rename({"row": "row_b"}), on=["row_b", "concept"], how="anti")
        .select("row", "row_b")
        .unique()
    )


def _roles_swapped(pairs: pl.DataFrame, evidence: pl.DataFrame) -> pl.DataFrame:
    """The pairs (`row`, `row_b`) that state one directed action (A beats B, A recruits from
    B, A expels B's citizens) between the same two named parties, named in opposite orders:
    B beats A is other news. The headlines of all four languages put the subject first."""
    names = evidence.filter(pl.col("kind") == "name").select("row", "anchor", "position")
    directed = (
        evidence.filter(pl.col("kind") == "concept")
        .join(_directed_concepts(), left_on="anchor", right_on="concept")
        .select("row", "action")
        .unique()
    )
    acting = pairs.select("row", "row_b").join(directed, on="row").join(
        directed.rename({"row": "row_b"}), on=["row_b", "action"], how="semi"
    ).select("row", "row_b").unique()
    order = (
        acting.join(names, on="row")
        .join(names.rename({"row": "row_b", "position": "position_b"}), on=["row_b", "anchor"])
        .group_by("row", "row_b")
        .agg(by_a=pl.col("anchor").sort_by("position").head(2), by_b=pl.col("anchor").sort_by("position_b").head(2))
    )
    return order.filter((pl.col("by_a").list.len() == 2) & (pl.col("by_a") == pl.col("by_b").list.reverse())).select(
        "row", "row_b"
    )


@cache
def _directed_concepts() -> pl.DataFrame:
    """`concept`, `action`: the concepts whose two parties cannot swap, each with its action
    (concepts that say one action, like win and beat, share it)."""
    actions = directed_concepts()
    return pl.DataFrame(
        {"concept": [c for action in actions for c in action], "action": [action[0] for action in actions for _ in action]},
        schema={"concept": pl.String, "action": pl.String},
    )


@cache
def _opposites() -> pl.DataFrame:
    """`concept`, `opposite`: each pair of opposite concepts, both ways."""
    pairs = opposite_concepts()
    return pl.DataFrame(
        {"concept": [a for a, b in pairs] + [b for a, b in pairs], "opposite": [b for a, b in pairs] + [a for a, b in pairs]},
        schema={"concept": pl.String, "opposite": pl.String},
    )


def _gazetteer_names(tokens: pl.DataFrame) -> pl.DataFrame:
    """`row`, `entity`, `position` (of its first word) for each gazetteer name found in a
    headline, as one to three words; a name said twice is where it is first said. Phrases are
    built only from the words that can start a name, as written or without their proclitics
    (looked up once per distinct word)."""
    starts = _gazetteer_first_words()
    vocabulary = tokens.select("token").unique()
    bare = (
        vocabulary.with_columns(bare=_without_proclitics(pl.col("token")))
        .filter((pl.col("bare") != pl.col("token")) & pl.col("bare").is_in(starts))
    )
    starting = pl.concat([vocabulary.filter(pl.col("token").is_in(starts)), bare.select("token")])
    words = (
        tokens.sort("row", "position")
        .select(
            "row",
            "position",
            "token",
            next1=pl.col("token").shift(-1).over("row"),
            next2=pl.col("token").shift(-2).over("row"),
        )
        .filter(pl.col("token").is_in(starting["token"]))
        .join(bare, on="token", how="left")
    )
    phrases = pl.concat(
        [
            words.select("row", "position", phrase=pl.concat_str([first, *following], separator=" "))
            for first in ("token", "bare")
            for following in ([], ["next1"], ["next1", "next2"])
        ]
    ).drop_nulls()
    return phrases.join(_gazetteer(), on="phrase").group_by("row", "entity").agg(pl.col("position").min())


@cache
def _gazetteer_first_words() -> pl.Series:
    """The first word of each gazetteer spelling, as matching_key writes it."""
    return _gazetteer()["phrase"].str.split(" ").list.first().unique()


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
    # A skeleton of three or four sounds is shared by unrelated words too: it adds to the evidence
    # of a pair, and does not propose one.
    rare = evidence.filter(pl.col("headlines").is_between(2, MAX_ANCHOR_HEADLINES) & (pl.col("kind") != "sound")).select(
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
    arabic_pair = (pl.col("language") == "ar") | (pl.col("language_b") == "ar")
    return (
        candidates.join(anchors, on="row")
        .join(anchors.drop("weight"), left_on=["row_b", "kind", "anchor"], right_on=["row", "kind", "anchor"])
        # Skeletons carry names between Arabic and Latin script; between two Latin-script
        # languages cognates already compare the words.
        .filter((pl.col("kind") != "sound") | arabic_pair)
        .group_by("row", "row_b")
        .agg(
            shared=pl.col("weight").sum(),
            shared_numbers=(pl.col("kind") == "number").sum(),
            shared_names=(pl.col("kind") == "name").sum(),
            arabic_pair=arabic_pair.first(),
        )
    )


def _score_pairs(
    shared: pl.DataFrame, totals: pl.DataFrame, frame: pl.DataFrame, vetoed: pl.DataFrame, min_score: float | None
) -> pl.DataFrame:
    ids = frame.select("row", "headline_id")
    # Arabic and Latin script share no cognates: only numbers and names count on both sides.
    said = {
        side: pl.when("arabic_pair").then(pl.col(f"total_cross_script{side}")).otherwise(pl.col(f"total{side}"))
        for side in ("", "_b")
    }
    logit = pl.lit(PAIR_INTERCEPT) + pl.sum_horizontal(pl.col(name) * weight for name, weight in PAIR_WEIGHTS.items())
    scored = (
        shared.join(totals, on="row")
        .join(totals, left_on="row_b", right_on="row", suffix="_b")
        # A translation keeps the numbers: numbers on one side only, none in common, or a figure
        # on each side that the other lacks (4-0 and 2-0) mean two stories or two days. One
        # side may add a figure (a year, a date) that the other leaves out.
        .filter(
            ((pl.col("numbers") == 0) & (pl.col("numbers_b") == 0))
            | (
                (pl.col("shared_numbers") > 0)
                & ((pl.col("numbers") == pl.col("shared_numbers")) | (pl.col("numbers_b") == pl.col("shared_numbers")))
            )
        )
        # Likewise a name on each side that the other lacks (Dakhla and Oran, France and
        # Spain): the same kind of news about other places or people.
        .filter((pl.col("names") == pl.col("shared_names")) | (pl.col("names_b") == pl.col("shared_names")))
        .select(
            "row",
            "row_b",
            dice=(2 * pl.col("shared") / (said[""] + said["_b"] + EVIDENCE_PSEUDO_WEIGHT)).clip(0.0, 1.0),
            shared="shared",
            unexplained_most=pl.max_horizontal(said[""], said["_b"]) - pl.col("shared"),
            unexplained_least=pl.min_horizontal(said[""], said["_b"]) - pl.col("shared"),
            shared_numbers=pl.col("shared_numbers").cast(pl.Float64),
            shared_names=pl.col("shared_names").cast(pl.Float64),
            arabic_pair=pl.col("arabic_pair").cast(pl.Float64),
        )
        .with_columns(score=(1.0 / (1.0 + (-logit).exp())).cast(pl.Float64))
    )
    if min_score is not None:
        scored = scored.filter(pl.col("score") >= min_score)
    return (
        scored.join(vetoed, on=["row", "row_b"], how="anti")
        .join(ids, on="row")
        .join(ids, left_on="row_b", right_on="row", suffix="_b")
        .with_columns(
            headline_id_a=pl.min_horizontal("headline_id", "headline_id_b"),
            headline_id_b=pl.max_horizontal("headline_id", "headline_id_b"),
        )
        .drop("headline_id", "row", "row_b")
        .sort("headline_id_a", "headline_id_b")
    )
