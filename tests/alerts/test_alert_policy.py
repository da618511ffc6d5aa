"""The `integrations:` policy section, the label mapping and the request checks, without
servers (the end-to-end paths are in test_alert_ingestion.py and test_prometheus_peers.py)."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from alert_samples import am_alert, am_payload, signed
from pydantic import SecretStr, ValidationError

from escalator.policies.errors import PolicyError
from escalator.policies.integrations import AlertRoute, Integration, IntegrationAuth
from escalator.policies.loader import load_policies
from escalator.policy_source import load_configured_policies
from escalator.receiver.alert_auth import AlertAuth
from escalator.receiver.alert_mapping import Mapped, Unmatched, map_alert
from escalator.receiver.alert_payloads import AlertPayloadError, parse_alerts
from escalator.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "escalator" / "policies" / "examples"


def test_the_shipped_alertmanager_integration_loads() -> None:
    [prometheus] = load_configured_policies().integrations
    assert (prometheus.source, prometheus.auth.bearer_token_env) == (
        "alertmanager",
        "ESCALATOR_WEBHOOK_TOKEN",
    )


def test_a_route_to_an_unknown_rule_is_a_policy_error_with_its_line(tmp_path: Path) -> None:
    for f in EXAMPLES.glob("*.yaml"):
        if f.name != "integrations.yaml":
            (tmp_path / f.name).write_text(f.read_text())
    (tmp_path / "alerts.yaml").write_text(
        "integrations:\n"
        "  - name: am\n"
        "    source: alertmanager\n"
        "    routes:\n"
        "      - match: {alertname: X}\n"
        "        journey: ticketToResolution\n"
        "        rule: payment_pendng\n"
        "      - journey: ticketToResolution\n"
        "        rule: payment_pending\n"
    )
    with pytest.raises(PolicyError) as caught:
        load_policies([tmp_path])
    text = str(caught.value)
    assert "alerts.yaml:7: integrations[0].routes[0].rule: unknown rule 'payment_pendng'" in text
    assert (
        "alerts.yaml:8: integrations[0].routes[1].journey: rule 'payment_pending' belongs "
        "to journey 'orderToShip', not 'ticketToResolution'" in text
    )


def test_auth_needs_one_method_and_no_two_authorization_headers() -> None:
    with pytest.raises(ValidationError, match="unauthenticated alerts are refused"):
        IntegrationAuth(bearer_token_env=None)
    with pytest.raises(ValidationError, match="both use the Authorization header"):
        IntegrationAuth(basic_user="u", basic_password_env="P")
    with pytest.raises(ValidationError, match="'fields' is for source: generic only"):
        Integration.model_validate({"name": "x", "source": "grafana", "fields": {}})


def test_mapping_by_labels_routes_and_subject_templates() -> None:
    policies = load_configured_policies()
    [prometheus] = policies.integrations
    alert = parse_alerts(
        prometheus,
        am_payload(
            am_alert({"journey": "orderToShip", "rule": "payment_pending", "subject": "o-1"}),
            am_alert({"alertname": "PaymentProviderErrors"}, fingerprint="f2"),
            am_alert({"journey": "ticketToResolution", "rule": "payment_pending"}),
        ),
    )
    assert map_alert(alert[0], prometheus, policies) == Mapped(
        "orderToShip", "payment_pending", "o-1", None
    )
    # The route matches but its subject names a label the alert lacks.
    missing = map_alert(alert[1], prometheus, policies)
    assert isinstance(missing, Unmatched)
    assert "names labels the alert lacks (provider)" in missing.reason
    wrong = map_alert(alert[2], prometheus, policies)
    assert isinstance(wrong, Unmatched)
    assert "belongs to journey 'orderToShip'" in wrong.reason
    only_routes = prometheus.model_copy(
        update={
            "labels_name_rule": False,
            "routes": [AlertRoute(journey="orderToShip", rule="payment_pending")],
        }
    )
    assert map_alert(alert[2], only_routes, policies) == Mapped(
        "orderToShip", "payment_pending", alert[2].fingerprint, None
    )


def test_payload_errors_name_the_field() -> None:
    am = Integration(name="am", source="alertmanager")
    with pytest.raises(AlertPayloadError, match=r"alerts\[0\]\.status must be 'firing'"):
        parse_alerts(am, b'{"version": "4", "alerts": [{"labels": {}, "status": "odd"}]}')
    with pytest.raises(AlertPayloadError, match=r"alerts\[0\]\.startsAt is not an ISO 8601"):
        parse_alerts(
            am,
            b'{"version": "4", "alerts": [{"labels": {}, "status": "firing", "startsAt": "x"}]}',
        )


def secrets(**values: str) -> Callable[[str], SecretStr | None]:
    return lambda name: SecretStr(values[name]) if name in values else None


def test_request_checks() -> None:
    body = b'{"version": "4", "alerts": []}'
    token = Integration(name="am", source="alertmanager")
    auth = AlertAuth(secrets(ESCALATOR_WEBHOOK_TOKEN="t0k"))
    assert auth.refuse(token, {"Authorization": "Bearer t0k"}, body) is None
    assert auth.refuse(token, {}, body).status == 401  # type: ignore[union-attr]
    assert auth.refuse(token, {"Authorization": "Bearer t0"}, body).status == 403  # type: ignore[union-attr]
    unset = AlertAuth(secrets()).refuse(token, {"Authorization": "Bearer t0k"}, body)
    assert unset is not None and unset.status == 503
    assert "ESCALATOR_WEBHOOK_TOKEN unset" in unset.reason

    signed_only = Integration(
        name="s",
        source="generic",
        auth=IntegrationAuth(
            bearer_token_env=None, hmac_secret_env="S", hmac_timestamp_header="X-Ts"
        ),
    )
    check = AlertAuth(secrets(S="k"))
    old = str(int(time.time()) - 600)
    refused = check.refuse(
        signed_only, {"X-Escalator-Signature": signed(body, "k", old), "X-Ts": old}, body
    )
    assert refused is not None and "five minutes" in refused.reason
    now = str(int(time.time()))
    good = {"X-Escalator-Signature": "sha256=" + signed(body, "k", now), "X-Ts": now}
    assert check.refuse(signed_only, good, body) is None
    assert check.refuse(signed_only, good, body).reason == "replayed request"  # type: ignore[union-attr]

    basic = Integration(
        name="b",
        source="grafana",
        auth=IntegrationAuth(bearer_token_env=None, basic_user="u", basic_password_env="P"),
    )
    creds = "Basic " + base64.b64encode(b"u:pw").decode()
    assert AlertAuth(secrets(P="pw")).refuse(basic, {"Authorization": creds}, body) is None
    assert AlertAuth(secrets(P="px")).refuse(basic, {"Authorization": creds}, body).status == 403  # type: ignore[union-attr]


def test_settings_read_the_webhook_token_and_named_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ESCALATOR_WEBHOOK_TOKEN", "tok-secret")
    monkeypatch.setenv("GRAFANA_PASSWORD", "pw-secret")
    settings = Settings()
    assert settings.secret("ESCALATOR_WEBHOOK_TOKEN").get_secret_value() == "tok-secret"  # type: ignore[union-attr]
    assert settings.secret("GRAFANA_PASSWORD").get_secret_value() == "pw-secret"  # type: ignore[union-attr]
    assert settings.secret("UNSET_ONE") is None
    assert "tok-secret" not in repr(settings) + settings.model_dump_json()
