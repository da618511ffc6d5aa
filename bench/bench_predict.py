"""Remaining-time prediction on the four shared logs, against the published numbers.

    .venv/bin/python bench/bench_predict.py [--logs DIR] [--only helpdesk,receipt] [--libraries]
    (or ESCALATOR_EVENTLOGS=DIR; DIR holds helpdesk.xes.gz, bpic2012.xes.gz, ...)

Without --logs the logs shipped in tests/data are used (helpdesk and receipt whole,
bpic2012 and bpic2013 as extracts, so their figures are not the published logs').

Per log: MAE in days under the published protocol (64/16/20 chronological split by
case start, traces < 3 events dropped, prefixes 2..n-1), the baseline's MAE, breach
AUC/Brier, training time (encoding + boosters, 2 threads), scoring throughput
(prefixes/s, encoding included), artefact size and the memory a loaded model adds.
Goals (issue 14): MAE <= best published (helpdesk 4.80, BPIC12 5.49, BPIC13
incidents 2.39, receipt 1.46); training <= 60 s; scoring >= 50,000 prefixes/s;
artefact <= 20 MB; loaded model <= 150 MB extra. Prints a JSON summary at the end.
With --libraries, also XGBoost, CatBoost and HistGradientBoosting side by side with
LightGBM on the same features and split (bench/predict_libraries.py; `.[bench]`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

from escalator.detectors.backtest import choose_journey  # noqa: E402
from escalator.detectors.prediction.prefixes import encode_prefixes  # noqa: E402
from escalator.detectors.prediction.protocol import (  # noqa: E402
    evaluate_protocol,
    journey_calendar,
    train_predictor,
)
from escalator.detectors.readers import read_log  # noqa: E402
from escalator.policies.loader import load_policies  # noqa: E402

# (policy directory, published PGTNet 2024 MAE, best published MAE), days.
LOGS = {
    "helpdesk": ("helpdesk", 5.41, 4.80),
    "bpic2012": ("bpic2012", 5.49, 5.49),
    "bpic2013_incidents": ("bpic2013_incidents", 2.39, 2.39),
    "receipt": ("receipt", 1.46, 1.46),
}

_MEMORY_PROBE = """
import sys, json
from pathlib import Path
sys.path.insert(0, sys.argv[1])
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) * 1024
import polars  # the detector has these loaded already
from escalator.policies.loader import load_policies
from escalator.detectors.backtest import choose_journey
ps = load_policies([Path(sys.argv[3])]); j = choose_journey(ps, None)
before = rss()
from escalator.detectors.prediction.model import load_predictor
p = load_predictor(Path(sys.argv[2]), j, business_hours=j.calendar is not None)
after = rss()
print(json.dumps({"before": before, "after": after}))
"""


def bench_log(name: str, log: Path, libraries: bool = False) -> dict[str, Any]:
    policy_dir, pgtnet, best = LOGS[name]
    policies = load_policies([ROOT / "escalator" / "policies" / "eventlogs" / policy_dir])
    journey = choose_journey(policies, None)
    events = read_log(log, journey).events
    result = evaluate_protocol(events, policies, journey)
    t0 = time.perf_counter()
    model = train_predictor(events, policies, journey)
    full_train_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.json"
        model.save(path)
        size = path.stat().st_size
        probe = subprocess.run(
            [sys.executable, "-c", _MEMORY_PROBE, str(ROOT), str(path),
             str(ROOT / "escalator" / "policies" / "eventlogs" / policy_dir)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        mem = json.loads(probe.stdout)
    # Scoring: encode every prefix of the log and predict remaining time and risk.
    calendar = journey_calendar(policies, journey)
    t0 = time.perf_counter()
    rows = encode_prefixes(events, journey, model.vocab, calendar=calendar)
    model.remaining_days(rows)
    x = rows.select([pl.col(f).cast(pl.Float64) for f in model.features]).to_numpy()
    for b in model.breach.values():
        b.risk(x)
    score_s = time.perf_counter() - t0
    mae = result["mae_days"]
    compared = None
    if libraries:
        from predict_libraries import compare_libraries

        compared = compare_libraries(events, policies, journey)
    return {
        "libraries": compared,
        "log": name,
        "events": events.height,
        "cases": events["case_id"].n_unique(),
        "test_prefixes": result["test_prefixes"],
        "mae_days": mae,
        "baseline_mae_days": result["baseline_mae_days"],
        "pgtnet_mae_days": pgtnet,
        "best_published_mae_days": best,
        "goal_met": mae is not None and mae <= best,
        "gap_days": round(mae - best, 3) if mae is not None else None,
        "breach": {k: {"auc": v["auc"], "brier": v["brier"]} for k, v in result["breach"].items()},
        "protocol_train_seconds": result["train_seconds"],
        "full_train_seconds": round(full_train_s, 2),
        "scoring_prefixes_per_second": round(rows.height / score_s),
        "artefact_bytes": size,
        "loaded_model_extra_mb": round((mem["after"] - mem["before"]) / 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", default=os.environ.get("ESCALATOR_EVENTLOGS"))
    parser.add_argument("--only", default=",".join(LOGS))
    parser.add_argument("--libraries", action="store_true", help="compare boosting libraries")
    args = parser.parse_args()
    logs_dir = Path(args.logs) if args.logs else ROOT / "tests" / "data"
    names = [n for n in args.only.split(",") if n]

    def log_file(name: str) -> Path:
        whole = logs_dir / f"{name}.xes.gz"
        extracts = sorted(logs_dir.glob(f"{name}_head*.xes.gz"))
        return whole if whole.exists() or not extracts else extracts[0]

    missing = [n for n in names if not log_file(n).exists()]
    if missing or any(n not in LOGS for n in names):
        sys.exit(
            f"bench_predict: {logs_dir}: missing {', '.join(f'{n}.xes.gz' for n in missing)}"
            f" (known logs: {', '.join(LOGS)})"
        )
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; cpus {os.cpu_count()}")
    results = []
    for name in names:
        r = bench_log(name, log_file(name), args.libraries)
        results.append(r)
        print(
            f"{name:<20} MAE {r['mae_days']:.2f} d (best published {r['best_published_mae_days']},"
            f" PGTNet {r['pgtnet_mae_days']}, baseline {r['baseline_mae_days']:.2f}); "
            f"train {r['full_train_seconds']} s; {r['scoring_prefixes_per_second']:,} prefixes/s;"
            f" {r['artefact_bytes'] / 1e6:.2f} MB; +{r['loaded_model_extra_mb']} MB loaded",
            flush=True,
        )
        for lib, v in (r["libraries"] or {}).items():
            print(
                f"  {lib:<22} MAE {v['mae_days']:.2f} d; train {v['train_seconds']} s; "
                f"{v['prefixes_per_second']:,} prefixes/s",
                flush=True,
            )
    print(json.dumps({"load_average": load, "results": results}))


if __name__ == "__main__":
    main()
