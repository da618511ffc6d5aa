"""Alert payloads as escalator reads them: Alertmanager (webhook version 4), Grafana
unified alerting (version 1) and generic JSON with the paths an integration names.

Each becomes a list of :class:`Alert`; a payload that is not what its endpoint expects is
an :class:`AlertPayloadError` naming the field, answered 400 by the receiver.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from escalator.errors import InputError
from escalator.policies.integrations import GenericFields, Integration

__all__ = ["Alert", "AlertPayloadError", "parse_alerts"]

# Alertmanager's "zero" time for an alert that has not ended.
_NO_TIME = "0001-01-01T00:00:00Z"


class AlertPayloadError(InputError, ValueError):
    """The body is not the payload the endpoint expects (which field, and what was found)."""


@dataclass(frozen=True)
class Alert:
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    fingerprint: str
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    url: str | None = None


def parse_alerts(integration: Integration, body: bytes) -> list[Alert]:
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise AlertPayloadError(f"the body is not JSON ({err})") from None
    if integration.source == "alertmanager":
        return _versioned(data, "4", "Alertmanager webhook")
    if integration.source == "grafana":
        return _versioned(data, "1", "Grafana unified alerting webhook")
    return _generic(data, integration.fields or GenericFields())


def _versioned(data: Any, version: str, what: str) -> list[Alert]:
    if not isinstance(data, dict):
        raise AlertPayloadError(f"expected a {what} payload (a JSON object)")
    if str(data.get("version")) != version:
        raise AlertPayloadError(
            f"expected a {what} payload with version {version!r}, got "
            f"version {data.get('version')!r}"
        )
    alerts = data.get("alerts")
    if not isinstance(alerts, list):
        raise AlertPayloadError(f"field 'alerts' must be a list in a {what} payload")
    return [_alert(item, i) for i, item in enumerate(alerts)]


def _alert(item: Any, index: int) -> Alert:
    where = f"alerts[{index}]"
    if not isinstance(item, dict):
        raise AlertPayloadError(f"{where} must be an object")
    labels = _strings(item.get("labels"), f"{where}.labels")
    status = item.get("status")
    if status not in ("firing", "resolved"):
        raise AlertPayloadError(f"{where}.status must be 'firing' or 'resolved', got {status!r}")
    fingerprint = item.get("fingerprint")
    return Alert(
        status=status,
        labels=labels,
        fingerprint=str(fingerprint) if fingerprint else labels_fingerprint(labels),
        annotations=_strings(item.get("annotations") or {}, f"{where}.annotations"),
        starts_at=_time(item.get("startsAt"), f"{where}.startsAt"),
        ends_at=_time(item.get("endsAt"), f"{where}.endsAt"),
        url=str(item["generatorURL"]) if item.get("generatorURL") else None,
    )


def _generic(data: Any, fields: GenericFields) -> list[Alert]:
    if fields.alerts:
        items = _path(data, fields.alerts)
        if not isinstance(items, list):
            raise AlertPayloadError(f"field {fields.alerts!r} must be a list of alerts")
    else:
        items = [data]
    out = []
    for i, item in enumerate(items):
        where = f"alert {i + 1}"
        labels = (
            _strings(_path(item, fields.labels) or {}, f"{where}: {fields.labels}")
            if fields.labels
            else {}
        )
        for name, path in fields.label_fields.items():
            value = _path(item, path)
            if value is not None:
                labels[name] = value if isinstance(value, str) else json.dumps(value)
        status = str(_path(item, fields.status) or "firing") if fields.status else "firing"
        resolved = status.lower() in {v.lower() for v in fields.resolved_values}
        fingerprint = _path(item, fields.fingerprint) if fields.fingerprint else None
        annotations = _path(item, fields.annotations) if fields.annotations else None
        url = _path(item, fields.url) if fields.url else None
        out.append(
            Alert(
                status="resolved" if resolved else "firing",
                labels=labels,
                fingerprint=str(fingerprint) if fingerprint else labels_fingerprint(labels),
                annotations=_strings(annotations or {}, f"{where}: {fields.annotations}"),
                starts_at=_time(_path(item, fields.starts_at), f"{where}: {fields.starts_at}")
                if fields.starts_at
                else None,
                url=str(url) if url else None,
            )
        )
    return out


def labels_fingerprint(labels: dict[str, str]) -> str:
    """A stable identity from the labels alone (what Alertmanager's fingerprint is, too)."""
    raw = json.dumps(sorted(labels.items()), separators=(",", ":")).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def _path(data: Any, path: str) -> Any:
    """``a.b.0.c`` in nested objects and lists; None where it does not lead anywhere."""
    here = data
    for part in path.split("."):
        if isinstance(here, dict):
            here = here.get(part)
        elif isinstance(here, list) and part.isdigit() and int(part) < len(here):
            here = here[int(part)]
        else:
            return None
    return here


def _strings(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise AlertPayloadError(f"{where} must be an object of names to values")
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}


def _time(value: Any, where: str) -> datetime | None:
    if value in (None, "", _NO_TIME):
        return None
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise AlertPayloadError(f"{where} is not an ISO 8601 time: {value!r}") from None
    if at.year <= 1:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)
