"""What a watch must remember across restarts: a small JSON file for `escalator detect
--watch`, a row of the records for detection on Temporal (`escalator.records.watch_states`).

* ``watermark``: the last row read, so a restart reads on from there;
* ``open``: dedupe keys raised and not cleared, so a restart neither raises them
  again nor forgets to clear them;
* ``raised``: every occurrence (dedupe key @ onset) ever raised, so an episode that
  began and ended between two polls is raised once, not on every restart;
* ``started_at``: firings older than the first start are history, not news.

The file is written to a temporary file and renamed, so a crash never leaves half a state.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from escalator.detectors.sql_source import Watermark

__all__ = ["StateKeeper", "WatchFile", "WatchState"]


@dataclass
class WatchState:
    started_at: datetime
    watermark: Watermark | None = None
    open: dict[str, dict[str, Any]] = field(default_factory=dict)
    raised: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, path: Path, now: datetime) -> WatchState:
        if not path.exists():
            return cls(started_at=now)
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            started_at=datetime.fromisoformat(data["started_at"]),
            watermark=Watermark.from_json(data.get("watermark")),
            open=dict(data.get("open", {})),
            raised=set(data.get("raised", [])),
        )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "started_at": self.started_at.isoformat(),
            "watermark": self.watermark.to_json() if self.watermark else None,
            "open": self.open,
            "raised": sorted(self.raised),
        }
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, path)


class StateKeeper(Protocol):
    """Where a watcher writes its state after every poll."""

    def save(self, state: WatchState) -> None: ...


@dataclass(frozen=True)
class WatchFile:
    """The state in a JSON file (the standalone watcher)."""

    path: Path

    def load(self, now: datetime) -> WatchState:
        return WatchState.load(self.path, now)

    def save(self, state: WatchState) -> None:
        state.save(self.path)
