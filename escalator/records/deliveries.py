"""One delivery of one notification, as the delivery ledger keeps it.

Defined here, below `activities`, so the SQL ledger (escalator/records/ledger.py) and
the senders' ledger protocol (escalator/activities/delivery_ledger.py) share one model
while imports keep flowing downward.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DeliveryRecord", "DeliveryState"]

# pending: written before the provider is called (it may hold the message after a crash);
# sent: the provider accepted, with its id. A refusal is a result, not a guard state.
DeliveryState = Literal["pending", "sent"]


def _now() -> datetime:
    return datetime.now(UTC)


class DeliveryRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    idempotency_key: str
    exception_id: str
    channel: str  # slack | slack_dm | sms | voice
    destination: str  # Slack channel or user id, phone number
    state: DeliveryState = "pending"
    provider_message_id: str | None = None  # Slack ts, Twilio SM.../CA... sid
    provider_channel: str | None = None  # Slack's conversation id (a DM answers with D...)
    reply_code: str | None = None  # SMS: the code the owner replies with
    thread_seq: int = 0  # Slack: the last timeline step already posted in the thread
    error: str | None = None
    recorded_at: datetime = Field(default_factory=_now)
