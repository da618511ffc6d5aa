"""A predicted_breach payload as owners read it (Slack blocks and Temporal UI share it)."""

from __future__ import annotations

from escalator.workflows.presentation import prediction_lines


def test_prediction_lines_show_risk_completion_features_and_model() -> None:
    payload = {
        "sli": "shipped_within_24h",
        "prediction": {
            "risk": 0.83,
            "predicted_completion": "2026-03-04T10:00:00Z",
            "deadline": "2026-03-03T18:00:00Z",
            "prefix_length": 3,
            "last_event": "backordered",
            "top_features": "last_activity=backordered (+1.20)",
            "model_version": "abc123def456",
        },
    }
    text = "\n".join(prediction_lines(payload))
    for part in ("83 %", "2026-03-04T10:00:00Z", "backordered (+1.20)", "abc123def456"):
        assert part in text
    assert prediction_lines({"state": "awaiting_inventory"}) == []
