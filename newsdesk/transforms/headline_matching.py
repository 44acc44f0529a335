"""How near-duplicate matching and translation pairing read a headline.

matching_key folds away what never makes two headlines tell different facts (case, accents,
harakat, Arabic letter variants, digit scripts, number words, punctuation, the words of a
death); tokenize_keys splits matching keys into words, each a number, a guard word (negation or
direction), a function word or a content word. The word lists and the gazetteer are data, in
headline_lexicon.toml next to this module, folded here the way matching_key folds text.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

import polars as pl

_LEXICON_FILE = Path(__file__).with_name("headline_lexicon.toml")
_DECIMAL_MARK = "\x01"  # stands for a decimal separator while punctuation is removed

# Letters and digits that matching must see as one; NFD then drops accents, harakat and the
# hamza marks of أ إ آ ؤ ئ.
_CHARACTER_FOLDS = {
    "ة": "ه",
    "ى": "ي",
    "ـ": "",  # tatweel
    "٫": ",",  # Arabic decimal separator
    "٬": ",",  # Arabic thousands separator
    "œ": "oe",
    "æ": "ae",
    "ß": "ss",
    **{chr(0x0660 + digit): str(digit) for digit in range(10)},  # Arabic-Indic digits
    **{chr(0x06F0 + digit): str(digit) for digit in range(10)},  # Eastern (Persian) digits
}


def matching_key(expr: pl.Expr) -> pl.Expr:
    """The text as near-duplicate matching sees it; idempotent.

    Lowercase, no accents, harakat or tatweel, Arabic letter variants folded (أإآ→ا, ة→ه,
    ى→ي), Eastern digits as 0-9, number words as digits, thousands separators dropped, the
    decimal separator as ".", other punctuation removed, words of a death as one word, single
    spaces between words.
    """
    lexicon = _lexicon()
    with_compound_numbers = folded_letters(expr).str.replace_many(
        lexicon.compound_numbers, leftmost=True
    )
    words = (
        _join_digit_groups(with_compound_numbers, separators=".,")
        .str.replace_all(r"(\d)[.,](\d)", "${1}" + _DECIMAL_MARK + "${2}")
        .str.replace_all(r"[^\p{L}\p{N}" + _DECIMAL_MARK + r"]+", " ")
        .str.replace_all(_DECIMAL_MARK, ".", literal=True)
        .str.strip_chars()
        .str.split(" ")
        .list.eval(pl.element().replace(lexicon.word_replacements))
        .list.join(" ")
    )
    # Space-separated thousands ("12 450") are joined last, after number words became digits.
    return _join_digit_groups(words, separators=" ")


def folded_letters(expr: pl.Expr) -> pl.Expr:
    """Lowercase, no accents or harakat, the letters and digits of _CHARACTER_FOLDS folded."""
    return (
        expr.str.normalize("NFKC")
        .str.to_lowercase()
        .str.replace_many(_CHARACTER_FOLDS)
        .str.normalize("NFD")
        .str.replace_all(r"\p{Mn}", "")
    )


def _join_digit_groups(expr: pl.Expr, separators: str) -> pl.Expr:
    """'1 500 000' or '1.500' → '1500000', '1500': groups of three digits after up to three."""
    group = f"(?:[{separators}](\\d{{3}}))"
    return expr.str.replace_all(rf"\b(\d{{1,3}}){group}{group}?{group}?\b", "${1}${2}${3}${4}")



def tokenize_keys(frame: pl.DataFrame, id_column: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The tokens of each matching key (column `key`) and the vocabulary they use.

    Tokens: `id_column`, `position`, `token_hash` and the kinds of word (`is_number`, `is_guard`,
    `is_content`). Vocabulary: `token_hash`, `token`. Each distinct word is classified once, and
    tokens carry its hash rather than its text, which keeps a million headlines small.
    """
    exploded = (
        frame.select(id_column, token=pl.col("key").str.split(" "))
        .with_columns(position=pl.int_ranges(pl.col("token").list.len(), dtype=pl.UInt32))
        .explode("token", "position")
        .filter(pl.col("token") != "")
        .with_columns(token_hash=pl.col("token").hash(seed=0))
    )
    vocabulary = _word_kinds(exploded.select("token_hash", "token").unique("token_hash"))
    tokens = exploded.select(id_column, "position", "token_hash").join(
        vocabulary.drop("token"), on="token_hash"
    )
    return tokens, vocabulary.select("token_hash", "token")


def _word_kinds(words: pl.DataFrame) -> pl.DataFrame:
    lexicon = _lexicon()
    return words.with_columns(
        is_number=pl.col("token").str.contains(r"^\d+(?:\.\d+)?$"),
        is_guard=pl.col("token").is_in(lexicon.guard_words),
    ).with_columns(
        is_content=~pl.col("is_number")
        & ~pl.col("is_guard")
        & ~pl.col("token").is_in(lexicon.function_words)
        & (pl.col("token").str.len_chars() > 1)
    )


class _Lexicon:
    """The word lists of headline_lexicon.toml, folded the way matching_key folds text."""

    def __init__(self) -> None:
        written = _written_lexicon()
        self.compound_numbers = _fold_keys(_compound_number_phrases(written))
        self.word_replacements = {
            **_fold_keys(_single_number_words(written)),
            **{
                folded: canonical
                for canonical, spellings in written["casualty_words"].items()
                for folded in _fold(spellings.split())
            },
        }
        self.guard_words = sorted(set(_fold(_all_words(written["guard_words"]))))
        self.function_words = sorted(set(_fold(_all_words(written["function_words"]))))


@cache
def _lexicon() -> _Lexicon:
    return _Lexicon()


@cache
def _written_lexicon() -> dict:
    """headline_lexicon.toml as written."""
    return tomllib.loads(_LEXICON_FILE.read_text(encoding="utf-8"))


def gazetteer_entities() -> list[list[str]]:
    """The gazetteer of headline_lexicon.toml: the spellings of each entity, its name first."""
    text = _written_lexicon()["gazetteer"]["entities"]
    return [line.split("|") for line in text.replace("|\n", "|").split("\n") if line]


def concept_spellings() -> dict[str, str]:
    """Each spelling of the concept lexicon (headline_lexicon.toml), as written, → its concept."""
    written = _written_lexicon()["concepts"]
    return {spelling: concept for concept, spellings in written.items() for spelling in spellings.split()}


def directed_concepts() -> list[list[str]]:
    """The actions whose two parties cannot swap (headline_lexicon.toml), each as its concepts."""
    return [action.split() for action in _written_lexicon()["directed"].values()]


def opposite_concepts() -> list[tuple[str, str]]:
    """The pairs of concepts that state opposite news about one subject (headline_lexicon.toml)."""
    return [tuple(pair.split()) for pair in _written_lexicon()["opposites"].values()]


def number_magnitudes() -> dict[str, float]:
    """The words that scale the number before them (headline_lexicon.toml) by their factor,
    folded the way matching_key writes them."""
    written = _written_lexicon()["magnitudes"]
    return {folded: float(factor) for factor, spellings in written.items() for folded in _fold(spellings.split())}


def distinctive_function_words() -> dict[str, list[str]]:
    """Each language's function words (headline_lexicon.toml) that no other language lists,
    lowercased as written: "los" is Spanish, "the" English, while "la", "de" and "en" are
    French and Spanish alike and tell neither."""
    lists = {language: set(words.lower().split()) for language, words in _written_lexicon()["function_words"].items()}
    return {
        language: sorted(words - set().union(*(other for name, other in lists.items() if name != language)))
        for language, words in lists.items()
    }


def function_words_elsewhere() -> dict[str, list[str]]:
    """Frequent function words of languages near the editions' ones (Portuguese, Italian,
    Catalan, German, Dutch) that no edition's list holds, by language."""
    return {language: words.lower().split() for language, words in _written_lexicon()["function_words_elsewhere"].items()}


def transliteration_tables() -> dict[str, dict[str, str]]:
    """For "latin" and "arabic": letters or letter groups → consonant sound ('' for a vowel),
    groups of two letters first (headline_lexicon.toml)."""
    tables = {}
    for script, written in _written_lexicon()["transliteration"].items():
        pairs = [entry.split("=") for entry in written.split()]
        tables[script] = dict(sorted(pairs, key=lambda pair: -len(pair[0])))
    return tables


def _all_words(by_group: dict[str, str]) -> list[str]:
    return [word for spellings in by_group.values() for word in spellings.split()]


def _fold(words: list[str]) -> list[str]:
    """Letters folded like matching_key's first steps, for lexicon entries (no word mapping)."""
    return (
        pl.Series(words, dtype=pl.String)
        .to_frame("w")
        .select(folded_letters(pl.col("w")))
        .to_series()
        .to_list()
    )


def _fold_keys(mapping: dict[str, int]) -> dict[str, str]:
    # Longest first, so that "quatre-vingt-dix" wins over "quatre-vingt" where both start.
    ordered = sorted(mapping.items(), key=lambda item: -len(item[0]))
    return dict(zip(_fold([word for word, _ in ordered]), [str(n) for _, n in ordered]))


def _single_number_words(written: dict) -> dict[str, int]:
    words = {}
    for spellings in written["number_words"].values():
        for value, word in enumerate(spellings.split(), start=2):
            if word != "-":  # a gap keeps the values aligned
                words[word] = value
    for tens in written["tens"].values():
        for value, word in enumerate(tens, start=2):
            words[word] = value * 10
    return {**words, **written["more_number_words"]}


def _compound_number_phrases(written: dict) -> dict[str, int]:
    """Numbers written in several words: vingt-deux, vingt et un, treinta y dos, twenty-two."""
    units = {lang: spellings.split()[:8] for lang, spellings in written["number_words"].items()}
    phrases = dict(written["french_irregular_numbers"])
    for lang, joiner in (("fr", "-"), ("es", " y "), ("en", "-")):
        for tens_value, tens_word in enumerate(written["tens"][lang], start=2):
            if lang == "es" and tens_value == 2:
                continue  # veintidós and the like are single words
            for unit_value, unit_word in enumerate(units[lang], start=2):
                phrases[f"{tens_word}{joiner}{unit_word}"] = tens_value * 10 + unit_value
        one = {"fr": " et un", "es": " y uno", "en": "-one"}[lang]
        for tens_value, tens_word in enumerate(written["tens"][lang], start=2):
            phrases[f"{tens_word}{one}"] = tens_value * 10 + 1
    return phrases
