"""Is what a log yielded fit to judge? No events, or more rows quarantined than allowed,
is refused with a summary of the reasons and their lines, never reported as "0 firings".

The default limit is 1 % of the rows; ``allow_quarantine`` turns a refusal into a
warning (the rows stay in the quarantine file either way). A log whose rows are all
zone-less, with no zone given, is refused even then: it is a setting, not bad data.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from escalator.detectors.events import ZONELESS, ReadResult
from escalator.detectors.log_errors import LogRejectedError
from escalator.policies.journeys import Journey

__all__ = ["DEFAULT_MAX_QUARANTINE", "QuarantineSummary", "admit", "summarize"]

DEFAULT_MAX_QUARANTINE = 0.01
TOP_REASONS = 5
LINES_SHOWN = 5


@dataclass(frozen=True)
class QuarantineSummary:
    events: int
    quarantined: int
    reasons: list[tuple[str, int, list[int]]]  # reason, rows, first lines

    @property
    def share(self) -> float:
        total = self.events + self.quarantined
        return self.quarantined / total if total else 0.0

    def lines(self) -> list[str]:
        out = []
        for reason, count, lines in self.reasons:
            where = ", ".join(str(n) for n in lines)
            more = " ..." if count > len(lines) else ""
            out.append(f"  {count:>8,} x {reason} (line {where}{more})")
        return out


def summarize(read: ReadResult) -> QuarantineSummary:
    counts: Counter[str] = Counter()
    lines: dict[str, list[int]] = {}
    for row in read.quarantine.rows:
        reason = str(row["reason"])
        counts[reason] += 1
        shown = lines.setdefault(reason, [])
        line = row.get("line")
        if isinstance(line, int) and len(shown) < LINES_SHOWN:
            shown.append(line)
    reasons = [(r, n, lines[r]) for r, n in counts.most_common(TOP_REASONS)]
    return QuarantineSummary(read.events.height, len(read.quarantine), reasons)


def _zone_hint(journey: Journey | None, calendar_zone: str | None) -> str:
    name = f"journey {journey.name!r}" if journey else "the journey"
    example = calendar_zone or "Europe/Amsterdam"
    also = f" (its calendar uses {calendar_zone})" if calendar_zone else ""
    return (
        f"set 'timezone: {example}' on {name}{also}, or pass --assume-timezone {example}, "
        "to say which zone the log's local times are in"
    )


def admit(
    read: ReadResult,
    *,
    max_quarantine: float = DEFAULT_MAX_QUARANTINE,
    allow_quarantine: bool = False,
    journey: Journey | None = None,
    calendar_zone: str | None = None,
    quarantine_file: str | None = None,
) -> QuarantineSummary:
    """The summary when the log may be judged; :class:`LogRejectedError` when it may not.

    The caller prints ``summary.lines()`` as a warning when anything was quarantined.
    """
    source = read.quarantine.source
    summary = summarize(read)
    where = f" -> {quarantine_file}" if quarantine_file else ""
    if summary.events == 0 and summary.quarantined == 0:
        raise LogRejectedError(
            f"{source}: no events: the file has no rows to read; "
            "check that this is the log you meant, or export it again"
        )
    if summary.events == 0 and all(r.startswith(ZONELESS) for r, _, _ in summary.reasons):
        raise LogRejectedError(
            f"{source}: every timestamp is written without an offset; "
            + _zone_hint(journey, calendar_zone)
        )
    over = summary.share > max_quarantine
    if (summary.events == 0 or over) and not allow_quarantine:
        head = (
            "no events: every row was quarantined"
            if summary.events == 0
            else f"{summary.quarantined:,} of {summary.events + summary.quarantined:,} rows "
            f"({100 * summary.share:.2f} %) quarantined, over the limit of "
            f"{100 * max_quarantine:g} %"
        )
        raise LogRejectedError(
            "\n".join(
                [
                    f"{source}: {head}{where}; the most frequent reasons:",
                    *summary.lines(),
                    "Fix the log or its journey's 'columns:'/'events:'; to judge the rest "
                    "anyway pass --allow-quarantine (or raise --max-quarantine).",
                ]
            )
        )
    return summary
