"""The demo's replay: the bundled log's firings raised and cleared on the replay's clock.

The log (February-March 2026) replays at ``SPEEDUP`` times real time, its quiet gaps
cut to ``MAX_GAP``. Every moment of the log thereby has a moment on the wall clock,
when the replay reaches it: the replay's clock. A firing is raised with its onset on
that clock (the wall-clock moment its condition became true in the replay), so onset,
detection, acknowledgement and resolution share one clock and the report's "onset ->
detected" is how long escalator took to take the detection in, not the months between
the log and today. The firing's moment in the log rides along as the ``log_time``
attribute: the worker routes by the burn rates and support hours of that moment
(`escalator.worker.routing.at_log_time`), so the outcome does not depend on the hour
the demo runs.

The moments the replay reached are kept in ``replay-clock.json`` in the state
directory: a second run replays the very same detections (same onsets), which the
exceptions already raised recognise as ones they have seen.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from escalator.stack.demo_context import DemoContext, Outcome
from escalator.worker.routing import LOG_TIME
from escalator.workflows.contracts import Detection

__all__ = [
    "DEMO_DATA",
    "JOURNEYS",
    "MAX_GAP",
    "SPEEDUP",
    "ReplayClock",
    "demo_policy_files",
    "predicted_ahead",
    "replay_log",
    "replayed_detection",
    "routing_env",
    "settings_of",
]

DEMO_DATA = Path(__file__).resolve().parent / "demo_data"
JOURNEYS = ("orderToShip", "ticketToResolution")
SPEEDUP = 36_000  # one hour of the log replays in 0.1 s
MAX_GAP = 0.25  # seconds: a quiet night in the log is not worth waiting for
REPLAY_WITHIN = 180.0  # seconds: a raise waits for a worker; without one, say so and go on
CLOCK_FILE = "replay-clock.json"
Result = tuple[Outcome, str]
Moment = tuple[datetime, str, Any]  # (log time, "raise" | "clear", the firing)


def routing_env() -> dict[str, str]:
    """The worker's routing for the demo: by error budget, burn rates from the demo's own
    logs, judged at each detection's log time (the log replays at SPEEDUP x real time)."""
    logs = ",".join(f"{j}={DEMO_DATA / j}.csv" for j in JOURNEYS)
    return {
        "ESCALATOR_ROUTING": "budget",
        "ESCALATOR_ROUTING_LOGS": logs,
        "ESCALATOR_ROUTING_REPLAY_SPEED": str(SPEEDUP),
    }


def demo_policy_files() -> list[Path]:
    from escalator.settings import SHIPPED_POLICY_DIR

    shipped = [
        SHIPPED_POLICY_DIR / f"{n}.yaml" for n in ("journeys", "roles", "calendars", "playbooks")
    ]
    return [*shipped, DEMO_DATA / "escalation.yaml"]


def settings_of(ctx: DemoContext) -> Any:
    from escalator.settings import Settings

    return Settings(TEMPORAL_ADDRESS=ctx.options.address, ESCALATOR_STATE_DIR=ctx.options.state_dir)


@dataclass
class ReplayClock:
    """The replay's clock: the wall-clock moment the replay reached each of its moments.

    Kept in the state directory: a second run on it takes the first run's moments, so
    it sends the very same detections, which the exceptions already raised recognise.
    """

    path: Path
    started: datetime
    reached_at: list[float]  # seconds after ``started``, one per moment reached so far

    @classmethod
    def of(cls, state_dir: Path) -> ReplayClock:
        """The state directory's replay clock; a new one, starting now, if it has none."""
        path = state_dir / CLOCK_FILE
        try:
            kept = json.loads(path.read_text(encoding="utf-8"))
            return cls(path, datetime.fromisoformat(kept["started"]), list(kept["reached_at"]))
        except (OSError, ValueError, KeyError, TypeError):  # none yet, or unreadable
            return cls(path, datetime.now(UTC), [])

    def reached(self, index: int) -> datetime:
        """When the replay reached its moment ``index`` (now, unless a run before did)."""
        if index >= len(self.reached_at):
            self.reached_at.append((datetime.now(UTC) - self.started).total_seconds())
            kept = {"started": self.started.isoformat(), "reached_at": self.reached_at}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(kept) + "\n", encoding="utf-8")
        return self.started + timedelta(seconds=self.reached_at[index])


def replayed_detection(firing: Any, onset: datetime) -> Detection:
    """The firing as the replay raises it: onset on the replay's clock, log time attached."""
    d: Detection = firing.to_detection()
    return d.model_copy(
        update={"onset": onset, "attributes": {**d.attributes, LOG_TIME: firing.onset.isoformat()}}
    )


def _timeline(policies: Any) -> list[Moment]:
    """Every firing's onset (raise) and cleared_at (clear), in log time order."""
    from escalator.detectors.backtest import run_backtest
    from escalator.detectors.firing import to_firings

    moments: list[Moment] = []
    for journey in JOURNEYS:
        result = run_backtest(DEMO_DATA / f"{journey}.csv", policies, journey=journey)
        for rule in result.results:
            r = rule.rule
            for f in to_firings(
                rule.frame, rule=r.name, journey=journey, kind=r.kind, severity=r.severity
            ):
                moments.append((f.onset, "raise", f))
                if f.cleared_at is not None:
                    moments.append((f.cleared_at, "clear", f))
    moments.sort(key=lambda m: (m[0], m[1] == "raise", m[2].rule, m[2].subject))
    return moments


def predicted_ahead(moments: list[Moment]) -> list[tuple[str, datetime, str, datetime]]:
    """Cases a predicted_breach rule raised before a latency rule fired for them.

    (case, predicted onset, latency rule, its onset), earliest prediction first: what
    the model bought the owner, on the same case.
    """
    raised = [m[2] for m in moments if m[1] == "raise"]
    predicted = {f.subject: f for f in raised if f.kind == "predicted_breach"}
    ahead = [
        (f.subject, predicted[f.subject].onset, f.rule, f.onset)
        for f in raised
        if f.kind == "latency"
        and f.subject in predicted
        and predicted[f.subject].journey == f.journey
        and predicted[f.subject].onset < f.onset
    ]
    return sorted(ahead, key=lambda a: (a[1], a[0]))


def replay_log(ctx: DemoContext) -> Result:
    from escalator.policies.loader import load_policies

    policies = load_policies(demo_policy_files())
    moments = _timeline(policies)
    settings = settings_of(ctx)
    clock = ReplayClock.of(ctx.options.state_dir)
    ctx.echo(
        f"Replaying {', '.join(f'{DEMO_DATA / j}.csv' for j in JOURNEYS)} at {SPEEDUP:,}x "
        f"({len([m for m in moments if m[1] == 'raise'])} firings, "
        f"{len([m for m in moments if m[1] == 'clear'])} of them clear later); "
        f"the replay's clock started {clock.started:%Y-%m-%d %H:%M:%S} UTC"
        + (f" (a run before; {len(clock.reached_at)} moments kept)" if clock.reached_at else "")
    )

    async def run() -> tuple[dict[str, str], list[str]]:
        from escalator.client import clear_condition, raise_exception
        from escalator.worker.main import connect

        client = await connect(settings)
        raised: dict[str, str] = {}
        cleared: list[str] = []
        previous: datetime | None = None
        for index, (at, what, firing) in enumerate(moments):
            if previous is not None:
                await asyncio.sleep(min((at - previous).total_seconds() / SPEEDUP, MAX_GAP))
            previous = at
            reached = clock.reached(index)
            if what == "raise":
                done = await raise_exception(
                    client,
                    replayed_detection(firing, reached),
                    policies=policies,
                    task_queue=settings.temporal_task_queue,
                )
                raised[done.exception_id] = done.outcome
                ctx.echo(f"  {at:%a %d %b %H:%M} raise {done.exception_id} ({done.outcome})")
            elif await clear_condition(
                client,
                firing.journey,
                firing.rule,
                firing.subject,
                at=reached,
                reason=f"condition cleared in the log at {at:%Y-%m-%d %H:%M} UTC",
            ):
                cleared.append(firing.dedupe_key)
                ctx.echo(f"  {at:%a %d %b %H:%M} clear {firing.dedupe_key}")
        return raised, cleared

    try:
        raised, cleared = asyncio.run(asyncio.wait_for(run(), timeout=REPLAY_WITHIN))
    except TimeoutError:
        return Outcome.FAILED, (
            f"the replay did not finish within {REPLAY_WITHIN:.0f} s: no worker answered "
            "(see the worker's lines above)"
        )
    ahead = predicted_ahead(moments)
    ctx.loop.update(
        raised=raised, cleared=cleared, policy_version=policies.version, predicted_ahead=ahead
    )
    for case, predicted, rule, fired in ahead[:3]:
        ctx.echo(
            f"  predicted breach {case} at {predicted:%a %d %b %H:%M}, {rule} fired at "
            f"{fired:%H:%M}: {(fired - predicted).total_seconds() / 3600:.1f} h earlier"
        )
    kinds = sorted({k.split(":")[2] for k in raised})
    return (
        Outcome.OK,
        f"raised {len(raised)} exceptions ({', '.join(kinds)}); cleared {len(cleared)}; "
        f"{len(ahead)} predicted breaches raised before their case's latency rule",
    )
