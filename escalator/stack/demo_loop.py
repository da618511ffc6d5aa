"""The demo's loop steps: replay the bundled log (`escalator/stack/demo_replay.py`), watch the
loop, respond, report.

"Worked" is checked from the records database the worker writes, never from
what the demo believes it did:

1. every exception the replay raised has a record;
2. at least one escalated beyond level 1;
3. a scripted owner acknowledged one and resolved one (the same updates as
   `escalator ack` / `escalator resolve`, run as those commands);
4. at least one was auto-resolved because its condition cleared (the replay
   sends `clear_condition` at each firing's ``cleared_at``);
5. routing by error budget paged, notified and ticketed (ROUTED steps), and held
   one outside support hours a tier lower;
6. storm control grouped the payment outage (GROUPED steps, a storm message);
7. the report (`escalator report --json --html`) exists and its totals agree
   with the records.

The demo uses the starter policies with ``escalator/stack/demo_data/escalation.yaml``,
a copy of the starter escalation policies with response times in seconds. The
worker routes by error budget over the demo's own logs, judged at each
detection's log time (`routing_env`), so the outcomes do not depend on the hour
the demo runs; onsets, detections and answers share the replay's clock, so the
report's durations are the replay's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from escalator.stack.demo_context import DemoContext, Outcome, Step
from escalator.stack.demo_records import RecordsView, read_records, wait_for_records
from escalator.stack.demo_replay import (
    DEMO_DATA,
    JOURNEYS,
    SPEEDUP,
    demo_policy_files,
    replay_log,
    settings_of,
)

__all__ = ["DEMO_DATA", "JOURNEYS", "LOOP_STEPS", "demo_policy_files", "report_args"]

Result = tuple[Outcome, str]


def _url(ctx: DemoContext) -> str:
    return str(settings_of(ctx).resolved_database_url)


# --- 2. routed, notified, escalated, grouped ----------------------------------


def watch_loop(ctx: DemoContext) -> Result:
    raised: dict[str, str] = ctx.loop.get("raised", {})
    if not raised:
        return Outcome.FAILED, "nothing was raised"

    def ready(v: RecordsView) -> bool:
        return (
            set(raised) <= set(v.exceptions)
            # routed, or cleared before the routing decision was taken
            and all(
                v.exceptions[i]["routing_decision"] or v.exceptions[i]["resolved_by"]
                for i in raised
            )
            and bool(v.escalated)
            and bool(v.grouped)
            and v.storm_messages > 0
        )

    view, error = wait_for_records(_url(ctx), ready, within=60)
    if view is None:
        return Outcome.FAILED, f"the records database did not answer: {error}"
    ctx.loop["view"] = view
    routed: dict[str, int] = {}
    for i in raised:
        row = view.exceptions.get(i) or {}
        decision = row.get("routing_decision") or (
            "cleared before routing" if row.get("resolved_by") else "not yet"
        )
        routed[decision] = routed.get(decision, 0) + 1
    missing = sorted(set(raised) - set(view.exceptions))
    detail = (
        f"{len(set(raised) & set(view.exceptions))}/{len(raised)} recorded; routed "
        f"{', '.join(f'{n} {d}' for d, n in sorted(routed.items()))}; {view.notifications} "
        f"notifications; {len(view.escalated)} escalated beyond level 1; {len(view.grouped)} "
        f"grouped by storm control ({view.storm_messages} storm messages)"
    )
    for action in ("page", "notify", "ticket"):
        example = next(iter(view.routed_as(action)), None)
        if example:
            ctx.echo(f"  {action:6} {example}: {view.routed[example].get('headline')}")
    for held in view.held_for_support_hours[:1]:
        ctx.echo(f"  held   {held}: {view.routed[held].get('reason')}")
    if missing or not view.escalated or not view.grouped:
        return Outcome.FAILED, detail + (
            f"; not recorded: {', '.join(missing[:5])}" if missing else ""
        )
    return Outcome.OK, detail


# --- 3. scripted owners ---------------------------------------------------------


def _escalator_cli(
    ctx: DemoContext, *args: str, out: list[str] | None = None, shown: int = 5
) -> subprocess.CompletedProcess[str]:
    """An escalator command in its own process, exactly as an owner would type it."""
    env = dict(os.environ)
    env.update(
        TEMPORAL_ADDRESS=ctx.options.address,
        TEMPORAL_NAMESPACE=ctx.options.namespace,
        ESCALATOR_STATE_DIR=str(ctx.options.state_dir),
    )
    lines: list[str] = [f"$ escalator {' '.join(args)}"]
    done = subprocess.run(
        [sys.executable, "-m", "escalator.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines += [f"  {line}" for line in done.stdout.strip().splitlines()[:shown]]
    lines += [f"  {line}" for line in done.stderr.strip().splitlines()[:5]]
    if out is None:
        for line in lines:
            ctx.echo(line)
    else:
        out.extend(lines)
    return done


def _pick(view: RecordsView, rule: str, *, grouped: bool | None = None) -> str | None:
    for i, r in view.exceptions.items():
        wanted = grouped is None or (i in view.grouped) == grouped
        if r["rule"] == rule and r["state"] != "resolved" and wanted:
            return i
    return None


# Who answers what: (rule, member, resolve note or None to only acknowledge, grouped?)
SCRIPT: list[tuple[str, str, str | None, bool | None]] = [
    ("awaiting_inventory", "anna", "stock recounted, order allocated from bin B-12", None),
    ("payment_pending", "dirk", "payment captured by phone; customer informed", True),
    ("awaiting_customer", "hugo", None, None),
]


def _answer(
    ctx: DemoContext, target: str, member: str, note: str | None
) -> tuple[list[str], bool, bool | None]:
    """One scripted owner: acknowledge, then resolve when there is a note."""
    lines: list[str] = []
    acked = _escalator_cli(ctx, "ack", target, "--as", member, out=lines).returncode == 0
    resolved = None
    if note is not None:
        done = _escalator_cli(ctx, "resolve", target, "--as", member, "--note", note, out=lines)
        resolved = done.returncode == 0
    return lines, acked, resolved


def owners_respond(ctx: DemoContext) -> Result:
    view = ctx.loop.get("view") or read_records(_url(ctx))
    acked: list[str] = []
    resolved: list[str] = []
    problems: list[str] = []
    jobs = []
    for rule, member, note, grouped in SCRIPT:
        target = _pick(view, rule, grouped=grouped)
        if target is None:
            problems.append(f"no open {rule} exception to answer")
            continue
        jobs.append((target, member, note))
    # The owners answer at the same time, as people would (and a CLI start costs a second).
    with ThreadPoolExecutor(len(jobs) or 1) as pool:
        answers = list(pool.map(lambda job: _answer(ctx, *job), jobs))
    for (target, member, _), (lines, ok_ack, ok_resolve) in zip(jobs, answers, strict=True):
        for line in lines:
            ctx.echo(line)
        if ok_ack:
            acked.append(target)
        else:
            problems.append(f"ack {target} as {member} failed")
        if ok_resolve:
            resolved.append(target)
        elif ok_resolve is False:
            problems.append(f"resolve {target} as {member} failed")

    def answered(v: RecordsView) -> bool:
        return all(v.exceptions[i]["acknowledged_by"] for i in acked) and all(
            v.exceptions[i]["resolved_by"] for i in resolved
        )

    after, error = wait_for_records(_url(ctx), answered, within=30)
    ctx.loop.update(acked=acked, resolved=resolved, view=after)
    if after is None or not answered(after):
        problems.append(f"the answers did not reach the records {error}".strip())
    detail = f"{len(acked)} acknowledged, {len(resolved)} resolved by scripted owners"
    if problems or not acked or not resolved:
        return Outcome.FAILED, f"{detail}; {'; '.join(problems)}"
    return Outcome.OK, detail


# --- 4. the tickets reach the role's digest ----------------------------------------

DIGEST_ROLE = "billing"  # its tickets: process deviations and the pending payment at night


def post_digest(ctx: DemoContext) -> Result:
    """`escalator digest run ROLE`: what the role's morning digest would post now."""
    view = read_records(_url(ctx))
    tickets = sorted(
        i
        for i, r in view.exceptions.items()
        if r["owner_role"] == DIGEST_ROLE
        and r["routing_decision"] == "ticket"
        and r["state"] != "resolved"
    )
    done = _escalator_cli(ctx, "digest", "run", DIGEST_ROLE, shown=20)
    if done.returncode != 0:
        return Outcome.FAILED, f"escalator digest run {DIGEST_ROLE} exited {done.returncode}"
    missing = [i for i in tickets if i not in done.stdout]
    if not tickets or missing:
        return Outcome.FAILED, (
            f"the {DIGEST_ROLE} digest lists {len(tickets) - len(missing)} of its "
            f"{len(tickets)} open tickets" + (f"; missing {', '.join(missing)}" if missing else "")
        )
    slo = "SLO status:" in done.stdout
    return Outcome.OK, (
        f"the {DIGEST_ROLE} digest lists its {len(tickets)} open tickets"
        + (" and each journey's SLO status" if slo else "")
        + " (posted daily at the role's digest time; the worker installs the schedules)"
    )


# --- 5. report ---------------------------------------------------------------------


def report_args() -> list[str]:
    """`escalator report` over the demo's logs and policies. SLOs, budgets and lead time
    are computed as of the replayed log's last event (--logs-as-of end): as of today the
    SLO window would hold none of the log's cases and show untouched budgets."""
    args = ["report", "--logs-as-of", "end"]
    for journey in JOURNEYS:
        args += ["--log", f"{journey}={DEMO_DATA / journey}.csv"]
    for path in demo_policy_files():
        args += ["--policy", str(path)]
    return args


def _durations(report: dict[str, Any]) -> str:
    """The report's medians, and the clock they are on."""
    said = []
    for key, label in (
        ("time_to_detect", "onset -> detected"),
        ("time_to_acknowledge", "detected -> acknowledged"),
        ("time_to_restore", "detected -> resolved"),
    ):
        overall = (report.get(key) or {}).get("overall") or {}
        if overall.get("count"):
            said.append(f"{label} {overall['p50']:.2f} s ({overall['count']})")
    return (
        "  Medians: " + "; ".join(said) + ". On the replay's clock: the log replays at "
        f"{SPEEDUP:,}x (an hour of it in {3600 / SPEEDUP:.1f} s), escalator and the scripted "
        "owners answer in real time."
    )


def write_report(ctx: DemoContext) -> Result:
    html = ctx.options.state_dir / "report.html"
    args = [*report_args(), "--json", "--html", str(html)]
    done = _escalator_cli(ctx, *args, shown=0)  # the JSON is checked below, not shown
    if done.returncode != 0:
        return Outcome.FAILED, f"escalator report exited {done.returncode}"
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        return Outcome.FAILED, f"escalator report --json printed no JSON: {exc}"
    (ctx.options.state_dir / "report.json").write_text(done.stdout, encoding="utf-8")
    view = read_records(_url(ctx))
    totals = report["totals"]
    expected = {
        "exceptions": view.rows,
        "resolved": len([r for r in view.exceptions.values() if r["resolved_by"]]),
        "escalated": len(view.escalated),
    }
    # Counted from the records now: the report was computed a moment earlier, and an
    # exception may have escalated in between; a difference of that kind is allowed
    # only for "escalated", which can only grow.
    wrong = [
        f"{k}: report {totals[k]}, records {v}"
        for k, v in expected.items()
        if totals[k] != v and not (k == "escalated" and totals[k] <= v)
    ]
    ctx.loop.update(report_path=html)
    if not html.exists() or "report-data" not in html.read_text(encoding="utf-8"):
        return Outcome.FAILED, f"{html} was not written"
    if wrong:
        return Outcome.FAILED, "the report disagrees with the records: " + "; ".join(wrong)
    ctx.loop["report"] = report  # only a report that agrees with the records counts
    ctx.echo(_durations(report))
    return Outcome.OK, (
        f"{html}: {totals['exceptions']} exceptions, {totals['resolved']} resolved, "
        f"{totals['escalated']} escalated, {len(report.get('slos', []))} SLOs"
    )


# --- 6. the verdict ---------------------------------------------------------------


def loop_worked(ctx: DemoContext) -> Result:
    raised = ctx.loop.get("raised", {})
    view = read_records(_url(ctx))
    checks: list[tuple[str, Callable[[], bool]]] = [
        (
            "every raised exception recorded",
            lambda: bool(raised) and set(raised) <= set(view.exceptions),
        ),
        ("one escalated beyond level 1", lambda: bool(view.escalated)),
        (
            "one acknowledged by a scripted owner",
            lambda: any(view.exceptions[i]["acknowledged_by"] for i in ctx.loop.get("acked", [])),
        ),
        (
            "one resolved by a scripted owner",
            lambda: any(
                view.exceptions[i]["resolved_by"] not in (None, "detector")
                for i in ctx.loop.get("resolved", [])
            ),
        ),
        ("one auto-resolved by its condition clearing", lambda: bool(view.auto_resolved)),
        (
            "routed by error budget: paged, notified and ticketed",
            lambda: all(view.routed_as(a) for a in ("page", "notify", "ticket")),
        ),
        (
            "one held outside support hours, a tier lower",
            lambda: bool(view.held_for_support_hours),
        ),
        ("storm control grouped the payment outage", lambda: bool(view.grouped)),
        (
            "a predicted breach raised before the latency rule fired for its case",
            lambda: (
                bool(ctx.loop.get("predicted_ahead"))
                and any(
                    r["rule"] == "order_predicted_late"
                    and i.endswith(":" + ctx.loop["predicted_ahead"][0][0])
                    for i, r in view.exceptions.items()
                )
            ),
        ),
        ("the report exists and agrees with the records", lambda: "report" in ctx.loop),
    ]
    failed = [name for name, check in checks if not check()]
    ui = ctx.stack.ui_url if ctx.stack and ctx.stack.ui_url else settings_of(ctx).temporal_ui_url
    report = ctx.loop.get("report_path", ctx.options.state_dir / "report.html")
    ctx.loop["closing"] = [
        f'\nTemporal Web UI: {ui}  (filter: EscalatorJourney="orderToShip" AND EscalatorLevel >= 2)',
        f"Report: {Path(report).resolve()}",
    ]
    for line in ctx.loop["closing"]:
        ctx.echo(line)
    if failed:
        return Outcome.FAILED, "not shown: " + "; ".join(failed)
    return Outcome.OK, f"all {len(checks)} checks hold: " + "; ".join(name for name, _ in checks)


LOOP_STEPS: list[Step] = [
    Step("Replay the bundled event log through the detectors", replay_log),
    Step("Exceptions routed, notified, escalated and grouped", watch_loop),
    Step("Owners acknowledge and resolve (scripted)", owners_respond),
    Step("Tickets reach the role's digest (escalator digest run billing)", post_digest),
    Step("Write the report (escalator report --json --html)", write_report),
    Step("The whole loop worked (checked from the records)", loop_worked),
]
