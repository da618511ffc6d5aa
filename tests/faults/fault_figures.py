"""What the providers received, judged against what the policy promised: the suite's figures.

Ground truth is the fake providers' own store, never the worker's word: a
Slack message counts when the fake Slack stored it as a top-level post, an
SMS when the fake Twilio stored it. Each is matched to its exception by the
subject in its text and to its page by (channel, conversation):

- expected: exceptions times the policy's pages (fault_policy.PAGES);
- delivered: expected pages the provider holds at least once;
- duplicated: copies beyond the first of a delivered page;
- lost: expected pages the provider never received;
- worst extra delay: the latest first copy, measured from when the page was
  due (raise time + the level's offset), in seconds.

Every scenario's figures are kept in FIGURES; the conftest prints them at the
end of the run and writes them to .escalator/faults-figures.json, the source
of the table in docs/reliability.md.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fakes.slack_api import FakeSlack
from fakes.twilio_api import FakeTwilio
from fault_policy import DM_USER, PAGES, Page

__all__ = ["FIGURES", "Figures", "PageKey", "figures_file", "provider_pages", "write_figures"]

PageKey = tuple[str, str, str]  # (subject, channel, target) as named in the policy
FIGURES: list[Figures] = []


@dataclass
class Figures:
    scenario: str
    faults: str  # what was injected, in words
    faults_injected: int  # requests refused/reset/stalled + processes killed + connections cut
    exceptions: int
    expected: int
    delivered: int
    duplicated: int
    lost: int
    recorded_failed: int = 0  # notification rows the worker wrote as failed
    raise_errors: int = 0  # raise calls that failed and were retried, as a detector would
    worst_extra_delay_s: float | None = None
    worst_page: str | None = None  # (subject, channel, target) of that delay
    duplicates: list[str] = field(default_factory=list)  # which pages, for the failure message
    missing: list[str] = field(default_factory=list)

    def line(self) -> str:
        delay = "-" if self.worst_extra_delay_s is None else f"{self.worst_extra_delay_s:.1f} s"
        return (
            f"{self.scenario}: {self.faults} | faults {self.faults_injected}, exceptions "
            f"{self.exceptions}, notifications expected {self.expected} / delivered "
            f"{self.delivered} / duplicated {self.duplicated} / lost {self.lost}, recorded "
            f"failed {self.recorded_failed}, raise errors {self.raise_errors}, "
            f"worst extra delay {delay}"
        )


def provider_pages(
    slack: FakeSlack, twilio: FakeTwilio, subjects: set[str]
) -> dict[PageKey, list[float]]:
    """Acceptance times of every top-level post, SMS and voice call about ``subjects``, by
    page."""
    conversations = {f"D{DM_USER}": ("slack_dm", DM_USER)}
    for name, cid in slack.channels.items():
        conversations[cid] = ("slack", name)
    found: dict[PageKey, list[float]] = defaultdict(list)
    with slack._lock:
        messages = [m for m in slack.messages.values() if not m.thread_ts]
    for m in messages:
        subject = _subject(m.text, subjects)
        if subject is not None and m.channel in conversations:
            channel, target = conversations[m.channel]
            found[(subject, channel, target)].append(m.at)
    with twilio._lock:
        sent = [("sms", m, m.body) for m in twilio.messages]
        sent += [("voice", c, c.twiml) for c in twilio.calls_made]
    for channel, item, text in sent:
        subject = _subject(text or "", subjects)
        if subject is not None:
            found[(subject, channel, item.to)].append(item.at)
    return {k: sorted(v) for k, v in found.items()}


def _subject(text: str, subjects: set[str]) -> str | None:
    # Subjects are whole words of the message (fallback text / SMS body); one may be a
    # prefix of another ("kill-3", "kill-30"), so match tokens, never substrings.
    for token in text.replace(":", " ").split():
        if token in subjects:
            return token
    return None


def expected_pages(
    raised_at: dict[str, float], pages: Sequence[Page] = PAGES
) -> dict[PageKey, float]:
    """Every page the policy owes, with the wall-clock time it is due."""
    return {
        (subject, p.channel, p.target): at + p.due
        for subject, at in raised_at.items()
        for p in pages
    }


def judge(
    scenario: str,
    faults: str,
    faults_injected: int,
    raised_at: dict[str, float],
    received: dict[PageKey, list[float]],
    *,
    recorded_failed: int = 0,
    raise_errors: int = 0,
    pages: Sequence[Page] = PAGES,
) -> Figures:
    due = expected_pages(raised_at, pages)
    delivered = [k for k in due if received.get(k)]
    extra = {k: received[k][0] - due[k] for k in delivered}
    worst = max(extra, key=lambda k: extra[k]) if extra else None
    duplicates = {k: len(received[k]) - 1 for k in delivered if len(received[k]) > 1}
    stray = [k for k in received if k not in due]  # a page to a target the policy never named
    return Figures(
        scenario=scenario,
        faults=faults,
        faults_injected=faults_injected,
        exceptions=len(raised_at),
        expected=len(due),
        delivered=len(delivered),
        duplicated=sum(duplicates.values()) + sum(len(received[k]) for k in stray),
        lost=len(due) - len(delivered),
        recorded_failed=recorded_failed,
        raise_errors=raise_errors,
        worst_extra_delay_s=round(extra[worst], 2) if worst else None,
        worst_page=str(worst) if worst else None,
        duplicates=[f"{k} x{n + 1}" for k, n in sorted(duplicates.items())]
        + [f"{k} (not in the policy)" for k in stray],
        missing=[str(k) for k in due if not received.get(k)],
    )


def figures_file() -> Path:
    """Where the run's figures go: ESCALATOR_FAULTS_FIGURES, or .escalator/ in the checkout."""
    default = Path(__file__).resolve().parents[2] / ".escalator" / "faults-figures.json"
    return Path(os.environ.get("ESCALATOR_FAULTS_FIGURES", default))


def write_figures(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = [asdict(f) for f in FIGURES]
    path.write_text(json.dumps(rows, indent=2) + "\n")
