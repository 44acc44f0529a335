"""The suite files of expectations/: which checks exist, on which tables, and what they query.

A suite file (expectations/README.md) is one GX expectation suite plus the SQL query whose
result is the batch it validates. Reading the files costs nothing and imports no Great
Expectations, so the Dagster code location declares one asset check per expectation on every
reload; newsdesk.gx_suites runs them.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from newsdesk.project import EXPECTATIONS_DIR

SEVERITIES = ("critical", "warning", "info")  # GX's own levels; critical = broken structure
# The parameter every run sets: true when the checks validate every row, false (a publish's
# checks) when they validate only what the latest publish changed (meta.changed_*).
ALL_ROWS = "all_rows"
_CHECK_NAME = re.compile(r"^[A-Za-z0-9_]+$")


class SuiteError(ValueError):
    """A suite file that cannot be read: its path and what is wrong."""


@dataclass(frozen=True)
class SuiteExpectation:
    """One expectation of a suite, and the Dagster asset check it becomes."""

    check: str  # the check's name, unique per asset
    asset: str  # the warehouse table (asset key) the check is attached to
    type: str  # a GX expectation type, e.g. expect_column_values_to_be_in_set
    kwargs: Mapping[str, Any]
    severity: str  # critical | warning | info
    description: str = ""

    @property
    def blocking(self) -> bool:
        """A critical expectation is broken structure: its failure stops what depends on the table."""
        return self.severity == "critical"

    @property
    def key(self) -> tuple[str, str]:
        return (self.asset, self.check)

    @property
    def level(self) -> str:
        """ERROR (critical) or WARN (warning, info): Dagster's severity, the word every output uses."""
        return "ERROR" if self.blocking else "WARN"


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    asset: str
    description: str
    query: str
    parameters: Mapping[str, Any]
    expectations: tuple[SuiteExpectation, ...]

    def part(self, *, blocking: bool) -> Suite | None:
        """The suite with only its blocking (critical) expectations, or only the others; None
        when it has none of them. The publish audits the blocking part before it commits."""
        kept = tuple(e for e in self.expectations if e.blocking is blocking)
        return dataclasses.replace(self, expectations=kept) if kept else None


def suite_parts(suites: list[Suite], *, blocking: bool) -> list[Suite]:
    return [part for suite in suites if (part := suite.part(blocking=blocking)) is not None]


def load_suites(directory: Path = EXPECTATIONS_DIR) -> list[Suite]:
    """Every suite file (*.yaml, *.yml, *.json) of the folder, checked for what the wiring needs."""
    paths = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
    suites = [_read_suite(path) for path in paths]
    seen: dict[tuple[str, str], Path] = {}
    for suite in suites:
        for expectation in suite.expectations:
            if expectation.key in seen:
                raise SuiteError(
                    f"{suite.path}: check {expectation.check!r} on {expectation.asset!r} "
                    f"is already defined in {seen[expectation.key]}"
                )
            seen[expectation.key] = suite.path
    return suites


def _read_suite(path: Path) -> Suite:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))  # YAML reads JSON too
    except (OSError, yaml.YAMLError) as error:
        raise SuiteError(f"{path}: {error}") from error
    if not isinstance(data, dict):
        raise SuiteError(f"{path}: a suite file holds a mapping (name, asset, query, expectations)")
    for required in ("name", "asset", "query", "expectations"):
        if not data.get(required):
            raise SuiteError(f"{path}: missing {required!r}")
    if ALL_ROWS in (data.get("parameters") or {}):
        raise SuiteError(f"{path}: the parameter {ALL_ROWS!r} is set by each run, not by a suite")
    expectations = []
    for number, item in enumerate(data["expectations"], start=1):
        where = f"{path}: expectation {number}"
        if not isinstance(item, dict) or not item.get("type") or not item.get("check"):
            raise SuiteError(f"{where}: needs at least 'check' and 'type'")
        if not _CHECK_NAME.match(str(item["check"])):
            raise SuiteError(f"{where}: check name {item['check']!r} may use letters, digits and _ only")
        severity = item.get("severity", "warning")
        if severity not in SEVERITIES:
            raise SuiteError(f"{where}: severity {severity!r} is not one of {', '.join(SEVERITIES)}")
        expectations.append(
            SuiteExpectation(
                check=str(item["check"]),
                asset=str(item.get("asset", data["asset"])),
                type=str(item["type"]),
                kwargs=dict(item.get("kwargs") or {}),
                severity=severity,
                description=str(item.get("description", "")).strip(),
            )
        )
    return Suite(
        name=str(data["name"]),
        path=path,
        asset=str(data["asset"]),
        description=str(data.get("description", "")).strip(),
        query=str(data["query"]),
        parameters=dict(data.get("parameters") or {}),
        expectations=tuple(expectations),
    )


def suite_parameters(suite: Suite) -> dict[str, Any]:
    """The suite's parameters; NEWSDESK_CHECK_<NAME> in the environment overrides <name>."""
    values = dict(suite.parameters)
    for name in values:
        override = os.environ.get(f"NEWSDESK_CHECK_{name.upper()}")
        if override is not None:
            values[name] = yaml.safe_load(override)  # 2000-01-01 -> a date, 2 -> an int
    return values
