"""The worker's webhook sender, from the configured policies' ``webhooks`` and the
secrets in ``ESCALATOR_WEBHOOK_SECRETS``.

Read once at start: a new or changed webhook needs a worker restart (like new Slack or
Twilio credentials). A declared webhook without its secret is logged at start, and its
deliveries fail permanently with a message naming the setting to add.
"""

from __future__ import annotations

import logging

from escalator.activities.delivery_ledger import DeliveryLedger
from escalator.activities.webhook_sender import WebhookSender
from escalator.errors import InputError
from escalator.policies.errors import PolicyError
from escalator.policy_source import load_configured_policies
from escalator.settings import Settings

__all__ = ["webhook_sender"]

log = logging.getLogger(__name__)


def webhook_sender(settings: Settings, ledger: DeliveryLedger) -> WebhookSender | None:
    """The sender for ``webhook:NAME`` channels; None when no policy declares a webhook."""
    try:
        webhooks = {w.name: w for w in load_configured_policies(settings).webhooks}
    except PolicyError as err:  # the worker still runs the exceptions already started
        log.warning("webhooks not loaded: %s", err)
        return None
    if not webhooks:
        return None
    try:
        secrets = settings.webhook_secret_map()
    except ValueError as err:  # the worker must not start signing with half the secrets
        raise InputError(str(err)) from None
    for hook in webhooks.values():
        if hook.secret_ref not in secrets:
            log.warning(
                "webhook %s has no secret %r in ESCALATOR_WEBHOOK_SECRETS: its deliveries "
                "will fail until it is set",
                hook.name,
                hook.secret_ref,
            )
    log.info("webhooks: %s", ", ".join(f"{w.name} -> {w.url}" for w in webhooks.values()))
    return WebhookSender(webhooks, secrets, ledger)
