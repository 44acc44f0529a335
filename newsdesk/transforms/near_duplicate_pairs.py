"""Pairs of near-duplicate keys: steps 3 to 5 of cluster_headlines (see near_duplicates).

Both sides of a pair are distinct matching keys, numbered by `key_id`; `n_content` holds each
key's number of distinct content words. The containment test (_similar_enough) decides which
pairs are near-duplicates; candidate_pairs proposes every pair it can accept, sketch_filter drops
the pairs that surely fail it, and exact_filter applies it and the order guard exactly.
"""

from __future__ import annotations

import numpy as np
import polars as pl

# A lookup into a block (a pair of words and a signature) held by more keys than this is
# skipped: comparing thousands of keys made of the same everyday words costs more than it finds.
MAX_LOOKUP_BLOCK = 2_000

# Containment test: the headline with fewer content words must have all of them in the other,
# which may add at most two for every three they share (a prefix such as "Éliminatoires du
# Mondial :", a trailing "خلال الفصل الثالث"), and they must share three content words unless
# they differ only in function words.
MIN_SHARED_WORDS = 3

_SKETCH_BITS = 128


def candidate_pairs(content: pl.DataFrame, n_content: np.ndarray) -> pl.DataFrame:
    """Pairs of keys (key_a < key_b) of the same signature where the two rarest content words of
    one are among the rarest words of the other (prefix filtering): every pair that the
    containment test can accept, and few others.

    Words are ranked by how many keys of the signature hold them. If key x is contained in key y
    with e extra words, only those extras can outrank x's two rarest words in y, so both are
    among y's e + 2 rarest. Each key y indexes the pairs of its `max_extra(|y|) + 2` rarest
    words, and each key x looks up the pair of its two rarest: a pair of words is rare even when
    both words are common, so the lookups stay small. A key of a single content word can only
    match a key with that same single word, and is looked up by it.
    """
    ranked = (
        content.with_columns(keys_with_word=pl.len().over("signature", "token_hash"))
        .sort("key_id", "keys_with_word", "token_hash")
        .with_columns(rank=pl.int_range(pl.len(), dtype=pl.UInt32).over("key_id"))
    )
    prefix_length = (_max_extra_words(n_content.max(initial=0)) + 2)[n_content]
    prefix = ranked.filter(
        pl.col("rank") < pl.Series(prefix_length[ranked["key_id"].to_numpy()])
    ).select("key_id", "signature", "token_hash")
    index = _word_pairs(prefix, longest_prefix=int(prefix_length.max(initial=0)))
    lookups = _word_pairs(ranked.filter(pl.col("rank") < 2), longest_prefix=2)
    single_word = prefix.filter(pl.Series(n_content[prefix["key_id"].to_numpy()] == 1)).select(
        "key_id", block=pl.col("signature").xor(pl.col("token_hash"))
    )
    # Only the index entries some key looks up are joined: the semi-join hashes the lookups,
    # far fewer than the index.
    looked_up = index.join(lookups, on="block", how="semi")
    looked_up = looked_up.filter(pl.len().over("block") <= MAX_LOOKUP_BLOCK)
    matches = pl.concat(
        [
            lookups.join(looked_up, on="block", suffix="_other"),
            single_word.join(single_word, on="block", suffix="_other"),
        ]
    )
    return (
        matches.filter(pl.col("key_id") != pl.col("key_id_other"))
        .select(
            key_a=pl.min_horizontal("key_id", "key_id_other"),
            key_b=pl.max_horizontal("key_id", "key_id_other"),
        )
        .unique()
    )


def _word_pairs(prefix: pl.DataFrame, longest_prefix: int) -> pl.DataFrame:
    """`key_id`, `block`: one row per pair of words in each key's prefix (rows sorted by key),
    the block being the hash of the pair and the key's signature. XOR ignores the order of the
    two words, and a chance collision only adds a candidate, which verification drops. Built
    one distance at a time, which never holds more rows than the result."""
    pairs = []
    for distance in range(1, max(longest_prefix, 2)):
        pairs.append(
            prefix.select(
                "key_id",
                block=pl.col("signature")
                .xor(pl.col("token_hash"))
                .xor(pl.col("token_hash").shift(-distance)),
                same_key=pl.col("key_id") == pl.col("key_id").shift(-distance),
            )
            .filter("same_key")
            .drop("same_key")
        )
    return pl.concat(pairs)


def _max_extra_words(largest: int) -> np.ndarray:
    """For each number n of content words, the most extra words a key of n words can have over
    a key it contains, by the containment test."""
    sizes = np.arange(largest + 1)
    return np.array(
        [max(e for e in range(n + 1) if _similar_enough(0, e, n - e) or e == 0) for n in sizes]
    )


def _similar_enough(fewer_extra, more_extra, shared):
    """The containment test, on exact counts or on bounds (it only grows with `shared` and only
    shrinks with the extras, so bounds that over-count shared words keep every true pair).

    `fewer_extra`/`more_extra`: content words only in one headline, for the side with fewer and
    the side with more of them; `shared`: content words in both. Works on numpy and polars.
    """
    function_words_only = (more_extra == 0) & (shared >= 1)
    contained = (
        (fewer_extra == 0) & (shared >= MIN_SHARED_WORDS) & (more_extra <= 2 * shared // 3)
    )
    return function_words_only | contained


def sketch_filter(
    candidates: pl.DataFrame, content: pl.DataFrame, n_content: np.ndarray
) -> pl.DataFrame:
    """Drop candidates whose 128-bit content sketches already fail the containment test."""
    sketches = np.zeros((len(n_content), _SKETCH_BITS // 64), dtype=np.uint64)
    key_ids = content["key_id"].to_numpy()
    bits = (content["token_hash"].to_numpy() % _SKETCH_BITS).astype(np.uint64)
    for word in range(sketches.shape[1]):
        in_word = (bits // 64) == word
        np.bitwise_or.at(
            sketches[:, word], key_ids[in_word], np.left_shift(np.uint64(1), bits[in_word] % 64)
        )
    a, b = candidates["key_a"].to_numpy(), candidates["key_b"].to_numpy()
    # A word of one key whose bit is unset in the other is surely not in the other; words that
    # share a bit by chance hide, so these counts never exceed the true ones.
    only_a = np.bitwise_count(sketches[a] & ~sketches[b]).sum(axis=1).astype(np.int64)
    only_b = np.bitwise_count(sketches[b] & ~sketches[a]).sum(axis=1).astype(np.int64)
    shared_bound = np.minimum(n_content[a] - only_a, n_content[b] - only_b)
    keep = _similar_enough(np.minimum(only_a, only_b), np.maximum(only_a, only_b), shared_bound)
    return candidates.filter(pl.Series(keep))


def exact_filter(pairs: pl.DataFrame, tokens: pl.DataFrame, n_content: np.ndarray) -> pl.DataFrame:
    """Exact containment and order guard, vectorised over all pairs at once."""
    in_pairs = pl.concat([pairs["key_a"], pairs["key_b"]]).unique()
    ordered = (
        tokens.filter(
            (pl.col("is_content") | pl.col("is_number") | pl.col("is_guard"))
            & pl.col("key_id").is_in(in_pairs.implode())
        )
        .group_by("key_id", "token_hash")
        .agg(pl.col("position").min(), pl.col("is_content").first(), repeats=pl.len())
    )
    pairs = pairs.with_row_index("pair")
    side_a = pairs.join(ordered, left_on="key_a", right_on="key_id")
    side_b = pairs.select("pair", "key_b").join(ordered, left_on="key_b", right_on="key_id")
    shared = side_a.join(side_b, on=["pair", "token_hash"], suffix="_b")
    counts = shared.group_by("pair").agg(shared=pl.col("is_content").sum().cast(pl.Int64))
    order = _order_guard(shared.filter((pl.col("repeats") == 1) & (pl.col("repeats_b") == 1)))
    checked = (
        pairs.join(counts, on="pair", how="left")
        .join(order, on="pair", how="left")
        .with_columns(pl.col("shared").fill_null(0), pl.col("order_kept").fill_null(True))
    )
    shared_words = checked["shared"].to_numpy()
    extra_a = n_content[checked["key_a"].to_numpy()] - shared_words
    extra_b = n_content[checked["key_b"].to_numpy()] - shared_words
    similar = _similar_enough(np.minimum(extra_a, extra_b), np.maximum(extra_a, extra_b), shared_words)
    return checked.filter(pl.Series(similar) & checked["order_kept"]).select("key_a", "key_b")


def _order_guard(shared: pl.DataFrame) -> pl.DataFrame:
    """Per pair: do the shared words (content, numbers, guards) come in the same order?

    Read in the order of headline b, the positions of the shared words in headline a must rise,
    except for one drop when a block moved from one end to the other ("Tétouan : arrestation ..."
    / "Arrestation ... à Tétouan"): then the sequence is two rising runs and ends below where it
    started. Anything else is a reordering, as when roles are swapped.
    """
    return (
        shared.sort("pair", "position_b")
        .group_by("pair", maintain_order=True)
        .agg(
            drops=(pl.col("position").diff() < 0).sum(),
            first=pl.col("position").first(),
            last=pl.col("position").last(),
            n=pl.len(),
        )
        .select(
            "pair",
            order_kept=(pl.col("drops") == 0)
            | ((pl.col("drops") == 1) & (pl.col("last") < pl.col("first")) & (pl.col("n") >= 3)),
        )
    )
