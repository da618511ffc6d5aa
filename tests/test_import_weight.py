"""The long-running processes do not load the model libraries until a run needs them.

lightgbm brings scipy, scikit-learn, pandas and pyarrow: ~160 MB of resident memory in
every worker replica. The worker once imported them at start through the detection
activity (its watcher reaches the predicted_breach rule), which broke the worker's
≤ 300 MB goal for 10,000 open escalations (docs/benchmarks.md, "Memory on 7 Dec").
A worker that never runs a detection, and every receiver, must stay without them.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("lightgbm", "sklearn", "scipy", "pandas", "pyarrow")


def _loaded_after(module: str) -> list[str]:
    code = (
        "import json, sys\n"
        f"import {module}\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize("module", ["escalator.worker.main", "escalator.receiver.app"])
def test_a_process_starts_without_the_model_libraries(module: str) -> None:
    assert _loaded_after(module) == [], (
        f"importing {module} loads model libraries; import them where a run needs them"
    )


def test_the_probe_sees_a_model_library_when_one_is_imported() -> None:
    # The check above is only worth something if it can see such an import.
    assert "lightgbm" in _loaded_after("escalator.detectors.prediction.model")
