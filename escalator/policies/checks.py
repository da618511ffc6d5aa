"""Cross-checks over a whole policy set, run by the loader after every item validated.

Each finding is a :class:`Problem` at the file and line of the offending
reference. What is checked:

- **unknown references**: a rule's journey, owner, escalation, playbook and
  calendar; an escalation level's role; an escalation policy's
  ``incident_lead_role`` and calendar; a journey's calendar; a role's digest calendar. A name that exists
  but failed validation is not reported again as unknown.
- **duplicate names** per kind, across all files; duplicate SLI names in a
  journey and duplicate step names in a playbook.
- **empty escalation policy**: no levels, so nobody is ever notified.
- **unreachable escalation level**: a level that can never notify anybody new.
  Level *i* is unreachable when an earlier level already notified the same
  role on every one of level *i*'s channels: escalating to it repeats what
  already happened and failed to get a response, so it can never reach
  someone who was not reached before. (Repeating the whole policy is what
  ``repeat`` is for.)
- **channel that reaches nobody**: a level's channel for which no member of the
  role has an address (``sms``/``voice`` with no phone numbers, ``slack_dm``
  with no Slack user id, ``slack`` when the role has no ``slack_channel``).
- **member without the contact a level needs**: a member the role's schedule
  can put on call lacks the phone number or Slack user id a level's
  ``sms``/``voice``/``slack_dm`` channel needs.
- **gaps in an on-call schedule**: times within a year of its latest layer start
  when no layer is active, unless the schedule says ``allow_gaps``.
- **burn-rate tier that can never fire**: its threshold, scaled to the
  journey's SLO window, is above ``1 / (1 - objective)`` for one of the
  journey's SLIs: even an error ratio of 100 % burns slower than that.
- **durations longer than the SLO window** of a journey whose rules use the
  escalation policy: a level's response time, ``time_to_restore``,
  ``max_snooze`` and ``ack_timeout``. The SLO is decided before they end.
- **business hours without a calendar**: a latency rule or an escalation level
  that counts business hours, with no calendar on the rule, its escalation
  policy or its journey.
- **events outside the journey's vocabulary**: when a journey declares
  ``events``, every event a rule, SLI or outcome names must be one of them.

Items that failed validation are checked too, as partial models
(:mod:`escalator.policies.salvage`), so one run reports the schema problems and the
cross-check problems together. A check that needs a field the partial model
lacks (``AttributeError``) is skipped for that item only.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from escalator.policies.duration import format_duration
from escalator.policies.errors import Problem
from escalator.policies.integrations import integration_problems
from escalator.policies.journeys import AvailabilitySLI, Journey, LatencySLI
from escalator.policies.roles import LevelChannel, Member, OwnerRole
from escalator.policies.rules import (
    CompletenessRule,
    ConformanceRule,
    LatencyRule,
    PredictedBreachRule,
    QualityRule,
    VolumeRule,
)
from escalator.policies.schedule_sweep import gaps
from escalator.policies.schedules import Schedule
from escalator.policies.webhooks import webhook_name

if TYPE_CHECKING:
    from escalator.policies.locate import SourceRef
    from escalator.policies.rules import ExceptionRule

__all__ = ["channel_reaches", "run_checks"]

GAP_HORIZON = timedelta(days=371)

_KIND_WORD = {
    "journeys": "journey",
    "rules": "rule",
    "roles": "role",
    "escalation_policies": "escalation policy",
    "playbooks": "playbook",
    "calendars": "calendar",
    "integrations": "integration",
    "webhooks": "webhook",
    "heartbeats": "heartbeat",
}


def run_checks(
    items: dict[str, list[Any]],
    sources: dict[str, list[SourceRef]],
    broken: dict[str, set[str]],
    *,
    partial: bool = False,
) -> list[Problem]:
    """Every cross-check finding, in no particular order (the loader sorts).

    ``items[key][i]`` came from ``sources[key][i]``; ``partial`` says some items
    are partial models of broken ones, whose unknown fields skip a check.
    """
    checker = _Checker(items, sources, broken, partial)
    return [
        *checker.duplicates(),
        *checker.references(),
        *checker.heartbeats(),
        *checker.escalation_policies(),
        *checker.burn_rate_tiers(),
        *checker.windows(),
        *checker.calendars_needed(),
        *checker.event_vocabulary(),
        *checker.inner_duplicates(),
        *checker.predicted_slis(),
        *integration_problems(items["integrations"], sources["integrations"], items["rules"]),
        *checker.schedule_gaps(),
    ]


def channel_reaches(channel: LevelChannel, role: OwnerRole) -> bool:
    """Whether any member of ``role`` can be reached on ``channel`` at all."""
    if channel == "console" or webhook_name(channel) is not None:  # a tool, not a person
        return True
    if channel == "slack":  # a post in the role's channel, as the workflow sends it
        return role.slack_channel is not None
    if channel == "slack_dm":
        return any(m.slack_user_id for m in role.members)
    return any(m.phone for m in role.members)  # sms, voice


def _named(items: Iterable[Any]) -> dict[str, Any]:
    """Items by name, first wins; a partial item without a valid name is left out."""
    out: dict[str, Any] = {}
    for item in items:
        name = getattr(item, "name", None)
        if isinstance(name, str):
            out.setdefault(name, item)
    return out


_Body = Callable[[Any, "SourceRef"], Iterator[Problem]]


class _Checker:
    def __init__(
        self,
        items: dict[str, list[Any]],
        sources: dict[str, list[SourceRef]],
        broken: dict[str, set[str]],
        partial: bool,
    ) -> None:
        self.p = SimpleNamespace(**items)
        self.src = sources
        self.broken = broken
        self.partial = partial
        self.names = {key: set(_named(getattr(self.p, key))) for key in self.src}

    def _items(self, key: str) -> Iterator[tuple[Any, SourceRef]]:
        yield from zip(getattr(self.p, key), self.src[key], strict=True)

    def _each(self, key: str, body: _Body) -> Iterator[Problem]:
        """``body`` per item; for a partial item, stop at its first unknown field."""
        for item, ref in self._items(key):
            try:
                yield from body(item, ref)
            except AttributeError:
                if not self.partial:
                    raise  # a bug in a check, not a broken item

    # --- names and references -------------------------------------------

    def duplicates(self) -> Iterator[Problem]:
        for key, word in _KIND_WORD.items():
            first: dict[str, SourceRef] = {}

            def body(
                item: Any, ref: SourceRef, word: str = word, first: Any = first
            ) -> Iterator[Problem]:
                if item.name in first:
                    other = first[item.name]
                    yield ref.problem(
                        f"duplicate {word} name {item.name!r}, first defined at "
                        f"{other.file}:{other.at('name')[0]}; names must be unique per kind",
                        "name",
                    )
                else:
                    first[item.name] = ref

            yield from self._each(key, body)

    def _ref(
        self, ref: SourceRef, key: str, name: str | None, *path: str | int
    ) -> Iterator[Problem]:
        if name is None or name in self.names[key] or name in self.broken.get(key, set()):
            return
        word = _KIND_WORD[key]
        known = sorted(self.names[key])
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        listing = ", ".join(known) if known else f"none; define it under '{key}:'"
        yield ref.problem(f"unknown {word} {name!r}{hint}; expected one of: {listing}", *path)

    def _field_ref(
        self, item: Any, ref: SourceRef, key: str, field: str, *path: str | int
    ) -> Iterator[Problem]:
        """A reference in ``item.field``; an unknown (broken) field skips only this one."""
        try:
            name = getattr(item, field)
        except AttributeError:
            if not self.partial:
                raise
            return
        yield from self._ref(ref, key, name, *(path or (field,)))

    def references(self) -> Iterator[Problem]:
        def rule(rule: Any, ref: SourceRef) -> Iterator[Problem]:
            yield from self._field_ref(rule, ref, "journeys", "journey")
            yield from self._field_ref(rule, ref, "roles", "owner")
            yield from self._field_ref(rule, ref, "escalation_policies", "escalation")
            yield from self._field_ref(rule, ref, "playbooks", "playbook")
            if isinstance(rule, LatencyRule):
                yield from self._field_ref(rule, ref, "calendars", "calendar")

        def policy(policy: Any, ref: SourceRef) -> Iterator[Problem]:
            yield from self._field_ref(policy, ref, "roles", "incident_lead_role")
            yield from self._field_ref(policy, ref, "calendars", "calendar")
            for i, level in enumerate(policy.levels):
                yield from self._field_ref(level, ref, "roles", "role", "levels", i, "role")

        def journey(journey: Any, ref: SourceRef) -> Iterator[Problem]:
            yield from self._field_ref(journey, ref, "calendars", "calendar")

        def role(role: Any, ref: SourceRef) -> Iterator[Problem]:
            if role.digest is not None:
                yield from self._field_ref(
                    role.digest, ref, "calendars", "calendar", "digest", "calendar"
                )

        yield from self._each("rules", rule)
        yield from self._each("escalation_policies", policy)
        yield from self._each("journeys", journey)
        yield from self._each("roles", role)

    def inner_duplicates(self) -> Iterator[Problem]:
        yield from self._each(
            "journeys", lambda j, ref: _dupes(ref, "SLI", [s.name for s in j.slis], "slis")
        )
        yield from self._each(
            "playbooks", lambda p, ref: _dupes(ref, "step", [s.name for s in p.steps], "steps")
        )
        yield from self._each(
            "roles", lambda r, ref: _dupes(ref, "member", [m.name for m in r.members], "members")
        )

    def predicted_slis(self) -> Iterator[Problem]:
        journeys = _named(self.p.journeys)  # partial models may lack a name
        for rule, ref in self._items("rules"):
            if not isinstance(rule, PredictedBreachRule):
                continue
            journey = journeys.get(getattr(rule, "journey", ""))
            if journey is None:
                continue
            slis = getattr(journey, "slis", None) or []
            latency = [s.name for s in slis if isinstance(s, LatencySLI)]
            if getattr(rule, "sli", None) not in latency:
                yield ref.problem(
                    f"sli {rule.sli!r} is not a latency SLI of journey {journey.name!r} "
                    f"(latency SLIs: {', '.join(latency) or 'none'}); a predicted_breach rule "
                    "protects one of them",
                    "sli",
                )

    def heartbeats(self) -> Iterator[Problem]:
        def body(beat: Any, ref: SourceRef) -> Iterator[Problem]:
            yield from self._field_ref(beat, ref, "rules", "rule")
            yield from self._field_ref(beat, ref, "calendars", "calendar")
            yield from self._field_ref(beat, ref, "journeys", "journey")

        yield from self._each("heartbeats", body)

    # --- escalation policies --------------------------------------------

    def escalation_policies(self) -> Iterator[Problem]:
        roles = _named(self.p.roles)

        def body(policy: Any, ref: SourceRef) -> Iterator[Problem]:
            if not policy.levels:
                yield ref.problem(
                    "an escalation policy with no levels never notifies anyone; "
                    "add at least one level (role, channels, response_time)",
                    "levels",
                )
                return
            for i, level in enumerate(policy.levels):
                yield from self._level(policy, ref, i, level, roles)

        yield from self._each("escalation_policies", body)

    def _level(
        self, policy: Any, ref: SourceRef, i: int, level: Any, roles: dict[str, Any]
    ) -> Iterator[Problem]:
        try:
            earlier = [
                j
                for j, prev in enumerate(policy.levels[:i])
                if prev.role == level.role and set(level.channels) <= set(prev.channels)
            ]
        except AttributeError:
            if not self.partial:
                raise
            return  # an earlier or this level is broken: reachability is unknown
        if earlier:
            yield ref.problem(
                f"level {i + 1} is unreachable: level {earlier[0] + 1} already notified "
                f"role {level.role!r} on {', '.join(level.channels)}, so escalating "
                "reaches nobody new; use another role or a new channel "
                "(or 'repeat' to go round again)",
                "levels",
                i,
            )
        for c, channel in enumerate(level.channels):
            hook = webhook_name(channel)
            if hook is not None:
                yield from self._ref(ref, "webhooks", hook, "levels", i, "channels", c)
        role = roles.get(level.role)
        if role is None:
            return
        for c, channel in enumerate(level.channels):
            if not channel_reaches(channel, role):
                yield ref.problem(
                    f"channel {channel!r} reaches nobody in role {role.name!r}: "
                    f"{_missing_address(channel)}",
                    "levels",
                    i,
                    "channels",
                    c,
                )
                continue
            missing = [m.name for m in _can_be_on_call(role) if not _member_reached(channel, m)]
            if missing:
                yield ref.problem(
                    f"channel {channel!r} misses {', '.join(missing)} of role {role.name!r}, "
                    f"who can be on call: {_missing_address(channel, person=True)}",
                    "levels",
                    i,
                    "channels",
                    c,
                )

    # --- on-call schedules ----------------------------------------------

    def schedule_gaps(self) -> Iterator[Problem]:
        def body(role: Any, ref: SourceRef) -> Iterator[Problem]:
            schedule = role.schedule
            if not isinstance(schedule, Schedule) or schedule.allow_gaps:
                return
            if role.name in self.broken.get("roles", set()):
                return  # a partial model: its schedule's problems are reported already
            # A year from the latest layer start meets every weekday and both daylight
            # saving changes of every zone the layers use.
            start = max(layer.handoff(0) for layer in schedule.layers)
            found = gaps(schedule, start, start + GAP_HORIZON)
            if found:
                first, until = found[0]
                zone = ZoneInfo(schedule.layers[0].timezone)
                when = (
                    f"{first.astimezone(zone):%a %Y-%m-%d %H:%M} until "
                    f"{until.astimezone(zone):%a %H:%M} {zone.key}"
                )
                yield ref.problem(
                    f"nobody is on call in role {role.name!r} from {when} "
                    f"({len(found)} gaps in a year); add a layer or window covering it, "
                    "or set 'allow_gaps: true' if nobody should be",
                    "schedule",
                )

        yield from self._each("roles", body)

    # --- SLO maths ------------------------------------------------------

    def burn_rate_tiers(self) -> Iterator[Problem]:
        def body(journey: Any, ref: SourceRef) -> Iterator[Problem]:
            explicit = "routing" in ref.node
            for t, tier in enumerate(journey.routing):
                threshold = tier.threshold(journey.window)
                for sli in journey.slis:
                    yield from self._tier(ref, explicit, t, tier, threshold, sli)

        yield from self._each("journeys", body)

    def _tier(
        self, ref: SourceRef, explicit: bool, t: int, tier: Any, threshold: float, sli: Any
    ) -> Iterator[Problem]:
        try:
            ceiling = 1 / (1 - sli.objective / 100)
        except AttributeError:
            if not self.partial:
                raise
            return  # this SLI is broken; the others are still checked
        if threshold > ceiling + 1e-9:
            field = "burn_rate" if tier.burn_rate is not None else "budget_fraction"
            where = ("routing", t, field) if explicit else ("routing",)
            which = f"tier {t + 1}" if explicit else f"default tier {t + 1}"
            yield ref.problem(
                f"{which} ({tier.action}, burn rate {threshold:.4g} over "
                f"{format_duration(tier.long_window)}) can never fire for SLI "
                f"{sli.name!r}: at objective {sli.objective:g} % the highest "
                f"possible burn rate is {ceiling:.4g}; lower the burn rate "
                "(or budget_fraction) or the objective",
                *where,
            )

    def _windows_by_policy(self) -> dict[str, tuple[timedelta, str]]:
        """The shortest SLO window of the journeys whose rules use each escalation policy."""
        journeys = _named(self.p.journeys)
        out: dict[str, tuple[timedelta, str]] = {}
        for rule in self.p.rules:
            try:
                journey = journeys.get(rule.journey)
                if journey is None:
                    continue
                best = out.get(rule.escalation)
                if best is None or journey.window < best[0]:
                    out[rule.escalation] = (journey.window, journey.name)
            except AttributeError:
                if not self.partial:
                    raise
        return out

    def windows(self) -> Iterator[Problem]:
        windows = self._windows_by_policy()

        def body(policy: Any, ref: SourceRef) -> Iterator[Problem]:
            if policy.name not in windows:
                return
            window, journey = windows[policy.name]
            checked: list[tuple[str, str, _Path]] = [
                ("response time", "response_time", ("levels", i, "response_time"))
                for i in range(len(policy.levels))
            ]
            checked += [
                ("time_to_restore", "time_to_restore", ("time_to_restore",)),
                ("max_snooze", "max_snooze", ("max_snooze",)),
                ("ack_timeout", "ack_timeout", ("ack_timeout",)),
            ]
            for what, field, path in checked:
                owner = policy.levels[path[1]] if path[0] == "levels" else policy
                value = getattr(owner, field, None) if self.partial else getattr(owner, field)
                if value is not None and value > window:
                    yield ref.problem(
                        f"{what} {format_duration(value)} is longer than the "
                        f"{format_duration(window)} SLO window of journey {journey!r}; "
                        "the SLO is decided before it ends: keep it within the window",
                        *path,
                    )

        yield from self._each("escalation_policies", body)

    # --- calendars ------------------------------------------------------

    def calendars_needed(self) -> Iterator[Problem]:
        journeys = _named(self.p.journeys)
        policies = _named(self.p.escalation_policies)

        def body(rule: Any, ref: SourceRef) -> Iterator[Problem]:
            journey = journeys.get(rule.journey)
            policy = policies.get(rule.escalation)
            if journey is None or policy is None:
                return  # reported as an unknown reference
            has_calendar = bool(
                getattr(rule, "calendar", None) or policy.calendar or journey.calendar
            )
            if has_calendar:
                return
            if isinstance(rule, LatencyRule) and rule.business_hours:
                yield ref.problem(
                    "business_hours is true but no calendar applies; set 'calendar' on the "
                    f"rule, on escalation policy {policy.name!r} or on journey {journey.name!r}",
                    "business_hours",
                )
            for i, level in enumerate(policy.levels):
                if level.business_hours:
                    yield ref.problem(
                        f"escalation policy {policy.name!r} level {i + 1} counts business "
                        "hours but no calendar applies to this rule; set 'calendar' on the "
                        "escalation policy",
                        "escalation",
                    )

        yield from self._each("rules", body)

    # --- event vocabulary -----------------------------------------------

    def event_vocabulary(self) -> Iterator[Problem]:
        journeys = _named(self.p.journeys)

        def journey_body(journey: Any, ref: SourceRef) -> Iterator[Problem]:
            if journey.events is None:
                return
            declared = set(journey.events)
            for path, name in _journey_events(journey):
                # A value that is not a name (a mapping typed into a list, say) has its
                # schema problem reported already; it has no spelling to compare.
                if isinstance(name, str) and name not in declared:
                    yield ref.problem(_not_declared(name, journey), *path)

        def rule_body(rule: Any, ref: SourceRef) -> Iterator[Problem]:
            journey = journeys.get(rule.journey)
            if journey is None or journey.events is None:
                return
            declared = set(journey.events)
            for path, name in _rule_events(rule):
                if isinstance(name, str) and name not in declared:
                    yield ref.problem(_not_declared(name, journey), *path)

        yield from self._each("journeys", journey_body)
        yield from self._each("rules", rule_body)


def _not_declared(name: str, journey: Journey) -> str:
    events = [e for e in journey.events or [] if isinstance(e, str)]
    close = difflib.get_close_matches(name, events, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return (
        f"event {name!r} is not among the events declared by journey {journey.name!r}{hint}; "
        f"expected one of: {', '.join(events)}"
    )


_Path = tuple[str | int, ...]


def _listed(field: str, names: Iterable[str]) -> Iterator[tuple[_Path, str]]:
    for i, name in enumerate(names):
        yield (field, i), name


def _journey_events(journey: Journey) -> Iterator[tuple[_Path, str]]:
    for s, sli in enumerate(journey.slis):
        pre: _Path = ("slis", s)
        if isinstance(sli, AvailabilitySLI):
            for field in ("valid_events", "good_events", "bad_events"):
                for path, name in _listed(field, getattr(sli, field)):
                    yield (*pre, *path), name
        elif isinstance(sli, LatencySLI):
            yield (*pre, "start_event"), sli.start_event
            yield (*pre, "end_event"), sli.end_event
    yield from _listed("completing_events", journey.completing_events)


def _rule_events(rule: ExceptionRule) -> Iterator[tuple[_Path, str]]:
    for path, name in _listed("events", rule.predicts.events):
        yield ("predicts", *path), name
    if rule.predicts.not_reached:
        yield ("predicts", "not_reached"), rule.predicts.not_reached
    if isinstance(rule, LatencyRule):
        if not rule.enter_events:
            yield ("state",), rule.state  # the state is entered by the event of that name
        yield from _listed("enter_events", rule.enter_events)
        yield from _listed("leave_events", rule.leave_events)
    elif isinstance(rule, QualityRule):
        yield from _listed("defect_events", rule.defect_events)
        yield from _listed("valid_events", rule.valid_events)
    elif isinstance(rule, CompletenessRule):
        yield ("gate_event",), rule.gate_event
    elif isinstance(rule, ConformanceRule):
        yield from _listed("start_events", rule.start_events)
        for source, targets in rule.allowed_transitions.items():
            yield ("allowed_transitions", source), source
            for i, target in enumerate(targets):
                yield ("allowed_transitions", source, i), target
        for i, prec in enumerate(rule.precedence):
            yield ("precedence", i, "event"), prec.event
            yield ("precedence", i, "requires"), prec.requires
        for i, resp in enumerate(rule.response):
            yield ("response", i, "event"), resp.event
            yield ("response", i, "then"), resp.then
    elif isinstance(rule, VolumeRule):
        yield from _listed("events", rule.events)


def _dupes(ref: SourceRef, word: str, names: list[str], field: str) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            yield ref.problem(
                f"duplicate {word} name {name!r} (also item {seen[name] + 1}); "
                f"{word} names must be unique here",
                field,
                i,
                "name",
            )
        else:
            seen[name] = i


def _can_be_on_call(role: OwnerRole) -> list[Member]:
    """Members the role's schedule can put on call (overrides aside). Roles with a
    plain rotation are left as they were (``policy explain`` names the member a
    level never reaches): policy sets that loaded before schedules keep loading."""
    if not isinstance(role.schedule, Schedule):
        return []
    names = role.schedule.members()
    return [m for m in role.members if m.name in names]


def _member_reached(channel: LevelChannel, member: Member) -> bool:
    if channel == "slack_dm":
        return member.slack_user_id is not None
    if channel in ("sms", "voice"):
        return member.phone is not None
    return True  # the role's channel or the console: not the member's address


def _missing_address(channel: LevelChannel, *, person: bool = False) -> str:
    if person:
        field = "a 'phone' number (E.164)" if channel in ("sms", "voice") else "a 'slack_user_id'"
        return f"add {field} to each of them, or take them out of the rotation"
    if channel in ("sms", "voice"):
        return "no member has a phone number; add E.164 'phone' numbers or drop the channel"
    if channel == "slack_dm":
        return "no member has a slack_user_id; add them or use 'slack' with a slack_channel"
    return "the role has no slack_channel; add one or use 'slack_dm'"
