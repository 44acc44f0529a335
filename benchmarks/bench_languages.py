"""Benchmark: language identification, near-duplicate clusters and translation candidates.

    .venv/bin/python benchmarks/bench_languages.py                  # evaluation set + throughput
    .venv/bin/python benchmarks/bench_languages.py --calibrate      # also the threshold sweeps
    .venv/bin/python benchmarks/bench_languages.py --scale 1000000  # synthetic scale run only

The evaluation set is benchmarks/eval (see its README). The scale run generates N distinct
synthetic headlines in a child process (so that its memory is not counted), then times language
tagging and clustering on them and reports the peak resident memory of this process.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import resource
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsdesk.transforms import language, translations  # noqa: E402
from newsdesk.transforms.language import identify_languages  # noqa: E402
from newsdesk.transforms.near_duplicates import cluster_headlines  # noqa: E402
from newsdesk.transforms.translations import translation_pair_features, windowed_translation_candidates  # noqa: E402

EVAL = ROOT / "benchmarks" / "eval"
THROUGHPUT_HEADLINES = 100_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, nargs="?", const=1_000_000, metavar="N",
                        help="time language tagging + clustering on N synthetic headlines")
    parser.add_argument("--calibrate", action="store_true", help="print the threshold sweeps")
    parser.add_argument("--fit", action="store_true",
                        help="fit the translation scorer's weights on the development split and print them")
    args = parser.parse_args()
    if args.fit:
        fit_translation_weights()
        return
    if args.scale:
        scale_run(args.scale)
        return
    report_headline_languages(args.calibrate)
    report_article_languages()
    report_clusters()
    report_translations(args.calibrate)
    print(f"\n== Throughput on {THROUGHPUT_HEADLINES:,} synthetic headlines ==")
    timed_pipeline(_generated(THROUGHPUT_HEADLINES))


# --- Evaluation set ----------------------------------------------------------------------------


def _words(text: pl.Expr) -> pl.Expr:
    """Words of a headline: whitespace-separated pieces holding a letter or a digit."""
    return text.str.extract_all(r"\S+").list.eval(pl.element().str.contains(r"\w")).list.sum()


def _headline_accuracy(rows: pl.DataFrame, with_editions: bool) -> pl.DataFrame:
    found = identify_languages(
        rows["text"], "headline", rows["edition"] if with_editions else None
    )
    return rows.join(found, on="text", suffix="_found").with_columns(
        correct=pl.col("language") == pl.col("language_found"), words=_words(pl.col("text"))
    )


# Headlines with their language and the edition they were seen on. The two dev files are tuned
# on; the test split was written apart from the code and is never tuned on: its errors are
# counted, not printed.
HEADLINE_SPLITS = {
    "dev": "headline_languages.jsonl",
    "dev2": "headline_languages_dev2.jsonl",
    "test": "headline_languages_test.jsonl",
}


def report_headline_languages(calibrate: bool) -> None:
    for split, file in HEADLINE_SPLITS.items():
        rows = pl.read_ndjson(EVAL / file).select("text", "language", "edition").unique("text", maintain_order=True)
        print(f"== Headline language, {split} ({rows.height} headlines, "
              f"{rows.filter(pl.col('language') == 'und').height} of them 'und') ==")
        for with_editions in (False, True):
            checked = _headline_accuracy(rows, with_editions)
            short = checked.filter(pl.col("words") <= 5)
            print(f"{'with' if with_editions else 'without'} edition prior: "
                  f"accuracy {checked['correct'].mean():.3f} (target 0.995), "
                  f"on <=5 words {short['correct'].mean():.3f} over {short.height}, "
                  f"named languages only {checked.filter(pl.col('language') != 'und')['correct'].mean():.3f}")
            if split != "test":
                for row in checked.filter(~pl.col("correct")).iter_rows(named=True):
                    print(f"    wrong: {row['text']!r} is {row['language']}, found "
                          f"{row['language_found']} ({row['language_score']:.2f})")
    rows = pl.read_ndjson(EVAL / HEADLINE_SPLITS["dev"])
    if calibrate:
        print("calibration (without prior): MIN_SCORE['headline'] x NAMES_ONLY_MIN_SCORE -> accuracy")
        default = (language.MIN_SCORE["headline"], language.NAMES_ONLY_MIN_SCORE)
        for names_only in (0.15, 0.5, 0.6, 0.7, 0.8, 0.9):
            cells = []
            for minimum in (0.0, 0.1, 0.13, 0.15, 0.17, 0.2, 0.25, 0.3):
                language.MIN_SCORE["headline"], language.NAMES_ONLY_MIN_SCORE = minimum, names_only
                cells.append(f"{minimum:.2f}:{_headline_accuracy(rows, False)['correct'].mean():.3f}")
            print(f"  names-only {names_only:.2f}  " + "  ".join(cells))
        language.MIN_SCORE["headline"], language.NAMES_ONLY_MIN_SCORE = default


def report_article_languages() -> None:
    rows = pl.read_ndjson(EVAL / "article_languages.jsonl")
    found = rows.join(identify_languages(rows["text"], "article"), on="text", suffix="_found")
    correct = found["language"] == found["language_found"]
    print(f"\n== Article language ({rows.height} bodies) ==\naccuracy {correct.mean():.3f} "
          f"(target 0.995), lowest score {found['language_score'].min():.2f}")
    by_model = identify_languages(rows["text"], "article", by_function_words=False)
    compared = found.join(by_model, on="text", suffix="_model")
    decided = compared["language_score"] != compared["language_score_model"]
    print(f"decided by their function words, without the model: {decided.sum()} of {rows.height}; "
          f"answers that differ from the model's: {(compared['language_found'] != compared['language_model']).sum()}")


def _eval_headlines() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    groups = pl.read_ndjson(EVAL / "near_duplicate_groups.jsonl")
    negatives = pl.read_ndjson(EVAL / "hard_negative_pairs.jsonl")
    texts = pl.concat([groups["text"], negatives["text_a"], negatives["text_b"]])
    headlines = (
        texts.unique(maintain_order=True).to_frame("text").with_row_index()
        .select(headline_id=pl.format("h{}", pl.col("index").cast(pl.String).str.zfill(4)), text="text")
    )
    return headlines, groups, negatives


def report_clusters() -> None:
    headlines, groups, negatives = _eval_headlines()
    started = time.perf_counter()
    clusters = cluster_headlines(headlines)
    elapsed = time.perf_counter() - started
    cluster_of = dict(clusters.join(headlines, on="headline_id").select("text", "cluster_id").iter_rows())
    gold = {
        frozenset(pair)
        for _, group in groups.group_by("group")
        for pair in itertools.combinations(group["text"].to_list(), 2)
    }
    members: dict[str, list[str]] = {}
    for text, cluster_id in cluster_of.items():
        members.setdefault(cluster_id, []).append(text)
    found = {frozenset(pair) for texts in members.values() for pair in itertools.combinations(texts, 2)}
    true_positives = len(gold & found)
    clustered_negatives = [
        (row["kind"], row["text_a"], row["text_b"])
        for row in negatives.iter_rows(named=True)
        if cluster_of.get(row["text_a"]) is not None
        and cluster_of.get(row["text_a"]) == cluster_of.get(row["text_b"])
    ]
    print(f"\n== Near-duplicate clusters ({headlines.height} headlines, {len(gold)} duplicate pairs, "
          f"{negatives.height} hard negative pairs; {elapsed * 1000:.0f} ms) ==")
    print(f"pairwise precision {true_positives / max(len(found), 1):.3f} (target 0.98), "
          f"recall {true_positives / len(gold):.3f} (target 0.95), "
          f"hard negatives clustered {len(clustered_negatives)} (target 0)")
    kind_of = dict(zip(groups["text"], groups["kind"]))
    for pair in sorted(gold - found, key=sorted):
        first, second = sorted(pair, key=lambda text: kind_of[text] != "base")
        print(f"    missed ({kind_of[first]} / {kind_of[second]}): {first!r} ~ {second!r}")
    for pair in found - gold:
        print(f"    wrongly clustered: {' ~ '.join(map(repr, sorted(pair)))}")
    for kind, first, second in clustered_negatives:
        print(f"    hard negative clustered ({kind}): {first!r} ~ {second!r}")


# Each split: a file of translation groups (`pair`, `language`, `text`, optional `days`; a row
# without `pair` is a distractor) and a file of same-entity pairs that are not translations.
# The test split is never tuned on: it is reported, nothing is calibrated on it.
TRANSLATION_SPLITS = {
    "dev": ("translations.jsonl", "non_translations.jsonl"),
    "test": ("translations_test.jsonl", "non_translations_test.jsonl"),
}
_FIRST_DAY = date(2026, 1, 1)


def _translation_split(groups_file: str, negatives_file: str) -> tuple[pl.DataFrame, set, set]:
    """The split's headlines (`headline_id`, `text`, `language`, `pair`, `first_seen`), its
    gold pairs and its non-translation pairs, as sorted pairs of headline ids."""
    groups = pl.read_ndjson(EVAL / groups_file)
    if "days" not in groups.columns:
        groups = groups.with_columns(days=pl.lit(0))
    negatives = pl.read_ndjson(EVAL / negatives_file)
    sides = [
        negatives.select(text=f"text_{side}", language=f"language_{side}", days=pl.lit(0) if side == "a" else "days")
        for side in ("a", "b")
    ]
    headlines = (
        pl.concat([groups.select("text", "language", "pair", pl.col("days").cast(pl.Int64)),
                   *(side.select("text", "language", pair=pl.lit(None, pl.String), days=pl.col("days").cast(pl.Int64))
                     for side in sides)])
        .unique("text", keep="first", maintain_order=True)
        .with_row_index()
        .select(
            headline_id=pl.format("h{}", pl.col("index").cast(pl.String).str.zfill(4)),
            text="text", language="language", pair="pair",
            first_seen=pl.lit(_FIRST_DAY) + pl.duration(days=pl.col("days").fill_null(0)),
        )
    )
    id_of = dict(zip(headlines["text"], headlines["headline_id"]))
    members = headlines.drop_nulls("pair").group_by("pair").agg("headline_id")["headline_id"].to_list()
    gold = {tuple(sorted(pair)) for ids in members for pair in itertools.combinations(ids, 2)}
    wrong = {tuple(sorted((id_of[a], id_of[b]))) for a, b in negatives.select("text_a", "text_b").iter_rows()}
    return headlines, gold, wrong


def _scored_pairs(found: pl.DataFrame, threshold: float) -> set:
    return set(found.filter(pl.col("score") >= threshold).select("headline_id_a", "headline_id_b").iter_rows())


def report_translations(calibrate: bool) -> None:
    threshold = translations.MIN_TRANSLATION_SCORE
    for split, files in TRANSLATION_SPLITS.items():
        headlines, gold, wrong = _translation_split(*files)
        language_of = dict(zip(headlines["headline_id"], headlines["language"]))
        scored = translation_pair_features(headlines)  # every pair with its score, thresholded here
        windowed = _scored_pairs(windowed_translation_candidates(headlines), threshold)
        print(f"\n== Translation candidates, {split} ({headlines.height} headlines, {len(gold)} translation "
              f"pairs, {len(wrong)} same-entity non-translation pairs) ==")
        for name, found in (("all at once", _scored_pairs(scored, threshold)), ("windowed by first seen", windowed)):
            correct = found & gold
            print(f"{name}, score >= {threshold}: precision {len(correct) / max(len(found), 1):.3f} (target 0.9), "
                  f"recall {len(correct) / len(gold):.3f} (target 0.6), {len(found)} pairs returned, "
                  f"{len(found & wrong)} of them non-translation pairs")
        found = _scored_pairs(scored, threshold)
        by_languages = lambda pairs: Counter("-".join(sorted((language_of[a], language_of[b]))) for a, b in pairs)
        gold_by, found_by, correct_by = by_languages(gold), by_languages(found), by_languages(found & gold)
        print("    " + ", ".join(
            f"{languages} P {correct_by[languages] / max(found_by[languages], 1):.2f} R {correct_by[languages] / gold_by[languages]:.2f}"
            for languages in sorted(gold_by)
        ))
        if calibrate and split == "dev":
            for sweep in (0.5, 0.6, 0.7, threshold, 0.8, 0.9):
                found = _scored_pairs(scored, sweep)
                print(f"  threshold {sweep:.3f}: precision {len(found & gold) / max(len(found), 1):.3f} "
                      f"recall {len(found & gold) / len(gold):.3f} ({len(found)} pairs)")


# Fitting the translation scorer: an L2-penalised logistic regression of "one story" on the
# features of every pair translation_candidates weighs, on the development split only.
_FIT_PENALTY = 1.0
_FIT_FOLDS = 5


def _logistic_fit(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Intercept and weights, by Newton's method (the intercept is not penalised)."""
    design = np.column_stack([np.ones(len(features)), features])
    penalty = _FIT_PENALTY * np.diag([0.0] + [1.0] * features.shape[1])
    weights = np.zeros(design.shape[1])
    for _ in range(50):
        probability = 1.0 / (1.0 + np.exp(-design @ weights))
        gradient = design.T @ (probability - labels) + penalty @ weights
        hessian = (design * (probability * (1.0 - probability))[:, None]).T @ design + penalty
        weights -= np.linalg.solve(hessian, gradient)
    return weights


def fit_translation_weights() -> None:
    headlines, gold, _ = _translation_split(*TRANSLATION_SPLITS["dev"])
    pairs = translation_pair_features(headlines)
    names = list(translations.PAIR_WEIGHTS)
    features = pairs.select(names).to_numpy()
    labels = np.array([pair in gold for pair in pairs.select("headline_id_a", "headline_id_b").iter_rows()], dtype=float)
    weights = _logistic_fit(features, labels)
    print(f"== Translation scorer fitted on the development split ({len(labels)} pairs weighed, "
          f"{int(labels.sum())} of its {len(gold)} translation pairs among them) ==")
    print(f"PAIR_INTERCEPT = {weights[0]:.3f}")
    for name, weight in zip(names, weights[1:]):
        print(f"    {name!r}: {weight:.3f},")
    # Cross-validated over story groups (a pair belongs to its first headline's group), so that
    # the threshold is chosen on scores of pairs the weights were not fitted on.
    group_of = dict(zip(headlines["headline_id"], headlines["pair"].fill_null("distractors")))
    groups = np.array([group_of[a] for a in pairs["headline_id_a"]])
    shuffled = np.random.default_rng(0).permutation(np.unique(groups))
    fold_of = {group: number % _FIT_FOLDS for number, group in enumerate(shuffled)}
    folds = np.array([fold_of[group] for group in groups])
    held_out = np.zeros(len(labels))
    for fold in range(_FIT_FOLDS):
        fitted = _logistic_fit(features[folds != fold], labels[folds != fold])
        held_out[folds == fold] = 1.0 / (1.0 + np.exp(-(fitted[0] + features[folds == fold] @ fitted[1:])))
    print(f"cross-validated over {_FIT_FOLDS} folds of story groups:")
    for threshold in (0.5, 0.6, 0.7, translations.MIN_TRANSLATION_SCORE, 0.8, 0.9):
        kept = held_out >= threshold
        print(f"  score >= {threshold:.3f}: precision {labels[kept].sum() / max(kept.sum(), 1):.3f}, "
              f"recall {labels[kept].sum() / len(gold):.3f}")


# --- Synthetic headlines -----------------------------------------------------------------------

_LANGUAGE_SHARES = {"fr": 0.35, "es": 0.25, "en": 0.15, "ar": 0.25}
_SUFFIXES = {
    "fr": ["tion", "ment", "eur", "ique", "ée", "age", "ais", "elle"],
    "es": ["ción", "mente", "dad", "ado", "ía", "ero", "ista", "ales"],
    "en": ["tion", "ing", "ness", "ed", "ly", "er", "ment", "ship"],
}
_SYLLABLES = ["ba", "ca", "de", "ma", "ri", "to", "lu", "ne", "sa", "vo", "gri", "tal", "mon",
              "per", "sol", "ran", "dis", "cor", "fa", "li", "pro", "ven", "stra", "mi", "no"]
_ARABIC_LETTERS = list("ابتثجحخدذرزسشصضطظعغفقكلمنهوي")
_NUMBER_WORDS = {"fr": ["deux", "trois", "quatre", "cinq"], "es": ["dos", "tres", "cuatro", "cinco"],
                 "en": ["two", "three", "four", "five"], "ar": ["اثنان", "ثلاثة", "أربعة", "خمسة"]}
_PREFIXES = {"fr": ["Maroc", "Espagne", "Tanger", "Gaza"], "es": ["Marruecos", "España", "Tánger", "Gaza"],
             "en": ["Morocco", "Spain", "Tangier", "Gaza"], "ar": ["المغرب", "إسبانيا", "طنجة", "غزة"]}
_INSERTED_WORDS = {"fr": "nouveau", "es": "nuevo", "en": "new", "ar": "جديد"}


def _real_vocabulary() -> dict[str, tuple[list[str], list[str]]]:
    """Per language: (function words, content words) seen in the evaluation texts."""
    texts = pl.concat([
        pl.read_ndjson(EVAL / "headline_languages.jsonl").select("text", "language"),
        pl.read_ndjson(EVAL / "article_languages.jsonl").select("text", "language"),
    ])
    vocabulary = {}
    for lang in _LANGUAGE_SHARES:
        counts = (
            texts.filter(pl.col("language") == lang)
            .select(word=pl.col("text").str.extract_all(r"[\p{L}\p{N}'’-]+")).explode("word")
            .filter(~pl.col("word").str.contains(r"\d"))["word"].value_counts(sort=True)
        )
        words = counts["word"].to_list()
        vocabulary[lang] = (words[:40], words[40:])  # the most frequent words are function words
    return vocabulary


def _pseudo_words(lang: str, count: int, rng: np.random.Generator) -> list[str]:
    """Made-up content words that look like the language, for a realistic vocabulary size."""
    if lang == "ar":
        lengths = rng.integers(3, 7, count)
        letters = rng.choice(_ARABIC_LETTERS, lengths.sum())
        words = ["".join(chunk) for chunk in np.split(letters, np.cumsum(lengths)[:-1])]
        return [("ال" + w) if i % 3 == 0 else w for i, w in enumerate(words)]
    syllables = rng.choice(_SYLLABLES, (count, 3))
    suffixes = rng.choice(_SUFFIXES[lang], count)
    lengths = rng.integers(1, 4, count)
    return ["".join(s[:n]) + x for s, n, x in zip(syllables, lengths, suffixes)]


def _zipf_mandelbrot(size: int, exponent: float = 1.0, offset: float = 30.0) -> np.ndarray:
    """Word frequencies of news text: the commonest content word ("Maroc") is about 1.5% of the
    content words, and most of the vocabulary is rare."""
    weights = 1.0 / (np.arange(size) + offset) ** exponent
    return weights / weights.sum()


def _numbers(count: int, rng: np.random.Generator) -> np.ndarray:
    small = rng.integers(2, 30, count).astype(str)
    large = rng.integers(30, 5000, count).astype(str)
    years = rng.integers(2015, 2031, count).astype(str)
    decimals = np.char.add(np.char.add(rng.integers(0, 30, count).astype(str), ","),
                           rng.integers(1, 10, count).astype(str))
    choice = rng.choice(4, count, p=[0.45, 0.3, 0.15, 0.1])
    return np.select([choice == 0, choice == 1, choice == 2], [small, large, years], decimals)


def _base_headlines(n: int, rng: np.random.Generator) -> tuple[pl.DataFrame, set[str]]:
    """`text`, `language`: headlines of 3 to 20 words from a Zipf vocabulary per language; and
    the made-up words, which are surely content words."""
    real = _real_vocabulary()
    frames, made_up = [], set()
    for lang, share in _LANGUAGE_SHARES.items():
        count = int(n * share) + 1
        function_words, real_content = real[lang]
        pseudo = _pseudo_words(lang, 80_000, rng)
        made_up.update(pseudo)
        content = np.array(real_content + pseudo, dtype=object)
        lengths = np.clip(np.round(rng.normal(9.5, 3.0, count)), 3, 20).astype(np.int64)
        total = lengths.sum()
        kind = rng.choice(3, total, p=[0.33, 0.05, 0.62])  # function word, number, content word
        ranks = rng.choice(len(content), total, p=_zipf_mandelbrot(len(content)))
        tokens = np.where(
            kind == 0, np.array(function_words, dtype=object)[rng.integers(0, len(function_words), total)],
            np.where(kind == 1, _numbers(total, rng).astype(object), content[ranks]),
        )
        frames.append(
            pl.DataFrame({"headline": np.repeat(np.arange(count), lengths), "token": tokens.astype(str)})
            .group_by("headline", maintain_order=True)
            .agg(pl.col("token").str.join(" "))
            .select(
                text=pl.col("token").str.slice(0, 1).str.to_uppercase() + pl.col("token").str.slice(1),
                language=pl.lit(lang),
            )
        )
    return pl.concat(frames).unique("text", maintain_order=True), made_up


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def _near_duplicate(text: str, lang: str, rng: np.random.Generator) -> str:
    """A variant of the kinds a near-duplicate may have."""
    words = text.split(" ")
    kind = rng.integers(0, 6)
    if kind == 0:
        return _strip_accents(text).lower()
    if kind == 1:
        return str(rng.choice(_PREFIXES[lang])) + " : " + text
    if kind == 2 and len(words) > 5:
        candidates = [i for i in range(1, len(words)) if not any(c.isdigit() for c in words[i])]
        if candidates:
            del words[int(rng.choice(candidates))]
            return " ".join(words)
    if kind == 3:
        words.insert(int(rng.integers(1, len(words))), _INSERTED_WORDS[lang])
        return " ".join(words)
    if kind == 4:
        for i, word in enumerate(words):
            if word in {"2", "3", "4", "5"}:
                words[i] = _NUMBER_WORDS[lang][int(word) - 2]
                return " ".join(words)
    return text.replace(" ", "  ", 1) + " ."


def _hard_negative(text: str, content_words: set[str], rng: np.random.Generator) -> str | None:
    """A number changed, or two content words swapped: must never cluster with the original."""
    words = text.split(" ")
    numbers = [i for i, w in enumerate(words) if w.isdigit()]
    if numbers:
        i = int(rng.choice(numbers))
        words[i] = str(int(words[i]) + int(rng.integers(1, 9)))
        return " ".join(words)
    lowered = [w.lower() for w in words]
    swappable = [
        i for i, w in enumerate(words)
        if w in content_words and len(w) > 4 and lowered.count(w.lower()) == 1
    ]
    if len(swappable) >= 3:
        i, j = rng.choice(swappable, 2, replace=False)
        words[i], words[j] = words[j], words[i]
        return " ".join(words)
    return None


def generate_synthetic(n: int, path: str, seed: int = 7) -> None:
    """Write n distinct headlines (`headline_id`, `text`, `language`) and the planted pairs."""
    rng = np.random.default_rng(seed)
    planted_share, negative_share = 0.05, 0.01
    base, made_up_words = _base_headlines(n + 1000, rng)
    n_originals = int(n * (1 - planted_share - negative_share))
    originals = base.head(n_originals).sample(int(n * (planted_share + negative_share)), seed=seed)
    planted, negatives = [], []
    for i, (text, lang) in enumerate(originals.iter_rows()):
        if i < int(n * planted_share):
            planted.append((text, _near_duplicate(text, lang, rng), lang))
        elif (other := _hard_negative(text, made_up_words, rng)) is not None:
            negatives.append((text, other, lang))
    pairs = pl.DataFrame(planted + negatives, schema=["text_a", "text_b", "language"], orient="row")
    pairs = pairs.with_columns(kind=pl.Series(["near_duplicate"] * len(planted) + ["negative"] * len(negatives)))
    # The originals first, then their variants, then more base headlines up to n distinct ones.
    headlines = (
        pl.concat([base.head(n_originals), pairs.select(text="text_b", language="language"),
                   base.slice(n_originals)])
        .unique("text", keep="first", maintain_order=True)
        .head(n)
        .with_row_index()
        .select(headline_id=pl.format("s{}", pl.col("index").cast(pl.String).str.zfill(8)), text="text",
                language="language")
    )
    headlines.write_parquet(f"{path}/headlines.parquet")
    pairs.filter(pl.col("text_a") != pl.col("text_b")).write_parquet(f"{path}/pairs.parquet")


def _generated(n: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Generate in a child process, so that the generator's memory is not this process's."""
    with tempfile.TemporaryDirectory() as path:
        child = multiprocessing.get_context("spawn").Process(target=generate_synthetic, args=(n, path))
        child.start()
        child.join()
        if child.exitcode != 0:
            raise RuntimeError("generating synthetic headlines failed")
        return pl.read_parquet(f"{path}/headlines.parquet"), pl.read_parquet(f"{path}/pairs.parquet")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def timed_pipeline(data: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    headlines, pairs = data
    n = headlines.height
    print(f"{n:,} distinct headlines; peak RSS before timing {_peak_rss_mb():,.0f} MB")
    started = time.perf_counter()
    languages = identify_languages(headlines["text"], "headline")
    tagged = time.perf_counter()
    clusters = cluster_headlines(headlines.select("headline_id", "text"))
    clustered = time.perf_counter()
    # A year of press: the headlines first seen over 364 days, paired two weeks at a time.
    dated = headlines.select("headline_id", "text").join(languages, on="text").with_columns(
        first_seen=pl.lit(date(2026, 1, 1)) + pl.duration(days=pl.int_range(pl.len()) % 364)
    )
    paired = windowed_translation_candidates(dated)
    done = time.perf_counter()
    print(f"language tagging {tagged - started:.1f} s ({n / (tagged - started):,.0f} headlines/s), "
          f"clustering {clustered - tagged:.1f} s ({n / (clustered - tagged):,.0f} headlines/s), "
          f"translation pairing {done - clustered:.1f} s ({paired.height:,} pairs), "
          f"total {done - started:.1f} s (target 90 s for 1,000,000)")
    print(f"peak RSS {_peak_rss_mb():,.0f} MB (target 2,048 MB); "
          f"{clusters['cluster_id'].n_unique():,} clusters over {clusters.height:,} headlines; "
          f"'und' {languages.filter(pl.col('language') == 'und').height / n:.1%}")
    cluster_of = headlines.join(clusters, on="headline_id").select("text", "cluster_id")
    checked = (
        pairs.join(cluster_of, left_on="text_a", right_on="text", how="left")
        .join(cluster_of, left_on="text_b", right_on="text", how="left", suffix="_b")
        .with_columns(together=(pl.col("cluster_id") == pl.col("cluster_id_b")).fill_null(False))
        .group_by("kind").agg(pairs=pl.len(), together=pl.col("together").sum())
        .sort("kind")
    )
    for kind, count, together in checked.iter_rows():
        print(f"planted {kind} pairs: {count:,}, clustered together {together:,} ({together / count:.1%})")


def scale_run(n: int) -> None:
    print(f"== Scale run: {n:,} synthetic headlines ==")
    timed_pipeline(_generated(n))


if __name__ == "__main__":
    main()
