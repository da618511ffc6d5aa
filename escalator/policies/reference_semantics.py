"""The rule semantics section of docs/policy-reference.md.

Each statement was checked against the code named in it; when that code
changes, change the sentence here and regenerate (``python -m escalator.policies.reference``).
"""

from __future__ import annotations

__all__ = ["SEMANTICS"]

SEMANTICS = """\
## Semantics the rules really use

### Time

- **Durations are exact, in UTC.** `90d` is 90 x 24 h of elapsed time, also
  across a daylight-saving change (`escalator/policies/duration.py`: a duration is a
  `timedelta`; event times are UTC). Only a latency rule with
  `business_hours: true` and an escalation level with `business_hours: true`
  count in a calendar's support hours instead; a rotation with a `timezone`
  hands off at wall-clock time.
- **`predicts.within` is measured from the case's first event**, not from the
  firing: a case is a bad outcome when it has not reached `not_reached` by
  first event + `within` (`escalator/detectors/scorecard.py`).
- **An outcome not knowable yet is left out of the scorecard**: a case whose
  `within` deadline lies after the log's end without `not_reached`, or, for an
  outcome with `events` in a journey with `completing_events`, a case that has
  neither a bad event nor a completing event by the log's end
  (`escalator/detectors/scorecard.py`).

### Latency rules (`escalator/detectors/rules/latency.py`)

- A case **enters** the state at an `enter_events` event (default: the event
  named like `state`) and **leaves** it at the next `leave_events` event
  (default: any event that does not enter it). A repeated entering event while
  in the state does not restart the clock.
- Onset = entry + `threshold`. The rule fires when the case is still in the
  state at the onset: **a leave event exactly at the deadline is on time**
  (onset < leave is required), a case still in the state fires once onset ≤ now.
- **Every stay in the state is judged on its own, but the subject is the
  case**, so all stays of one case share one dedupe key. A case that leaves and
  re-enters the state after firing does not raise a second exception: while
  the first is open the new firing is a duplicate occurrence of it; resolved
  less than the rule's `reopen_window` ago it reopens it (counted as rework);
  only after that does it start a new one (`escalator/client.py`).

### Quality rules (`escalator/detectors/rules/quality.py`)

- The ratio is **defects / valid** over the sliding window `(t - window, t]`,
  evaluated at every moment it can change. When `valid_events` is given and does
  not include the defect events, the ratio **can exceed 1** (3 defects against
  1 valid event is 3.0); with `valid_events` empty every event is valid, so the
  defects are part of the denominator.
- The rule fires while `valid ≥ min_volume` and the ratio is above
  `threshold`; consecutive such moments are one firing (subject
  `window@<onset>`), cleared at the first moment the condition no longer holds.
- **A flapping condition is one exception** (quality and volume alike): an
  episode that starts no more than the rule's `reopen_window` after the
  previous one cleared keeps that episode's subject, so the exception reopens
  (counted as rework) instead of a new one being raised. Hysteresis: only a
  condition that stayed clear for longer than `reopen_window` raises a new
  exception (a new subject).

### Completeness rules (`escalator/detectors/rules/completeness.py`)

- **Attributes accumulate over the case**: an attribute counts as present when
  the gate event *or any earlier event of the case* carries a non-blank value
  (null, empty and whitespace-only are missing). One firing per case, at its
  first gate event with something missing. An attribute the log never carries
  is missing everywhere.

### Volume rules (`escalator/detectors/rules/volume.py`)

- **Windows are aligned to the Unix epoch**: `1h` windows start on the hour
  UTC, `1d` windows at midnight UTC, whatever the calendar.
- **The baseline is the mean count of the `baseline_periods` previous windows**
  (`previous_windows`), or of the same window of the week in the previous
  `baseline_periods` weeks (`same_hour_of_week`). A window whose baseline
  reaches back before the log's first window is not judged.
- Spike: count > baseline x `factor` and count ≥ `min_count`; its onset is the
  event that crossed the line, so a spike is known mid-window. Drop: a complete
  window with count < baseline / `factor` and baseline ≥ `min_count`; onset =
  the window's end.
- **Consecutive breaching windows merge into one firing** (subject
  `window@<first window start>`), cleared at the end of the first later complete
  window that breaches neither way. A spike or drop that returns within the
  rule's `reopen_window` of the clearing reopens the same exception (as for
  quality rules).

### Conformance rules (`escalator/detectors/rules/conformance.py`)

- A `response` without `within` must be satisfied before the case completes
  (its first `completing_events` event).

### Journeys, events and logs

- **Events outside the journey's `events` list are quarantined** (reason "event
  name not declared in the journey's 'events'"), not counted; `policy check`
  also refuses any rule, SLI or outcome that names an undeclared event.
- **`completing_events` affects lead time only**, among the figures: a case's
  lead time runs from its first event to its first completing event. The SLIs
  do not use it. (The one other use: the deadline of a conformance `response`
  without `within`, above.)
- **A latency SLI takes one `end_event`** (a text, not a list): the case's first
  event of that name stops the clock. Several ways to finish need an
  availability SLI or one event name for all of them.
- **`columns`**: `case_id` (default `case:concept:name`), `event_name`
  (`concept:name`), `timestamp` (`time:timestamp`), `actor`
  (`org:resource`), `lifecycle` (`lifecycle:transition`, none for no such
  column) and `attributes` (columns to keep; empty: all). The defaults are the
  XES standard names, so a CSV written with other headers needs them.
- **Time zones of log timestamps.** A timestamp with an offset (`+01:00`, `Z`)
  keeps it (business hours use that local time). One written without an offset
  is read in the journey's `timezone` (IANA), or in `--assume-timezone ZONE`,
  which overrides it; ambiguous local times (the repeated hour in autumn) take
  the first occurrence, non-existent ones (the skipped hour in spring) are
  quarantined. With no zone given such rows are quarantined, and a log whose
  rows are all zone-less is refused with one line saying what to set
  (`escalator/detectors/events.py`, `escalator/detectors/log_checks.py`).
- **A log that yields no events, or more than 1 % of its rows quarantined, is
  refused** by `detect`, `scorecard`, `report`, `predict` and `mine` (exit 2,
  the most frequent reasons with their line numbers) unless `--allow-quarantine`;
  `--max-quarantine 0.05` sets another limit. A damaged file (a cut or corrupt
  gzip stream, broken XES structure, bytes that are not UTF-8) is refused even
  then, naming the file and line (`escalator/detectors/readers.py`, `escalator/detectors/xes.py`).
  XES traces whose id repeats an earlier trace's are quarantined, not merged.
- **`escalator detect` writes rows it cannot use to
  `.escalator/quarantine/<log name>.jsonl` in the working directory** (the
  state directory, `ESCALATOR_STATE_DIR`) unless `--quarantine FILE` is given.

### Burn-rate tiers (`escalator/policies/journeys.py`, `escalator/policies/checks.py`)

- Burn rate = error ratio / (1 - objective). A tier given as `budget_fraction`
  has the burn rate `budget_fraction x window / long_window`.
- The default tiers (when `routing` is left out) are the SRE workbook's: page
  at 2 % of the budget in `1h` (short window `5m`), page at 5 % in `6h` (`30m`),
  ticket at 10 % in `3d` (`6h`). Over the default `28d` window the first one
  needs a burn rate of 13.44, and no error ratio can burn faster than
  1 / (1 - objective): **with the default tiers and window, `policy check`
  rejects any objective below about 92.6 %** (1 - 1/13.44 = 92.56 %; 93.06 %
  over `30d`). Give your own `routing` for a lower objective.
- Fewer than `min_volume` valid cases in a window: burn rates do not page.
"""
