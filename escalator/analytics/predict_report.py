"""The HTML page of `escalator predict evaluate --html`: MAE by prefix length, calibration."""

from __future__ import annotations

from html import escape
from typing import Any

__all__ = ["render_evaluation"]

W, H, PAD = 520, 260, 40


def _polyline(points: list[tuple[float, float]], colour: str) -> str:
    text = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{text}"/>'


def _axes(x_label: str, y_label: str, y_max: float) -> str:
    return (
        f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - 10}" y2="{H - PAD}" stroke="#444"/>'
        f'<line x1="{PAD}" y1="10" x2="{PAD}" y2="{H - PAD}" stroke="#444"/>'
        f'<text x="{W / 2}" y="{H - 8}" text-anchor="middle">{escape(x_label)}</text>'
        f'<text x="12" y="20">{escape(y_label)} (max {y_max:.2f})</text>'
    )


def _mae_chart(result: dict[str, Any]) -> str:
    model = result.get("mae_days_by_prefix_length") or {}
    base = result.get("baseline_mae_days_by_prefix_length") or {}
    lengths = sorted(int(k) for k in model)
    if not lengths:
        return "<p>No test prefixes.</p>"
    y_max = max([*model.values(), *base.values(), 1e-9])
    span = max(lengths[-1] - lengths[0], 1)

    def pt(n: int, v: float) -> tuple[float, float]:
        x = PAD + (n - lengths[0]) / span * (W - PAD - 20)
        return x, (H - PAD) - v / y_max * (H - PAD - 20)

    lines = _polyline([pt(n, model[str(n)]) for n in lengths], "#1f6feb")
    lines += _polyline([pt(n, base[str(n)]) for n in lengths if str(n) in base], "#999")
    return (
        f'<svg id="mae-by-prefix" width="{W}" height="{H}">{_axes("prefix length", "MAE days", y_max)}'
        f"{lines}</svg><p>blue: model, grey: baseline (median per prefix length)</p>"
    )


def _calibration_chart(name: str, table: list[dict[str, Any]]) -> str:
    def pt(p: float, o: float) -> tuple[float, float]:
        return PAD + p * (W - PAD - 20), (H - PAD) - o * (H - PAD - 20)

    pts = [
        pt(r["mean_predicted"], r["observed_rate"])
        for r in table
        if r["mean_predicted"] is not None
    ]
    diagonal = _polyline([pt(0, 0), pt(1, 1)], "#ccc")
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#d1242f"/>' for x, y in pts)
    return (
        f'<svg class="calibration" data-sli="{escape(name)}" width="{W}" height="{H}">'
        f"{_axes('predicted breach probability', 'observed rate', 1.0)}{diagonal}"
        f"{_polyline(pts, '#d1242f') if len(pts) > 1 else ''}{dots}</svg>"
    )


def render_evaluation(result: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{b['base_rate']}</td><td>{b['brier']}</td>"
        f"<td>{b['auc']}</td></tr>"
        for name, b in result.get("breach", {}).items()
    )
    charts = "".join(
        f"<h3>Calibration: {escape(name)}</h3>{_calibration_chart(name, b['reliability'])}"
        for name, b in result.get("breach", {}).items()
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Prediction: {escape(str(result.get('journey')))}</title></head><body>"
        f"<h1>Remaining time: {escape(str(result.get('journey')))}</h1>"
        f"<p>{escape(str(result.get('protocol')))}</p>"
        f"<p>MAE <b>{result.get('mae_days')}</b> days over {result.get('test_prefixes')} test "
        f"prefixes; baseline {result.get('baseline_mae_days')} days.</p>"
        f"<h2>MAE by prefix length</h2>{_mae_chart(result)}"
        f"<h2>Breach risk</h2><table><tr><th>SLI</th><th>base rate</th><th>Brier</th>"
        f"<th>AUC</th></tr>{rows}</table>{charts}</body></html>"
    )
