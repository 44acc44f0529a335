"""Identity keys for text: two strings are the same headline or article when their keys match."""

import polars as pl

# Case folding beyond lowercasing, for the letters where they differ in our scripts.
_CASEFOLD_EXTRAS = {"ß": "ss", "ς": "σ", "ſ": "s"}


def identity_key(text: pl.Expr) -> pl.Expr:
    """Unicode NFKC, whitespace runs collapsed to one space and trimmed, case folded."""
    return (
        text.str.normalize("NFKC")
        # A lone space is left as it is: replacing it too took twice as long.
        .str.replace_all(r"\s{2,}|[\s--\x20]", " ")
        .str.strip_chars()
        .str.to_lowercase()
        .str.replace_many(list(_CASEFOLD_EXTRAS), list(_CASEFOLD_EXTRAS.values()))
    )
