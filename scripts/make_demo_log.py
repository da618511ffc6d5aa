"""Regenerate the demo's synthetic event logs (deterministic): escalator/stack/demo_data/*.csv."""

from __future__ import annotations

from pathlib import Path

from escalator.detectors.demo_log import write_demo_logs

if __name__ == "__main__":
    out = Path(__file__).resolve().parent.parent / "escalator" / "stack" / "demo_data"
    for journey, path in write_demo_logs(out).items():
        print(f"{journey}: {path} ({sum(1 for _ in path.open()) - 1} events)")
