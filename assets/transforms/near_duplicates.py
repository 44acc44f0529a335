"""Near-duplicate headlines (clusters) and the same story told in two languages (translations).

A near-duplicate differs from another headline only in case, accents, punctuation or spacing,
writes a number in words or digits, adds, drops or moves a prefix, or inserts or removes words.
Two headlines are never near-duplicates when their numbers differ ("5 morts" / "7 morts"), when
their roles are swapped ("Wydad bat Raja" / "Raja bat Wydad"), when one replaces a word of the
other ("... président sénégalais" / "... président ivoirien"), or when one adds a negation or a
direction word ("participera" / "ne participera pas", "clôture" / "clôture en hausse").

cluster_headlines, built for a million headlines in well under a minute on two cores:
1. matching_key folds the trivial differences away; headlines with equal keys are duplicates.
2. Each distinct key is split into tokens: content words, numbers, guard words (negations and
   directions) and function words. Numbers and guard words form the key's signature.
3. Candidates by prefix filtering: one side of a near-duplicate pair holds every content word
   of the other, so the two rarest words of the contained side are among the few rarest words
   of the other. Keys look up the pair of their two rarest words in an index of the word pairs
   of each key's rarest words, within the same signature.
4. A 128-bit sketch of each key's content words drops, with numpy popcounts, candidates that
   surely fail the containment test; the sketch can only under-count differences, so no true
   pair is lost.
5. The survivors are verified exactly in polars: containment, enough shared words, and the order
   guard (shared words in the same order, up to moving one block from one end to the other).
6. Connected components of the verified pairs give the clusters.

translation_candidates is meant for a window of headlines (a day, a week: up to about 100,000
headlines in a few seconds); its pairing through shared evidence grows faster than the input.
"""

from __future__ import annotations

from functools import cache

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

_DECIMAL_MARK = "\x01"  # stands for a decimal separator while punctuation is removed
_SKETCH_BITS = 128

# --- Lexicons, written as in the text; folded through matching_key before use. ------------------

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

# Number words from 2 up. "un", "una", "one" are articles as often as numbers, so they stay words;
# "once" (11 in Spanish) is an English adverb, "cent" is English currency and "per cent".
_NUMBER_WORDS = {
    "fr": "deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze seize",
    "es": "dos tres cuatro cinco seis siete ocho nueve diez - doce trece catorce quince dieciséis",
    "en": "two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen",
    "ar": "اثنان ثلاثة أربعة خمسة ستة سبعة ثمانية تسعة عشرة",
}
_MORE_NUMBER_WORDS = {
    "diecisiete": 17, "dieciocho": 18, "diecinueve": 19, "seventeen": 17, "eighteen": 18, "nineteen": 19, "veintiuno": 21,
    "veintidós": 22, "veintitrés": 23, "veinticuatro": 24, "veinticinco": 25, "veintiséis": 26,
    "veintisiete": 27, "veintiocho": 28, "veintinueve": 29, "اثنين": 2, "ثلاث": 3, "أربع": 4,
    "خمس": 5, "ست": 6, "سبع": 7, "ثماني": 8, "تسع": 9, "عشر": 10, "عشرون": 20, "عشرين": 20,
    "ثلاثون": 30, "ثلاثين": 30, "أربعون": 40, "أربعين": 40, "خمسون": 50, "خمسين": 50,
}
_TENS = {
    "fr": ["vingt", "trente", "quarante", "cinquante", "soixante"],
    "es": ["veinte", "treinta", "cuarenta", "cincuenta", "sesenta", "setenta", "ochenta", "noventa"],
    "en": ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"],
}
_FRENCH_IRREGULAR_NUMBERS = {
    "dix-sept": 17, "dix-huit": 18, "dix-neuf": 19, "soixante-dix": 70, "quatre-vingts": 80,
    "quatre-vingt": 80, "quatre-vingt-dix": 90,
}

# The words for a death are interchangeable in a headline ("5 jeunes périssent" / "5 jeunes morts").
_CASUALTY_WORDS = {
    "mort": "morts tués tué périssent périt meurent meurt décès décédés",
    "muerto": "muertos mueren muere fallecen fallece fallecidos fallecido",
    "dead": "die dies died killed",
}

# Negations and directions: a headline that adds or swaps one tells a different fact.
_GUARD_WORDS = (
    "ne n pas non jamais no nunca not never لا لن لم ليس "
    "hausse baisse augmente recule progresse chute grimpe rouge vert gagne perd adopte rejette "
    "approuve confirme dément accélère ralentit apprécie déprécie "
    "sube suben baja bajan alza rojo rojos verde verdes aprueba rechaza confirma desmiente gana "
    "pierde aprecia deprecia acelera modera "
    "up down higher lower rise rises fall falls climb climbs drop drops gain gains lose loses red "
    "green approve approves reject rejects confirm confirms deny denies slows accelerates "
    "ارتفاع انخفاض يرتفع يتراجع تراجع ينخفض تؤكد تنفي يؤكد ينفي ترفض يرفض"
)

# Function words: they may differ between near-duplicates and carry no evidence of a story.
_FUNCTION_WORDS = (
    # French
    "le la les l un une des du de d au aux à a et ou en dans sur sous par pour avec sans chez vers "
    "entre ce cet cette ces son sa ses leur leurs se s qui que qu dont il elle ils elles on y est "
    "sont été être ont plus moins après avant depuis pendant selon contre lors ainsi aussi mais "
    "donc c j m t ici "
    # Spanish
    "el los las lo unos unas del al y o e u con por para sin sobre tras ante hacia hasta desde "
    "según su sus es son fue ser ha han más muy le les este esta estos estas ese esa "
    # English
    "the an of to in on at for with by from and or as is are was were be been has have had its it "
    "this that these those their his her after over into than out about amid will would "
    # Arabic
    "في من إلى على عن مع و ب ل ف أن إن ال هذا هذه ذلك التي الذي الذين بعد قبل خلال حول عند أو ثم "
    "كما بين ضد منذ حتى لدى أمام"
)

# Names of places, people and institutions in the languages of the editions, for pairing
# translations: each line is one entity, its spellings separated by "|" (a line ending in "|"
# goes on). Spellings that are everyday words elsewhere (UN, EU, Casa, Reino) are left out.
_GAZETTEER = """
Maroc|Marruecos|Morocco|المغرب|marocain|marocains|marocaine|marocaines|marroquí|marroquíes|
Moroccan|Moroccans|مغربي|مغربية|المغربية|مغاربة
Algérie|Argelia|Algeria|الجزائر|algérien|algérienne|argelino|argelina|Algerian|الجزائري|الجزائرية
Tunisie|Túnez|Tunisia|تونس|tunisien|tunecino|Tunisian|التونسي|التونسية
Libye|Libia|Libya|ليبيا|libyen|libio|Libyan|الليبي
Mauritanie|Mauritania|موريتانيا|mauritanien|mauritano|Mauritanian|الموريتاني
Égypte|Egipto|Egypt|مصر|égyptien|egipcio|Egyptian|المصري|المصرية
Espagne|España|Spain|إسبانيا|espagnol|espagnole|español|española|Spanish|الإسباني|الإسبانية
France|Francia|فرنسا|français|française|francés|francesa|French|الفرنسي|الفرنسية
Portugal|البرتغال|portugais|portugués|Portuguese
Sénégal|Senegal|السنغال|sénégalais|senegalés|Senegalese
Nigeria|Nigéria|نيجيريا
Zambie|Zambia|زامبيا
Qatar|Catar|قطر
Arabie saoudite|Arabia Saudí|Arabia Saudita|Saudi Arabia|السعودية
Émirats|Emiratos|Emirates|UAE|الإمارات
Iran|Irán|إيران
Turquie|Turquía|Turkey|Türkiye|تركيا|turc|turca|Turkish|التركي
Syrie|Siria|Syria|سوريا
Irak|Iraq|العراق
Jordanie|Jordania|Jordan|الأردن
Soudan|Sudán|Sudan|السودان
Yémen|Yemen|اليمن
Palestine|Palestina|فلسطين|palestinien|palestino|Palestinian|الفلسطيني
États-Unis|Estados Unidos|United States|USA|الولايات المتحدة|américain|estadounidense|American
Russie|Rusia|Russia|روسيا
Chine|China|الصين
Allemagne|Alemania|Germany|ألمانيا
Italie|Italia|Italy|إيطاليا
Royaume-Uni|Reino Unido|United Kingdom|Britain|بريطانيا
Belgique|Bélgica|Belgium|بلجيكا
Pays-Bas|Países Bajos|Netherlands|هولندا
Mali|مالي
Niger|النيجر
Côte d'Ivoire|Costa de Marfil|Ivory Coast|كوت ديفوار|ivoirien
Israël|Israel|إسرائيل|israélien|israelí|Israeli|الإسرائيلي|إسرائيلي
Liban|Líbano|Lebanon|لبنان
Gaza|غزة
Union européenne|UE|Unión Europea|European Union|الاتحاد الأوروبي
Nations unies|ONU|Naciones Unidas|United Nations|الأمم المتحدة
Casablanca|الدار البيضاء|البيضاء
Rabat|الرباط
Tanger|Tánger|Tangier|Tangiers|طنجة
Tétouan|Tetuán|Tetouan|تطوان
Fès|Fez|Fes|فاس
Marrakech|Marrakesh|Marraquech|مراكش
Agadir|أكادير
Oujda|Uchda|وجدة
Nador|الناظور
Al Hoceima|Alhucemas|الحسيمة
Dakhla|Dajla|الداخلة
Laâyoune|El Aaiún|Laayoune|العيون
Safi|آسفي
Ceuta|Sebta|سبتة
Melilla|مليلية
Ksar El Kébir|Ksar el Kebir|Alcazarquivir|القصر الكبير
Catalogne|Cataluña|Catalonia|كتالونيا
Madrid|مدريد
Barcelone|Barcelona|برشلونة
Séville|Sevilla|Seville|إشبيلية
Grenade|Granada|غرناطة
Bruxelles|Bruselas|Brussels|بروكسل
Washington|واشنطن
Tripoli|Trípoli|طرابلس
Nouakchott|Nuakchot|نواكشوط
Meknès|Mequinez|Meknes|مكناس
Kénitra|Kenitra|القنيطرة
Essaouira|Esauira|الصويرة
Tanger Med|Tánger Med|طنجة المتوسط
Paris|París|باريس
Alger|Argel|Algiers
Le Caire|El Cairo|Cairo|القاهرة
Almería|Almeria|ألميريا
Cadix|Cádiz|Cadiz|قادس
Sahara|Sáhara|الصحراء
Atlas|الأطلس
Bank Al-Maghrib|BAM|Banco de Marruecos|بنك المغرب
OCP|Office chérifien des phosphates|المكتب الشريف للفوسفاط
Royal Air Maroc|RAM|الخطوط الملكية المغربية
ONCF|المكتب الوطني للسكك الحديدية
HCP|Haut-Commissariat au Plan|المندوبية السامية للتخطيط
FMI|IMF|صندوق النقد الدولي
Minurso|المينورسو
UNRWA|الأونروا
Wydad|الوداد
Raja|الرجاء
Real Madrid|ريال مدريد
Mohammed VI|Mohamed VI|محمد السادس
Akhannouch|أخنوش
Hakimi|حكيمي
Regragui|الركراكي
Ziyech|زياش
Sánchez|Sanchez|سانشيز
Tebboune|تبون
Kaïs Saïed|Kais Saied|Saïed|Saied|قيس سعيد
Bourita|بوريطة
"""

# Arabic glues "and" and prepositions to the next word (بتطوان = ب + تطوان, للمغرب = ل + المغرب);
# they are stripped to find names.
_ARABIC_PROCLITIC_LAM_AL = (r"^(?:و|ف)?لل(\p{Arabic}{2,})$", "ال${1}")
_ARABIC_PROCLITICS = (r"^(?:و|ف)?(?:ب|ل|ك)?(\p{Arabic}{3,})$", "${1}")


def matching_key(expr: pl.Expr) -> pl.Expr:
    """The text as near-duplicate matching sees it; idempotent.

    Lowercase, no accents, harakat or tatweel, Arabic letter variants folded (أإآ→ا, ة→ه,
    ى→ي), Eastern digits as 0-9, number words as digits, thousands separators dropped, the
    decimal separator as ".", other punctuation removed, words of a death as one word, single
    spaces between words.
    """
    folded = (
        expr.str.normalize("NFKC")
        .str.to_lowercase()
        .str.replace_many(_CHARACTER_FOLDS)
        .str.normalize("NFD")
        .str.replace_all(r"\p{Mn}", "")
    )
    lexicon = _lexicon()
    with_compound_numbers = folded.str.replace_many(
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


def _join_digit_groups(expr: pl.Expr, separators: str) -> pl.Expr:
    """'1 500 000' or '1.500' → '1500000', '1500': groups of three digits after up to three."""
    group = f"(?:[{separators}](\\d{{3}}))"
    return expr.str.replace_all(rf"\b(\d{{1,3}}){group}{group}?{group}?\b", "${1}${2}${3}${4}")


class _Lexicon:
    """The word lists above, folded the way matching_key folds text."""

    def __init__(self) -> None:
        self.compound_numbers = _fold_keys(_compound_number_phrases())
        self.word_replacements = {
            **_fold_keys(_single_number_words()),
            **{
                folded: canonical
                for canonical, spellings in _CASUALTY_WORDS.items()
                for folded in _fold(spellings.split())
            },
        }
        self.guard_words = sorted(set(_fold(_GUARD_WORDS.split())))
        self.function_words = sorted(set(_fold(_FUNCTION_WORDS.split())))


@cache
def _lexicon() -> _Lexicon:
    return _Lexicon()


def _fold(words: list[str]) -> list[str]:
    """Letters folded like matching_key's first steps, for lexicon entries (no word mapping)."""
    return (
        pl.Series(words, dtype=pl.String)
        .to_frame("w")
        .select(
            pl.col("w")
            .str.normalize("NFKC")
            .str.to_lowercase()
            .str.replace_many(_CHARACTER_FOLDS)
            .str.normalize("NFD")
            .str.replace_all(r"\p{Mn}", "")
        )
        .to_series()
        .to_list()
    )


def _fold_keys(mapping: dict[str, int]) -> dict[str, str]:
    # Longest first, so that "quatre-vingt-dix" wins over "quatre-vingt" where both start.
    ordered = sorted(mapping.items(), key=lambda item: -len(item[0]))
    return dict(zip(_fold([word for word, _ in ordered]), [str(n) for _, n in ordered]))


def _single_number_words() -> dict[str, int]:
    words = {}
    for spellings in _NUMBER_WORDS.values():
        for value, word in enumerate(spellings.split(), start=2):
            if word != "-":  # a gap keeps the values aligned
                words[word] = value
    for tens in _TENS.values():
        for value, word in enumerate(tens, start=2):
            words[word] = value * 10
    return {**words, **_MORE_NUMBER_WORDS}


def _compound_number_phrases() -> dict[str, int]:
    """Numbers written in several words: vingt-deux, vingt et un, treinta y dos, twenty-two."""
    units = {lang: spellings.split()[:8] for lang, spellings in _NUMBER_WORDS.items()}
    phrases = dict(_FRENCH_IRREGULAR_NUMBERS)
    for lang, joiner in (("fr", "-"), ("es", " y "), ("en", "-")):
        for tens_value, tens_word in enumerate(_TENS[lang], start=2):
            if lang == "es" and tens_value == 2:
                continue  # veintidós and the like are single words
            for unit_value, unit_word in enumerate(units[lang], start=2):
                phrases[f"{tens_word}{joiner}{unit_word}"] = tens_value * 10 + unit_value
        one = {"fr": " et un", "es": " y uno", "en": "-one"}[lang]
        for tens_value, tens_word in enumerate(_TENS[lang], start=2):
            phrases[f"{tens_word}{one}"] = tens_value * 10 + 1
    return phrases


# --- Clusters --------------------------------------------------------------------------------


def cluster_headlines(headlines: pl.DataFrame) -> pl.DataFrame:
    """`headline_id`, `cluster_id` for each headline that has at least one near-duplicate.

    Takes `headline_id`, `text`; the cluster_id is the smallest headline_id of the cluster.
    """
    keyed = headlines.select(
        pl.col("headline_id").cast(pl.String), key=matching_key(pl.col("text").cast(pl.String))
    ).drop_nulls()
    keys = keyed.select("key").unique().sort("key").with_row_index("key_id")
    tokens, content = _key_tokens(keys)
    n_content = np.bincount(content["key_id"].to_numpy(), minlength=keys.height).astype(np.int64)
    candidates = _candidate_pairs(content, n_content)
    pairs = _exact_filter(_sketch_filter(candidates, content, n_content), tokens, n_content)
    component = _connected_components(pairs, n_keys=keys.height)
    keyed = keyed.join(keys, on="key")
    return (
        keyed.with_columns(component=pl.Series(component[keyed["key_id"].to_numpy()]))
        .with_columns(
            cluster_id=pl.col("headline_id").min().over("component"),
            size=pl.len().over("component"),
        )
        .filter(pl.col("size") > 1)
        .select("headline_id", "cluster_id")
        .sort("cluster_id", "headline_id")
    )


def _tokenize(frame: pl.DataFrame, id_column: str) -> tuple[pl.DataFrame, pl.DataFrame]:
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


def _key_tokens(keys: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Tokens of the distinct keys (`key_id`, `token_hash`, `position`, kinds), and their
    distinct content words with the key's signature (`key_id`, `token_hash`, `signature`)."""
    tokens, vocabulary = _tokenize(keys, "key_id")
    # The signature: the numbers (with repeats) and the set of guard words must match exactly.
    # Digits and letters cannot be confused, so one sorted list holds both.
    numbers = tokens.filter("is_number").select("key_id", "token_hash")
    guards = _first_of_each(tokens.filter("is_guard").select("key_id", "token_hash"))
    signed = (
        pl.concat([numbers, guards])
        .join(vocabulary, on="token_hash")
        .sort("key_id", "token")
        .group_by("key_id", maintain_order=True)
        .agg(signature=pl.col("token").str.join(" ").hash(seed=0))
    )
    signature = np.zeros(keys.height, dtype=np.uint64)
    signature[signed["key_id"].to_numpy()] = signed["signature"].to_numpy()
    content = _first_of_each(tokens.filter("is_content").select("key_id", "token_hash"))
    content = content.with_columns(signature=pl.Series(signature[content["key_id"].to_numpy()]))
    return tokens, content


def _first_of_each(tokens: pl.DataFrame) -> pl.DataFrame:
    """Distinct (key_id, token_hash) rows; sorting then comparing neighbours takes far less
    memory than hashing millions of rows."""
    ordered = tokens.sort("key_id", "token_hash")
    repeated = (pl.col("key_id") == pl.col("key_id").shift()) & (
        pl.col("token_hash") == pl.col("token_hash").shift()
    )
    return ordered.filter(~repeated.fill_null(False))


def _candidate_pairs(content: pl.DataFrame, n_content: np.ndarray) -> pl.DataFrame:
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


def _sketch_filter(
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


def _exact_filter(pairs: pl.DataFrame, tokens: pl.DataFrame, n_content: np.ndarray) -> pl.DataFrame:
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


def _connected_components(pairs: pl.DataFrame, n_keys: int) -> np.ndarray:
    """Component label of each key in the graph of verified pairs."""
    from scipy.sparse import coo_array
    from scipy.sparse.csgraph import connected_components

    a, b = pairs["key_a"].to_numpy(), pairs["key_b"].to_numpy()
    graph = coo_array((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n_keys, n_keys))
    return connected_components(graph, directed=False)[1]


# --- Translations ----------------------------------------------------------------------------


def translation_candidates(headlines: pl.DataFrame) -> pl.DataFrame:
    """Scored pairs of headlines in two languages that may tell the same story.

    Takes `headline_id`, `text`, `language`; returns `headline_id_a` < `headline_id_b` and a
    `score` in [0, 1], for pairs at or above MIN_TRANSLATION_SCORE. The evidence is offline:
    shared numbers, shared names (the gazetteer above) and, between Latin-script languages,
    cognates. Each piece weighs by its rarity in the input, and the score is the weighted Dice
    overlap of the two headlines' evidence. Headlines whose numbers disagree are not paired.
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
    hashed, vocabulary = _tokenize(frame, "row")
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
    entities = [line.split("|") for line in _GAZETTEER.replace("|\n", "|").split("\n") if line]
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


# --- Stories ---------------------------------------------------------------------------------


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
    component = _connected_components(pairs, n_keys=ids.len())
    return index.with_columns(component=pl.Series(component)).select(
        "headline_id", story_id=pl.col("headline_id").min().over("component")
    )


def _grouped(column: str, cluster_of: pl.DataFrame) -> pl.Expr:
    """The headline's cluster_id when it has near-duplicates, else the headline itself."""
    return pl.col(column).replace_strict(cluster_of["headline_id"], cluster_of["group"], default=pl.col(column))
