"""Build the bundled sample dumps and their truth file.

Inputs (hand-written, committed):
    samples/real/000_944c1d705c4b9ef0.txt   a real page of the French edition
    samples/pages_src/*.txt                 article parts written for the samples:
                                            title, publication line, body, footer
                                            (no ticker, no boilerplate)

Outputs (regenerated from scratch on every run):
    samples/dumps/                          one entry per input format (see README.md)
    samples/truth.jsonl                     what a parser must find, one line per page/record

Run with:  .venv/bin/python samples/make_sample_dumps.py

The script is deterministic: no clock, no randomness, fixed archive timestamps.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import re
import shutil
import struct
import tarfile
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard
from warcio.warcwriter import WARCWriter

SAMPLES = Path(__file__).resolve().parent
PAGES_SRC = SAMPLES / "pages_src"
REAL_PAGE = SAMPLES / "real" / "000_944c1d705c4b9ef0.txt"
DUMPS = SAMPLES / "dumps"
TRUTH = SAMPLES / "truth.jsonl"

NBSP = "\u00a0"
TICKER_SEPARATOR = NBSP * 4

# Fixed timestamps so that archives are byte-identical from one run to the next.
ZIP_DATE_TIME = (2026, 2, 23, 8, 0, 0)
TAR_MTIME = int(dt.datetime(2026, 2, 24, 8, 0, tzinfo=dt.timezone.utc).timestamp())

DATE_PATTERN = r"(?P<date>\d{2} - \d{2} - \d{4})"

# The edition templates, as they appear on the pages.
EDITIONS = {
    "fr": {
        "publication": re.compile(r"^Publié dans (?P<source>.+) le " + DATE_PATTERN + r"$"),
        "footer": "Cliquez ici pour lire l'article depuis sa source.",
        "boilerplate": (
            "Merci d'avoir signalé!",
            "Cette image sera automatiquement bloquée après qu'elle soit signalée par plusieurs personnes.",
        ),
    },
    "es": {
        "publication": re.compile(r"^Publicado en (?P<source>.+) el " + DATE_PATTERN + r"$"),
        "footer": "Pulse aquí para leer el artículo desde su fuente.",
        "boilerplate": (
            "¡Gracias por avisar!",
            "Esta imagen será bloqueada automáticamente después de ser reportada por varias personas.",
        ),
    },
    "ar": {
        "publication": re.compile(r"^نشر في (?P<source>.+) يوم " + DATE_PATTERN + r"$"),
        "footer": "اضغط هنا لقراءة تفاصيل الخبر من مصدره",
        "boilerplate": (
            "شكرا على الإبلاغ!",
            "سيتم حجب هذه الصورة تلقائيا بعد أن يتم الإبلاغ عنها من طرف عدة أشخاص.",
        ),
    },
    "en": {
        "publication": re.compile(r"^Published in (?P<source>.+) on " + DATE_PATTERN + r"$"),
        "footer": "Click here to read the article from its source.",
        "boilerplate": (
            "Thanks for reporting!",
            "This image will be automatically blocked after it is reported by several people.",
        ),
    },
}


def nfd(text: str) -> str:
    """Decomposed accents (e + U+0301): same headline_id as the composed form after NFKC."""
    return unicodedata.normalize("NFD", text)


# --------------------------------------------------------------------------------------
# Tickers: ONE per dump, identical on every page of that dump (as on the real site).
# The folder dump uses the ticker of the real page. See README.md for the intended
# relations between headlines (same id, near-duplicate, hard non-duplicate, translation).
# --------------------------------------------------------------------------------------

TICKER_DJAZAIRESS = [
    "لجنة الأهلة تعلن أن الخميس أول أيام شهر رمضان",
    "مصرع خمسة شبان مغاربة في حريق بكتالونيا",
    "Cinq jeunes Marocains périssent dans un incendie en Catalogne",
    "الجزائر تطلق برنامجا لإنجاز محطات جديدة لتحلية مياه البحر",
    "Sonatrach signe un nouvel accord gazier avec l'italien Eni",
    "ارتفاع أسعار النفط يدعم إيرادات الميزانية",
    "معرض الجزائر الدولي للكتاب يستقبل أكثر من مليون زائر",
    "Ramadan : les prix des fruits et légumes flambent sur les marchés d'Alger",
    "صادرات الجزائر خارج المحروقات تتجاوز 5 مليارات دولار",
    "تساقط الثلوج يغلق عدة طرق في ولايات الشرق",
    "Ligue 1 Mobilis : le MC Alger reprend la tête du classement",
    "ديربي البيضاء: الوداد يفوز على الرجاء بهدفين لهدف",
    "La Banque d'Algérie maintient son taux directeur à 3 %",
    "ولاية الجزائر تطلق حملة لتنظيف الأحياء قبل رمضان",
]

TICKER_TURESS = [
    "Túnez: el turismo bate récords en 2025",
    "Cinco jovenes marroquies mueren en un incendio en Cataluña",
    "El aceite de oliva tunecino conquista nuevos mercados en América Latina",
    "Tunisie : l'huile d'olive tunisienne conquiert de nouveaux marchés en Amérique latine",
    "La Medina de Túnez acoge un festival de música sufí durante el Ramadán",
    "Le Ramadan débute jeudi en Tunisie, annonce le mufti de la République",
    "El Ramadán comenzará el jueves en Túnez, anuncia el muftí de la República",
    "Sfax : le port commercial enregistre une hausse de 8 % du trafic",
    "La selección tunecina prepara su concentración de marzo",
    "Tozeur accueille le festival international des oasis",
    "Túnez y España firman un acuerdo sobre migración circular",
    "Djerba: la temporada turística arranca antes de lo previsto",
]

TICKER_MASRESS = [
    "المتحف المصري الكبير يستقبل مليون زائر منذ افتتاحه",
    "Grand Egyptian Museum welcomes one million visitors since its opening",
    "مصرع خمسة شبان مغاربة في حريق بكتالونيا",
    "Five young Moroccans killed in Catalonia fire",
    "البنك المركزي المصري يبقي أسعار الفائدة دون تغيير",
    "Central Bank of Egypt keeps interest rates unchanged",
    "دار الإفتاء: الخميس أول أيام شهر رمضان المبارك",
    "Ramadan begins Thursday, Egypt's Dar al-Ifta announces",
    "الأهلي يتعادل مع الزمالك في قمة الدوري الممتاز",
    "Suez Canal revenues rise for third consecutive month",
    "ارتفاع أسعار الذهب في السوق المصرية",
    "Cairo Metro Line 4: tunnelling works reach Giza",
    "الأرصاد: طقس بارد ليلا على معظم الأنحاء",
    "Egypt, Saudi Arabia sign electricity interconnection deal",
    "Egypt and Saudi Arabia sign electricity interconnection deal",
    "افتتاح مشروعات تنموية جديدة في شمال سيناء",
]

TICKER_SAURESS = [
    "المحكمة العليا تعلن أن الخميس غرة شهر رمضان",
    "مصرع خمسة شبان مغاربة في حريق بكتالونيا",
    "ارتفاع اسعار النفط يدعم ايرادات الميزانية",
    "قطار الرياض ينقل أكثر من 100 مليون راكب",
    "Riyadh Metro carries more than 100 million passengers",
    "الأرصاد تتوقع أمطارا رعدية على عدة مناطق",
    "الهلال يفوز على النصر في ديربي الرياض",
    "موسم الرياض يختتم فعالياته بأكثر من 20 مليون زائر",
    "وزارة الحج: أكثر من مليون معتمر خلال شهر شعبان",
    "هيئة الطيران المدني تطلق خطة تشغيلية لموسم رمضان",
]

TICKER_MAGHRESS_ES = [
    "Cinco jóvenes marroquíes mueren en un incendio en Cataluña",
    "Espagne : cinq jeunes marocains périssent dans un incendie en Catalogne",
    "Túnez: el turismo bate récords en 2025",
    "Ramadan 1447 / 2026 commence jeudi 19 février au Maroc",
    "Ksar El Kebir : Le versement des aides financieres aux sinistres se poursuit",
    "Ksar El Kébir: Continúa el pago de ayudas financieras a los damnificados",
    "Inondations" + NBSP + ": le CNDH salue une gestion conforme aux standards internationaux",
    "Botola : le Raja bat le Wydad dans le derby (2-1)",
    "Botola: el Raja vence al Wydad en el derbi (2-1)",
    "ديربي البيضاء: الرجاء يفوز على الوداد بهدفين لهدف",
    "Accident de car près d'Azilal : 7 morts et 20 blessés",
    "Marruecos y España refuerzan la cooperación en materia de gestión del agua",
    "Tánger Med supera los 10 millones de contenedores en 2024",
    "Bourse de Casablanca : clôture dans le rouge",
    "Achraf Hakimi égale un record historique marocain",
    "Achraf Hakimi iguala un récord histórico marroquí",
    "المغرب يطلق برنامجا وطنيا لدعم السكن",
    "Mechra Bel Ksiri: Reanudación de las clases presenciales en varias escuelas",
]

TICKER_MAGHRESS_FR_TAR = [
    "5 jeunes marocains périssent dans un incendie en Catalogne",
    "Five young Moroccans killed in Catalonia fire",
    "Ramadan 1447 / 2026 commence jeudi 19 février au Maroc",
    "Morocco's Ramadan 1447 begins on Thursday, February 19",
    "Bourse de Casablanca : nouvelle clôture dans le rouge",
    "Moroccan stocks close lower in Casablanca",
    "Achraf Hakimi égale un record historique marocain !",
    "Botola : le Wydad bat le Raja dans le derby (2-1)",
    "Accident de car près d'Azilal : 5 morts et 20 blessés",
    "Tourisme : « Le Maroc peut viser 26 millions de visiteurs en 2030 »",
    "Morocco speeds up stadium works ahead of 2030 World Cup",
    "Glovo et la NARSA signent  une convention pour renforcer la sécurité des livreurs",
    # Trailing ASCII space before the separator: the truth keeps the stripped text.
    "Quarts LdC et Coupe de la CAF : date et heure du tirage ",
    "Le Caire accueille le Forum urbain mondial",
    "Tunisie : la production d'huile d'olive estimée à 240 000 tonnes",
    nfd("Inspection du travail : un bilan lourd pour les cafés et restaurants"),
    "Décès de Leila Shahid à 76 ans\u2026 Une voix palestinienne majeure sur la scène diplomatique internationale",
    "Espagne : 5 jeunes marocains morts dans un incendie en Catalogne",
    "Sonelgaz : le programme de raccordement au gaz des zones rurales relancé",
    "Casablanca : le tramway T3 transporte son millionième voyageur",
]


# --------------------------------------------------------------------------------------
# Reading the hand-written sources
# --------------------------------------------------------------------------------------


def read_utf8(path: Path) -> str:
    """Read a UTF-8 file exactly (no newline translation)."""
    return path.read_bytes().decode("utf-8")


USED_SOURCES: set[str] = set()  # pages_src files read so far, checked at the end


def read_src(name: str) -> str:
    USED_SOURCES.add(name)
    return read_utf8(PAGES_SRC / name)


def read_real_page() -> str:
    return read_utf8(REAL_PAGE)


def real_ticker() -> list[str]:
    """The real page's ticker: its first line, cut on the four-NBSP separator."""
    first_line = read_real_page().split("\n", 1)[0]
    headlines = first_line.split(TICKER_SEPARATOR)
    assert headlines[-1] == "", "the real ticker ends with a separator"
    return headlines[:-1]


@dataclass
class Article:
    edition: str
    source: str
    title: str
    published_raw: str
    published_date: str | None
    body: str


def parse_date(raw: str) -> str | None:
    """'25 - 11 - 2009' -> '2009-11-25'; None when the date does not exist."""
    day, month, year = (int(part) for part in raw.split(" - "))
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def read_article(text: str) -> Article | None:
    """Read title, publication line and body from a page text we wrote ourselves.

    Title = last non-blank line before the publication line; body = non-blank lines
    after it, stripped, up to the edition's last footer line (a footer line inside the
    article is body text). None if no publication line.
    """
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n")]
    for index, line in enumerate(lines):
        for edition, template in EDITIONS.items():
            match = template["publication"].match(line)
            if match is None:
                continue
            title = [previous for previous in lines[:index] if previous][-1]
            after_publication = lines[index + 1:]
            footers = [number for number, after in enumerate(after_publication) if after == template["footer"]]
            body = [after for after in after_publication[: footers[-1] if footers else None] if after]
            return Article(
                edition=edition,
                source=match.group("source"),
                title=title,
                published_raw=match.group("date"),
                published_date=parse_date(match.group("date")),
                body="\n".join(body),
            )
    return None


# --------------------------------------------------------------------------------------
# Building pages
# --------------------------------------------------------------------------------------


@dataclass
class Page:
    """One page of a dump, as the generator will write it.

    src:         a file of pages_src, "REAL" for the real page, or None (raw bytes given)
    ticker:      put the dump's ticker as the first line
    boilerplate: put the edition's image-report block after the ticker
    encoding:    how the page's text is turned into bytes (text dumps only)
    crlf:        use CRLF line ends
    status:      the status the truth file expects
    raw:         the exact bytes, for pages that are not text (empty, binary)
    """

    page_id: str
    src: str | None
    ticker: bool = True
    boilerplate: bool = True
    encoding: str = "utf-8"
    crlf: bool = False
    status: str = "ok"
    raw: bytes | None = None


def ticker_line(headlines: list[str]) -> str:
    for headline in headlines:
        assert headline.strip() and TICKER_SEPARATOR not in headline, headline
    return "".join(headline + TICKER_SEPARATOR for headline in headlines)


def page_text(page: Page, ticker: list[str]) -> str:
    """The page as text (before encoding), laid out like the real page."""
    if page.src == "REAL":
        return read_real_page()
    core = read_src(page.src)
    text = ""
    if page.ticker:
        text += ticker_line(ticker) + "\n" * 8  # the ticker, then 7 blank lines
    if page.boilerplate:
        article = read_article(core)
        first, second = EDITIONS[article.edition]["boilerplate"]
        text += first + "\n" + second + "\n" * 4  # then 3 blank lines
    text += core
    if page.crlf:
        text = text.replace("\n", "\r\n")
    return text


def page_bytes(page: Page, ticker: list[str]) -> bytes:
    if page.raw is not None:
        return page.raw
    if page.src == "REAL":
        return REAL_PAGE.read_bytes()
    return page_text(page, ticker).encode(page.encoding)


def tiny_png(width: int = 4, height: int = 4) -> bytes:
    """A valid little red PNG image (contains NUL bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = b"".join(b"\x00" + bytes([200, 40, 40]) * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels, 9))
        + chunk(b"IEND", b"")
    )


# --------------------------------------------------------------------------------------
# Truth rows
# --------------------------------------------------------------------------------------

TRUTH_FIELDS = [
    "dump_id", "page_id", "crawl_date", "status", "edition", "source", "title",
    "published_raw", "published_date", "body", "ticker",
]


def crawl_date_from_dump_id(dump_id: str) -> str | None:
    """First YYYY-MM-DD or YYYYMMDD in the dump_id, as YYYY-MM-DD."""
    match = re.search(r"(\d{4})-?(\d{2})-?(\d{2})", dump_id)
    if match is None:
        return None
    return "-".join(match.groups())


def rejected_row(dump_id: str, page_id: str, crawl_date: str | None, status: str) -> dict:
    row = dict.fromkeys(TRUTH_FIELDS)
    row.update(dump_id=dump_id, page_id=page_id, crawl_date=crawl_date, status=status)
    return row


def truth_row(dump_id: str, page: Page, crawl_date: str | None, ticker: list[str]) -> dict:
    """The truth for one page, checking that the page really is what its status says."""
    if page.status != "ok":
        check_rejected_page(page, ticker)
        return rejected_row(dump_id, page.page_id, crawl_date, page.status)

    text = page_text(page, ticker)
    article = read_article(text)
    assert article is not None, f"{page.page_id}: no publication line"
    if page.src == "REAL":
        page_ticker = real_ticker()
    elif page.ticker:
        page_ticker = [headline.strip() for headline in ticker]
    else:
        page_ticker = []
    row = rejected_row(dump_id, page.page_id, crawl_date, "ok")
    row.update(
        edition=article.edition,
        source=article.source,
        title=article.title,
        published_raw=article.published_raw,
        published_date=article.published_date,
        body=article.body,
        ticker=page_ticker,
    )
    return row


def check_rejected_page(page: Page, ticker: list[str]) -> None:
    """Make sure a rejected page is rejected for the reason the truth gives."""
    data = page_bytes(page, ticker)
    if page.status == "empty":
        assert data == b""
    elif page.status == "binary":
        assert b"\x00" in data
    elif page.status == "no_publication_line":
        assert read_article(data.decode("utf-8")) is None
    elif page.status == "encoding":
        # Not UTF-8, and neither legacy encoding of the editions gives a publication line.
        try:
            data.decode("utf-8")
            raise AssertionError(f"{page.page_id} is valid UTF-8")
        except UnicodeDecodeError:
            pass
        for legacy in ("cp1252", "cp1256"):
            assert read_article(data.decode(legacy, errors="replace")) is None, legacy
    else:
        raise AssertionError(f"unexpected status {page.status}")


def check_legacy_page(page: Page, ticker: list[str]) -> None:
    """A cp1252/cp1256 page must not be valid UTF-8, and must decode back exactly."""
    data = page_bytes(page, ticker)
    try:
        data.decode("utf-8")
        raise AssertionError(f"{page.page_id} is valid UTF-8")
    except UnicodeDecodeError:
        pass
    assert data.decode(page.encoding) == page_text(page, ticker)


# --------------------------------------------------------------------------------------
# The dumps
# --------------------------------------------------------------------------------------


def build_folder_dump() -> list[dict]:
    """maghress-fr-2026-02-18/: a folder of .txt pages, with the real page and its ticker."""
    dump_id = "maghress-fr-2026-02-18"
    ticker = real_ticker()
    pages = [
        Page("culture/festival-fes-musiques-sacrees", "fr_festival_fes_musiques_sacrees.txt", encoding="cp1252"),
        Page("economie/chakib", "REAL"),
        Page("marrakech-taux-occupation", "fr_marrakech_taux_occupation.txt", encoding="utf-8-sig"),
        Page("page-introuvable", "fr_page_introuvable.txt", boilerplate=False, status="no_publication_line"),
        Page("regions/oriental/oujda-gare-routiere", "fr_oujda_gare_routiere.txt", crlf=True),
        Page("societe/cinq-jeunes-marocains-incendie-catalogne", "fr_cinq_jeunes_incendie_catalogne.txt"),
        Page("societe/photo-incendie", None, status="binary", raw=tiny_png()),
        Page("sport/derby-wydad-raja", None, status="empty", raw=b""),
    ]
    folder = DUMPS / dump_id
    rows = []
    for page in pages:
        if page.encoding in ("cp1252", "cp1256"):
            check_legacy_page(page, ticker)
        path = folder / (page.page_id + ".txt")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(page_bytes(page, ticker))
        rows.append(truth_row(dump_id, page, crawl_date_from_dump_id(dump_id), ticker))
    return rows


def jsonl_line(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"


def build_djazairess_dump() -> list[dict]:
    """djazairess-ar-20260219.jsonl.gz: Arabic pages, with broken records."""
    dump_id = "djazairess-ar-20260219"
    ticker = TICKER_DJAZAIRESS
    crawl_date = crawl_date_from_dump_id(dump_id)
    lines: list[str] = []
    rows: list[dict] = []

    def add_page(page_id: str | None, url: str, src: str) -> None:
        line_number = str(len(lines) + 1)
        page = Page(page_id or line_number, src)
        record = {"id": page_id, "url": url, "text": page_text(page, ticker)}
        if page_id is None:
            del record["id"]
        lines.append(jsonl_line(record))
        rows.append(truth_row(dump_id, page, crawl_date, ticker))

    def add_bad_line(page_id: str, line: str) -> None:
        lines.append(line)
        rows.append(rejected_row(dump_id, page_id, crawl_date, "bad_record"))

    add_page("djz-118204", "https://www.djazairess.com/echorouk/118204", "ar_tahliat_miyah_aljazair.txt")
    add_page("djz-118377", "https://www.djazairess.com/elkhabar/118377", "ar_maarid_alkitab_2008.txt")
    # No id: page_id is the 1-based line number, "3".
    add_page(None, "https://www.djazairess.com/elmassa/118391", "ar_saderat_kharij_almahroukat.txt")
    # Line 4 is not valid JSON (cut in the middle of a string): page_id is the line number.
    add_bad_line(
        "4",
        '{"id": "djz-118455", "url": "https://www.djazairess.com/elkhabar/118455", "text": "ارتفاع أسعار\n',
    )
    add_bad_line("djz-118512", jsonl_line({"id": "djz-118512", "url": "https://www.djazairess.com/ennahar/118512"}))
    add_bad_line(
        "djz-118530",
        jsonl_line({"id": "djz-118530", "url": "https://www.djazairess.com/echorouk/118530", "text": None}),
    )
    data = "".join(lines).encode("utf-8")
    (DUMPS / f"{dump_id}.jsonl.gz").write_bytes(gzip.compress(data, mtime=0))
    return rows


def build_turess_dump() -> list[dict]:
    """turess-es-2026-02-20.jsonl: Spanish pages, no ids, crawl_date on each record."""
    dump_id = "turess-es-2026-02-20"
    ticker = TICKER_TURESS
    specs = [
        # (pages_src file, date field name, timestamp)
        ("es_tunez_turismo_record.txt", "crawl_date", "2026-02-20T07:15:00Z"),
        ("es_tunez_autopista_sur.txt", "crawl_date", "2026-02-20T07:15:00Z"),  # 31 - 02 - 2010
        ("es_aceite_oliva_america_latina.txt", "crawl_date", "2026-02-20T07:15:00Z"),  # blank lines after title
        # `date` instead of `crawl_date`, on another day than the dump_id says.
        ("es_medina_tunez_musica_sufi.txt", "date", "2026-02-19T23:40:00Z"),
    ]
    lines = []
    rows = []
    for line_number, (src, date_field, timestamp) in enumerate(specs, start=1):
        page = Page(str(line_number), src)
        url = f"https://www.turess.com/es/{src.removesuffix('.txt').removeprefix('es_').replace('_', '-')}"
        lines.append(jsonl_line({"url": url, "text": page_text(page, ticker), date_field: timestamp}))
        rows.append(truth_row(dump_id, page, timestamp[:10], ticker))
    (DUMPS / f"{dump_id}.jsonl").write_bytes("".join(lines).encode("utf-8"))
    return rows


def build_masress_dump() -> list[dict]:
    """masress-mixed-2026-02-21.jsonl.zst: Arabic and English pages, with ids."""
    dump_id = "masress-mixed-2026-02-21"
    ticker = TICKER_MASRESS
    crawl_date = crawl_date_from_dump_id(dump_id)
    pages = [
        (Page("mas-5521901", "ar_almathaf_almasri_alkabir.txt"), "https://www.masress.com/ahram/5521901"),
        (Page("mas-5521944", "en_grand_egyptian_museum.txt"), "https://www.masress.com/en/egyptindependent/5521944"),
        (Page("mas-5522017", "ar_albank_almarkazi_alfaida.txt"), "https://www.masress.com/almasryalyoum/5522017"),
        (
            Page("mas-5522090", "en_north_sinai_development.txt", ticker=False, boilerplate=False),
            "https://www.masress.com/en/ahramonline/5522090",
        ),
    ]
    lines = []
    rows = []
    for page, url in pages:
        lines.append(jsonl_line({"id": page.page_id, "url": url, "text": page_text(page, ticker)}))
        rows.append(truth_row(dump_id, page, crawl_date, ticker))
    data = "".join(lines).encode("utf-8")
    compressed = zstandard.ZstdCompressor(level=10).compress(data)
    (DUMPS / f"{dump_id}.jsonl.zst").write_bytes(compressed)
    return rows


def build_sauress_dump() -> list[dict]:
    """sauress-ar-2026-02-22.parquet: Arabic pages, one row with a null text."""
    dump_id = "sauress-ar-2026-02-22"
    ticker = TICKER_SAURESS
    crawl_date = "2026-02-22"
    pages = [
        (Page("sau-88101", "ar_qitar_alriyadh_truncated.txt"), "https://www.sauress.com/alriyadh/88101"),
        (Page("sau-88102", "ar_alarsad_amtar_raadiya.txt"), "https://www.sauress.com/okaz/88102"),
    ]
    ids, urls, texts = [], [], []
    rows = []
    for page, url in pages:
        ids.append(page.page_id)
        urls.append(url)
        texts.append(page_text(page, ticker))
        rows.append(truth_row(dump_id, page, crawl_date, ticker))
    ids.append("sau-88103")
    urls.append("https://www.sauress.com/alwatan/88103")
    texts.append(None)
    rows.append(rejected_row(dump_id, "sau-88103", crawl_date, "bad_record"))
    table = pa.table(
        {
            "id": pa.array(ids, pa.string()),
            "url": pa.array(urls, pa.string()),
            "text": pa.array(texts, pa.string()),
            "crawl_date": pa.array([crawl_date] * len(ids), pa.string()),
        }
    )
    pq.write_table(table, DUMPS / f"{dump_id}.parquet")
    return rows


def build_zip_dump() -> list[dict]:
    """maghress-es-2026-02-23.zip: Spanish pages, one with a French article, and one cp1256 Arabic page."""
    dump_id = "maghress-es-2026-02-23"
    ticker = TICKER_MAGHRESS_ES
    crawl_date = crawl_date_from_dump_id(dump_id)
    pages = [
        Page("noticias/cinco-jovenes-marroquies-incendio-cataluna", "es_cinco_jovenes_incendio_cataluna.txt"),
        Page("marruecos-espana-cooperacion-agua", "es_marruecos_espana_agua.txt"),
        Page("tanger-med-contenedores-2024", "es_tanger_med_contenedores.txt", ticker=False, boilerplate=False),
        # The Spanish edition relaying a French article: its language disagrees with its edition.
        Page("siam-meknes-2025", "es_fr_body_salon_agriculture_meknes.txt"),
        # cp1256 cannot encode the Spanish headlines of the ticker: a bare legacy page.
        Page("hespress-daam-assakan", "ar_daam_assakan_almaghrib.txt", ticker=False, boilerplate=False,
             encoding="cp1256"),
    ]
    rows = []
    with zipfile.ZipFile(DUMPS / f"{dump_id}.zip", "w") as archive:
        directory = zipfile.ZipInfo("noticias/", date_time=ZIP_DATE_TIME)
        directory.external_attr = (0o40755 << 16) | 0x10
        archive.writestr(directory, b"")
        for page in pages:
            if page.encoding in ("cp1252", "cp1256"):
                check_legacy_page(page, ticker)
            member = zipfile.ZipInfo(page.page_id + ".txt", date_time=ZIP_DATE_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            archive.writestr(member, page_bytes(page, ticker))
            rows.append(truth_row(dump_id, page, crawl_date, ticker))
    return rows


def build_tar_dump() -> list[dict]:
    """maghress-fr-2026-02-24.tar.gz: French and English pages, one seen in the folder dump too."""
    dump_id = "maghress-fr-2026-02-24"
    ticker = TICKER_MAGHRESS_FR_TAR
    crawl_date = crawl_date_from_dump_id(dump_id)
    pages = [
        # Same article (and same page_id) as in maghress-fr-2026-02-18/, with this dump's ticker.
        Page("societe/cinq-jeunes-marocains-incendie-catalogne", "fr_cinq_jeunes_incendie_catalogne.txt"),
        Page("economie/tourisme-objectif-2030", "fr_tourisme_objectif_2030.txt"),
        Page("sonelgaz-raccordement-gaz", "fr_sonelgaz_raccordement.txt"),  # no footer
        Page("tunisie-huile-olive", "fr_tunisie_huile_olive.txt", ticker=False, boilerplate=False),
        Page("le-caire-forum-urbain-mondial", "fr_le_caire_forum_urbain.txt"),
        Page("en/morocco-ramadan-begins", "en_morocco_ramadan_begins.txt"),
        Page("en/world-cup-stadium-works", "en_world_cup_stadium_works.txt"),
        # A brief: title, publication line and footer, no body text (body '', not NULL).
        Page("en/brief-rabat-tram-line", "en_brief_rabat_tram_line.txt"),
        # The footer's words quoted inside the article: the body ends at the last footer line.
        Page("medias/lecteurs-lien-source", "fr_lecteurs_lien_source.txt"),
        # Mac Roman: neither UTF-8 nor cp1252 nor cp1256 gives a publication line.
        Page("archives/oujda-gare-routiere", "fr_oujda_gare_routiere.txt", ticker=False, boilerplate=False,
             encoding="mac_roman", status="encoding"),
    ]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for directory in ("societe", "economie", "en", "medias", "archives"):
            info = tarfile.TarInfo(directory)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            info.mtime = TAR_MTIME
            archive.addfile(info)
        rows = []
        for page in pages:
            data = page_bytes(page, ticker)
            info = tarfile.TarInfo(page.page_id + ".txt")
            info.size = len(data)
            info.mode = 0o644
            info.mtime = TAR_MTIME
            archive.addfile(info, io.BytesIO(data))
            rows.append(truth_row(dump_id, page, crawl_date, ticker))
    (DUMPS / f"{dump_id}.tar.gz").write_bytes(gzip.compress(buffer.getvalue(), mtime=0))
    return rows


def build_wet_dump() -> list[dict]:
    """CC-MAIN-20260225101530-20260225131530-00042.warc.wet.gz: a Common Crawl WET file
    (written with warcio, one gzip member per record): a warcinfo record (not a page), two
    Maghress pages, and a page of another site (no publication line). crawl_date is each
    record's WARC-Date, not the date in the name."""
    dump_id = "CC-MAIN-20260225101530-20260225131530-00042"
    ticker = TICKER_MAGHRESS_FR_TAR
    records = [
        # (WARC-Record-ID, WARC-Target-URI, WARC-Date, page)
        ("<urn:uuid:3f1c2a54-7c1e-4b8e-9a51-0d6a4c1f2e01>", "https://www.maghress.com/fr/lavieeco/tourisme-2030",
         "2026-02-25T10:17:42Z", Page("", "fr_tourisme_objectif_2030.txt")),
        ("<urn:uuid:9b7d5e10-2f4a-4c3b-8e6d-5a1b2c3d4e02>", "https://www.djazairess.com/echorouk/118204",
         "2026-02-26T00:04:09Z", Page("", "ar_tahliat_miyah_aljazair.txt", ticker=False)),
        ("<urn:uuid:c4e8f2a6-1b3d-4f5e-8a7c-9d0e1f2a3b03>", "https://example.org/weather/casablanca",
         "2026-02-25T11:30:00Z", Page("", None, status="no_publication_line",
                                      raw="Casablanca weather\nSunny, 21 °C. Wind 12 km/h from the west.\n".encode())),
    ]
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    info = b"isPartOf: CC-MAIN-2026-09\r\npublisher: Common Crawl\r\n"
    writer.write_record(writer.create_warc_record(
        f"{dump_id}.warc.wet.gz", "warcinfo", payload=io.BytesIO(info), length=len(info),
        warc_content_type="application/warc-fields",
        warc_headers_dict={"WARC-Record-ID": "<urn:uuid:00c0ffee-0000-4000-8000-000000000042>",
                           "WARC-Date": "2026-02-25T10:15:30Z"},
    ))
    rows = []
    for record_id, url, crawled, page in records:
        page.page_id = record_id
        data = page_bytes(page, ticker)
        writer.write_record(writer.create_warc_record(
            url, "conversion", payload=io.BytesIO(data), length=len(data), warc_content_type="text/plain",
            warc_headers_dict={"WARC-Record-ID": record_id, "WARC-Date": crawled},
        ))
        rows.append(truth_row(dump_id, page, crawled[:10], ticker))
    (DUMPS / f"{dump_id}.warc.wet.gz").write_bytes(buffer.getvalue())
    return rows

# --------------------------------------------------------------------------------------
# Checks on the data itself, then main
# --------------------------------------------------------------------------------------


def headline_key(text: str) -> str:
    """The identity of a headline (docs/contract.md): NFKC, whitespace collapse, case folding."""
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


def check_headline_identities() -> None:
    """The variants meant to share a headline_id with a real-ticker headline really do."""
    real = {headline_key(headline) for headline in real_ticker()}
    same_id_variants = [
        TICKER_DJAZAIRESS[2],       # case only
        TICKER_MAGHRESS_ES[6],      # single NBSP before the colon
        TICKER_MAGHRESS_FR_TAR[11], # double space
        TICKER_MAGHRESS_FR_TAR[12], # trailing space
        TICKER_MAGHRESS_FR_TAR[15], # decomposed accents
        TICKER_MAGHRESS_FR_TAR[16], # U+2026 instead of "..."
    ]
    for variant in same_id_variants:
        assert headline_key(variant) in real, variant
        assert variant not in real_ticker(), variant
    near_duplicates = [
        TICKER_MAGHRESS_FR_TAR[0],  # "5" for "Cinq"
        TICKER_MAGHRESS_ES[1],      # "Espagne : " prefix
        TICKER_MAGHRESS_ES[4],      # accents removed
        TICKER_MAGHRESS_FR_TAR[4],  # a word added
        TICKER_MAGHRESS_FR_TAR[6],  # punctuation added
    ]
    for variant in near_duplicates:
        assert headline_key(variant) not in real, variant


def check_all_sources_used() -> None:
    written = {path.name for path in PAGES_SRC.glob("*.txt")}
    assert written == USED_SOURCES, f"unused pages_src files: {sorted(written - USED_SOURCES)}"


def main() -> None:
    if DUMPS.exists():
        shutil.rmtree(DUMPS)
    DUMPS.mkdir()
    check_headline_identities()

    rows: list[dict] = []
    for build in (
        build_folder_dump,
        build_djazairess_dump,
        build_turess_dump,
        build_masress_dump,
        build_sauress_dump,
        build_zip_dump,
        build_tar_dump,
        build_wet_dump,
    ):
        rows.extend(build())

    check_all_sources_used()
    keys = [(row["dump_id"], row["page_id"]) for row in rows]
    assert len(keys) == len(set(keys)), "duplicate (dump_id, page_id)"

    with TRUTH.open("w", encoding="utf-8", newline="\n") as out:
        for row in rows:
            out.write(json.dumps({field: row[field] for field in TRUTH_FIELDS}, ensure_ascii=False) + "\n")

    print(f"wrote {len(rows)} truth rows to {TRUTH.relative_to(SAMPLES.parent)}")
    for entry in sorted(DUMPS.iterdir()):
        print(f"  {entry.relative_to(SAMPLES.parent)}")


if __name__ == "__main__":
    main()
