"""Edition templates, read from the data file that users extend (newsdesk/editions.toml)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

from newsdesk.project import EDITIONS_FILE

_FIELD_PATTERNS = {
    "{source}": r"(?P<source>\S.*?)",
    "{DD}": r"(?P<day>\d{1,2})",
    "{MM}": r"(?P<month>\d{1,2})",
    "{YYYY}": r"(?P<year>\d{4})",
}
_DATE_FIELDS = ("{DD}", "{MM}", "{YYYY}")
HORIZONTAL_SPACE = r"[^\S\n]"


@dataclass(frozen=True)
class Edition:
    code: str
    publication: str
    footer: str
    boilerplate: tuple[str, ...]
    legacy_encoding: str

    @property
    def marker(self) -> str:
        """The literal text a publication line starts with, for a cheap first filter."""
        return self.publication.split("{", 1)[0].strip()

    @cached_property  # asked for every batch's publication lines
    def publication_regex(self) -> str:
        """A regex matching a whole (stripped) publication line, with named fields."""
        parts = re.split(r"(\{source\}|\{DD\}|\{MM\}|\{YYYY\})", self.publication)
        pieces = [_FIELD_PATTERNS.get(part) or _literal(part) for part in parts]
        # The span from the first to the last date field is kept verbatim as published_raw.
        date_positions = [i for i, part in enumerate(parts) if part in _DATE_FIELDS]
        first, last = date_positions[0], date_positions[-1]
        pieces[first] = "(?P<published_raw>" + pieces[first]
        pieces[last] = pieces[last] + ")"
        return "^" + "".join(pieces) + "$"


def _literal(text: str) -> str:
    # A run of spaces matches any run of horizontal whitespace (no-break spaces appear in
    # real pages), and the date's dashes tolerate missing spaces ("25-11-2009").
    pattern = []
    for piece in re.split(r"(\s*-\s*|\s+)", text):
        if piece.strip() == "-":
            pattern.append(f"{HORIZONTAL_SPACE}*-{HORIZONTAL_SPACE}*")
        elif piece.isspace():
            pattern.append(f"{HORIZONTAL_SPACE}+")
        elif piece:
            pattern.append(re.escape(piece))
    return "".join(pattern)


@cache
def load_editions(path: Path = EDITIONS_FILE) -> tuple[Edition, ...]:
    """The edition templates in file order; a malformed file raises ValueError naming the problem."""
    try:
        tables = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"cannot read edition templates {path}: {error}") from error
    editions = []
    for code, table in tables.items():
        missing = {"publication", "footer"} - table.keys()
        if missing:
            raise ValueError(f"edition [{code}] in {path} lacks {', '.join(sorted(missing))}")
        fields = set(re.findall(r"\{[^}]*\}", table["publication"]))
        unknown_fields = fields - _FIELD_PATTERNS.keys()
        if unknown_fields or fields != _FIELD_PATTERNS.keys():
            raise ValueError(
                f"edition [{code}] publication line must use {{source}}, {{DD}}, {{MM}}, {{YYYY}}; "
                f"each once; found {sorted(fields)}"
            )
        editions.append(
            Edition(
                code=code,
                publication=table["publication"],
                footer=table["footer"].strip(),
                boilerplate=tuple(line.strip() for line in table.get("boilerplate", [])),
                legacy_encoding=table.get("legacy_encoding", "cp1252"),
            )
        )
    return tuple(editions)
