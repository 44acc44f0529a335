from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsdesk.transforms.headline_matching import gazetteer_entities, matching_key
from newsdesk.transforms.near_duplicates import cluster_headlines
from newsdesk.transforms.translations import translation_candidates, translation_pair_features


def key(text: str) -> str:
    return pl.DataFrame({"t": [text]}).select(matching_key(pl.col("t")))["t"][0]


def clustered_together(a: str, b: str) -> bool:
    clusters = cluster_headlines(pl.DataFrame({"headline_id": ["h1", "h2"], "text": [a, b]}))
    return clusters.height == 2


NEAR_DUPLICATES = [
    # number words and a prefix added, plus the words of a death
    ("Cinq jeunes marocains périssent dans un incendie en Catalogne",
     "Espagne : 5 jeunes marocains morts dans un incendie en Catalogne"),
    ("Ksar El Kébir : Le versement des aides financières aux sinistrés se poursuit",
     "Ksar El Kebir : le versement des aides financieres aux sinistres se poursuit"),
    ("Bourse de Casablanca : clôture dans le rouge", "BOURSE DE CASABLANCA: CLÔTURE DANS LE ROUGE."),
    ("Tanger Med : le trafic de conteneurs progresse de 12% au premier semestre",
     "Tanger Med :  le trafic de conteneurs progresse de 12 % au premier semestre"),
    ("Arrestation d'un réseau de trafic de drogue à Tétouan",
     "Tétouan : arrestation d'un réseau de trafic de drogue"),
    ("Inondations à Safi : le bilan s'alourdit à 37 morts",
     "Inondations à Safi : le bilan s'alourdit encore à 37 morts"),
    ("APM Capital Maroc clôture un fonds de transport et de logistique de 243 M$",
     "APM Capital clôture un fonds de transport et de logistique de 243 M$"),
    ("Le Maroc et la France signent 22 accords de coopération",
     "Le Maroc et la France signent vingt-deux accords de coopération"),
    ("Un terremoto de magnitud 4,8 sacude la región de Alhucemas",
     "Un terremoto de magnitud 4.8 sacude la región de Alhucemas"),
    ("فيضانات آسفي: ارتفاع حصيلة الضحايا إلى 37 قتيلا",
     "فيضانات اسفي: ارتفاع حصيلة الضحايا الى ٣٧ قتيلا"),
    ("المغرب وفرنسا يوقعان 22 اتفاقية للتعاون", "المغـــرب وفرنسا يوقعان ۲۲ اتفاقيـــة للتعاون"),
]

NEVER_DUPLICATES = [
    ("Espagne : 5 morts dans un incendie en Catalogne", "Espagne : 7 morts dans un incendie en Catalogne"),
    ("Cinq jeunes marocains périssent dans un incendie", "Sept jeunes marocains périssent dans un incendie"),
    ("Wydad bat Raja", "Raja bat Wydad"),
    ("Le Wydad bat le Raja 2-1 au derby de Casablanca", "Le Raja bat le Wydad 2-1 au derby de Casablanca"),
    ("Wydad-Raja : 2-1", "Raja-Wydad : 2-1"),
    ("L'Algérie convoque l'ambassadeur de France", "La France convoque l'ambassadeur d'Algérie"),
    ("Le roi Mohammed VI adresse un message de félicitations au président sénégalais",
     "Le roi Mohammed VI adresse un message de félicitations au président ivoirien"),
    ("Bourse de Casablanca : clôture dans le rouge", "Bourse de Casablanca : clôture dans le vert"),
    ("Le Maroc participera à la CAN 2025", "Le Maroc ne participera pas à la CAN 2025"),
    ("Grève des médecins lundi", "Grève des enseignants lundi"),
    ("الوداد يفوز على الرجاء في ديربي الدار البيضاء", "الرجاء يفوز على الوداد في ديربي الدار البيضاء"),
]


@pytest.mark.parametrize(("a", "b"), NEAR_DUPLICATES)
def test_near_duplicates_share_a_cluster(a, b):
    assert clustered_together(a, b)


@pytest.mark.parametrize(("a", "b"), NEVER_DUPLICATES)
def test_hard_negatives_never_cluster(a, b):
    assert not clustered_together(a, b)


def test_only_headlines_with_a_near_duplicate_are_returned_with_the_smallest_id():
    headlines = pl.DataFrame(
        {
            "headline_id": ["c", "a", "b", "d"],
            "text": [
                "Tres detenidos en Ceuta por tráfico de migrantes",
                "3 detenidos en Ceuta por tráfico de migrantes",
                "Tres detenidos en Ceuta por tráfico ilegal de migrantes",
                "Ola de calor hasta el jueves en Andalucía",
            ],
        }
    )
    clusters = cluster_headlines(headlines)
    assert sorted(clusters.rows()) == [("a", "a"), ("b", "a"), ("c", "a")]
    assert clusters.schema == {"headline_id": pl.String, "cluster_id": pl.String}


def test_arabic_normalization():
    assert key("أإآ ة ى") == "ااا ه ي"
    assert key("جلالةُ الملكِ") == key("جلالة الملك")  # harakat
    assert key("المغـــرب") == "المغرب"  # tatweel
    assert key("٠١٢٣٤٥٦٧٨٩ ۰۱۲۳۴۵۶۷۸۹") == "0123456789 0123456789"
    assert key("بقوة ٤٫٨ درجات") == "بقوه 4.8 درجات"


def test_numbers_are_written_one_way():
    assert key("Cinq jeunes, vingt-deux accords, treinta y dos, twenty-one") == (
        "5 jeunes 22 accords 32 21"
    )
    assert key("12 450,3 et 1.500.000 et 0,62%") == "12450.3 et 1500000 et 0.62"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="aéÉ AZ-'’:,.0123456789٣۲أةىـُ خمسة deux vingt", max_size=40),
                min_size=1, max_size=30))
def test_matching_key_is_idempotent(texts):
    once = pl.DataFrame({"t": texts}).select(matching_key(pl.col("t")))
    twice = once.select(matching_key(pl.col("t")))
    assert once["t"].to_list() == twice["t"].to_list()


def test_translations_are_found_across_languages_only():
    headlines = pl.DataFrame(
        {
            "headline_id": ["1", "2", "3", "4", "5", "6"],
            "language": ["fr", "es", "fr", "es", "fr", "fr"],
            "text": [
                "APM Capital Maroc clôture un fonds de transport et de logistique de 243 M$",
                "APM Capital Maroc cierra un fondo de transporte y logística de 243 millones de dólares",
                "Cinq jeunes marocains périssent dans un incendie en Catalogne",
                "Cinco jóvenes marroquíes mueren en un incendio en Cataluña",
                "APM Capital Maroc clôture un fonds de transport et de logistique de 243 M$ !",
                "Sept jeunes marocains périssent dans un incendie en Catalogne",
            ],
        }
    )
    pairs = translation_candidates(headlines)
    found = {(a, b) for a, b in pairs.select("headline_id_a", "headline_id_b").iter_rows()}
    assert ("1", "2") in found and ("3", "4") in found
    assert ("1", "5") not in found  # same language: a near-duplicate, not a translation
    assert ("4", "6") not in found  # five and seven dead are two stories
    assert (pairs["headline_id_a"] < pairs["headline_id_b"]).all()
    assert pairs["score"].is_between(0.0, 1.0).all()


def test_translations_are_paired_across_the_edge_of_a_window_not_months_apart():
    from newsdesk.transforms.translations import TRANSLATION_WINDOW, windowed_translation_candidates

    # The Spanish headline came a day after the French one, on the first day of the next span.
    edge = pl.Series([date(2026, 2, 1)]).dt.truncate(TRANSLATION_WINDOW).item() + TRANSLATION_WINDOW
    headlines = pl.DataFrame(
        {
            "headline_id": ["day before", "edge", "months later"],
            "text": [
                "Cinq jeunes marocains périssent dans un incendie en Catalogne",
                "Cinco jóvenes marroquíes mueren en un incendio en Cataluña",
                "Five young Moroccans die in a fire in Catalonia",
            ],
            "language": ["fr", "es", "en"],
            "first_seen": [edge - timedelta(days=1), edge, edge + 4 * TRANSLATION_WINDOW],
        }
    )
    pairs = windowed_translation_candidates(headlines)
    assert pairs.select("headline_id_a", "headline_id_b").rows() == [("day before", "edge")]


def test_each_window_weighs_its_evidence_among_its_own_headlines():
    from newsdesk.transforms.translations import TRANSLATION_WINDOW, windowed_translation_candidates

    first = pl.Series([date(2026, 2, 1)]).dt.truncate(TRANSLATION_WINDOW).item()
    stories = [
        ("Casablanca : un incendie ravage un entrepôt du port", "Casablanca: un incendio arrasa un almacén del puerto"),
        ("Casablanca : le tramway transporte 300 000 voyageurs", "Casablanca: el tranvía transporta a 300.000 viajeros"),
        ("Casablanca : la Bourse clôture en hausse de 1,2%", "Casablanca: la Bolsa cierra con una subida del 1,2%"),
    ]
    # Casablanca is in every span, so its weight depends on which spans a window holds.
    headlines = pl.DataFrame(
        [
            (f"{span}-{language}", text, language, first + span * TRANSLATION_WINDOW)
            for span, texts in enumerate(stories)
            for language, text in zip(("fr", "es"), texts)
        ],
        schema=["headline_id", "text", "language", "first_seen"],
        orient="row",
    )
    per_window = pl.concat(
        translation_candidates(headlines.filter(pl.col("first_seen").is_between(start, start + TRANSLATION_WINDOW)))
        for start in headlines["first_seen"].unique()
    )
    expected = per_window.group_by("headline_id_a", "headline_id_b").agg(pl.col("score").max()).sort(pl.all())
    assert expected.height == 3
    assert windowed_translation_candidates(headlines).sort(pl.all()).equals(expected)


def test_a_name_outside_the_gazetteer_is_carried_across_scripts_by_its_sounds():
    assert not {"Zelensky", "Ouarzazate"} & {spelling for entity in gazetteer_entities() for spelling in entity}
    headlines = pl.DataFrame(
        {
            "headline_id": ["ar", "fr", "fr-lowercase", "fr-names-only"],
            "language": ["ar", "fr", "fr", "fr"],
            "text": [
                "زيلينسكي في زيارة إلى ورزازات",
                "Zelensky en visite à Ouarzazate",
                # The same letters in lowercase words are not names: the visit alone is shared.
                "zelensky en visite à ouarzazate",
                # A skeleton adds to the evidence of a pair and does not propose one: three or
                # four sounds are shared by unrelated words too.
                "Zelensky à Ouarzazate",
            ],
        }
    )
    weighed = translation_pair_features(headlines)
    assert (weighed["headline_id_a"] == "ar").all()
    shared = dict(zip(weighed["headline_id_b"], weighed["shared"]))
    assert set(shared) == {"fr", "fr-lowercase"}
    assert shared["fr"] > shared["fr-lowercase"]
    assert translation_candidates(headlines)["headline_id_b"].to_list() == ["fr"]


def test_opposite_news_about_the_same_names_is_not_a_translation():
    headlines = pl.DataFrame(
        {
            "headline_id": ["launch", "suspend", "launch-es"],
            "language": ["fr", "es", "es"],
            "text": [
                "Royal Air Maroc lance une ligne Casablanca-Séville",
                "Royal Air Maroc suspende su ruta Casablanca-Sevilla",
                "Royal Air Maroc lanza una ruta Casablanca-Sevilla",
            ],
        }
    )
    pairs = translation_candidates(headlines)
    assert pairs.select("headline_id_a", "headline_id_b").rows() == [("launch", "launch-es")]
