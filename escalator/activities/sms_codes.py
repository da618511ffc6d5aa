"""SMS reply codes and the short text: "Reply ACK 4821 or RES 4821".

A code is derived from the workflow id (so the same exception keeps its code
across retries and workers) and looked up through the delivery ledger (so
the receiver, another process, can map it back). When a different recent
exception already holds the derived code, the next derivation is tried.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from escalator.activities.delivery_ledger import REPLY_CODE_TTL, DeliveryLedger
from escalator.activities.slack_blocks import format_age
from escalator.errors import InputError
from escalator.workflows.contracts import ExceptionStatus

__all__ = [
    "ReplyVerb",
    "SmsReply",
    "SmsReplyError",
    "assign_code",
    "parse_reply",
    "reply_code",
    "sms_text",
]

MAX_ATTEMPTS = 64


def reply_code(exception_id: str, attempt: int = 0) -> str:
    digest = hashlib.sha256(f"{exception_id}#{attempt}".encode()).digest()
    return f"{int.from_bytes(digest[:4], 'big') % 9000 + 1000}"  # 1000..9999: no leading zero


def assign_code(exception_id: str, ledger: DeliveryLedger, now: datetime) -> str:
    """This exception's code: the one it already has, else the first derivation nobody holds."""
    for record in ledger.for_exception(exception_id):
        if record.reply_code:
            return record.reply_code
    since = now - REPLY_CODE_TTL
    for attempt in range(MAX_ATTEMPTS):
        code = reply_code(exception_id, attempt)
        holder = ledger.holder_of_code(code, since)
        if holder is None or holder.exception_id == exception_id:
            return code
    raise RuntimeError(f"no free SMS reply code for {exception_id} after {MAX_ATTEMPTS} tries")


def sms_text(status: ExceptionStatus, now: datetime, code: str) -> str:
    age = format_age(now - status.onset)
    return f"{status.journey}: {status.subject} {status.rule} {age}. Reply ACK {code} or RES {code}"


class ReplyVerb(StrEnum):
    ACK = "ACK"
    RES = "RES"


class SmsReplyError(InputError, ValueError):
    """The reply is not `ACK <code>` or `RES <code> [note]`; the message says what is."""


@dataclass(frozen=True)
class SmsReply:
    verb: ReplyVerb
    code: str
    note: str | None = None


_REPLY = re.compile(r"^\s*(ACK|RES|RESOLVE|ACKNOWLEDGE)\s+(\d{4})\b\s*(.*)$", re.I | re.S)


def parse_reply(body: str) -> SmsReply:
    match = _REPLY.match(body or "")
    if not match:
        raise SmsReplyError("Reply ACK <code> to acknowledge or RES <code> <note> to resolve.")
    verb = ReplyVerb.ACK if match[1].upper().startswith("ACK") else ReplyVerb.RES
    note = match[3].strip() or None
    return SmsReply(verb=verb, code=match[2], note=note)
