"""The one rule for what a dumps folder needs: which dumps to parse (again), which are up to
date, and which left. The dumps-folder sensor and `newsdesk run` both decide with it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from newsdesk.readers import Dump


@dataclass(frozen=True)
class DumpsWork:
    to_parse: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)  # parsed with this content, partition file current
    removed: list[str] = field(default_factory=list)  # known dumps no longer in the folder
    new: list[str] = field(default_factory=list)  # dumps not known before (not yet partitions)


def plan_dumps_work(
    dumps: Iterable[Dump],
    known: set[str],
    parsed_signatures: Mapping[str, str | None],
    part_file_is_current: Callable[[str], bool],
) -> DumpsWork:
    """A dump needs parsing when it was never parsed, when its content changed since its last
    parse (its signature: sizes and modification times), or when its partition file is missing
    or was written by an older version. `known`: the dumps already known (the partitions);
    `parsed_signatures`: the signature each dump had when it was last parsed. The signature of
    a dump never parsed is not taken: for a folder it is a stat of every file, seconds for a
    large corpus before its first parse can start."""
    work = DumpsWork()
    present = set()
    for dump in dumps:
        present.add(dump.dump_id)
        if dump.dump_id not in known:
            work.new.append(dump.dump_id)
        parsed = parsed_signatures.get(dump.dump_id)
        if parsed is not None and parsed == dump.signature and part_file_is_current(dump.dump_id):
            work.up_to_date.append(dump.dump_id)
        else:
            work.to_parse.append(dump.dump_id)
    work.removed.extend(sorted(known - present))
    return work
