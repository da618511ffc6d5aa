"""A saved model the watch loop reloads when its file changes (retrained in place).

`Predictor.save` replaces the file atomically, so a reload never reads half a
model. A missing or refused file is logged once and the last good model kept (none
before the first): predicted_breach then fires nothing rather than stopping the watch.
"""

from __future__ import annotations

import logging
from pathlib import Path

from escalator.detectors.prediction.model import ModelMismatch, Predictor, load_predictor
from escalator.policies.journeys import Journey

__all__ = ["ModelFile"]

log = logging.getLogger(__name__)


class ModelFile:
    def __init__(self, path: Path, journey: Journey, *, business_hours: bool) -> None:
        self.path, self.journey, self.business_hours = path, journey, business_hours
        self._stamp: tuple[int, int] | None = None
        self._model: Predictor | None = None
        self._seen = False  # the first call always tries, even for a missing file
        self.loads = 0  # how many times a new version was read (tests, /metrics)
        self.problem: str | None = None

    def current(self) -> Predictor | None:
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        if self._seen and stamp == self._stamp:
            return self._model
        self._seen, self._stamp = True, stamp
        try:
            self._model = load_predictor(
                self.path, self.journey, business_hours=self.business_hours
            )
            self.loads += 1
            self.problem = None
            log.info("loaded model %s (%s)", self.path, self._model.version)
        except ModelMismatch as exc:
            if str(exc) != self.problem:
                log.warning("predicted_breach: %s", exc)
            self.problem = str(exc)
        return self._model
