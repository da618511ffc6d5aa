"""Typed search attributes that let incident leads filter exceptions in the Temporal Web UI.

One place for the keys: the workflow upserts them, `escalator up` and the test
fixtures register them, `escalator list` queries them.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

__all__ = [
    "ALL_KEYS",
    "CASE_ID",
    "EXHAUSTED",
    "JOURNEY",
    "KIND",
    "LEVEL",
    "OWNER_ROLE",
    "RULE",
    "SEVERITY",
    "STATE",
]

JOURNEY = SearchAttributeKey.for_keyword("EscalatorJourney")
RULE = SearchAttributeKey.for_keyword("EscalatorRule")
KIND = SearchAttributeKey.for_keyword("EscalatorKind")
OWNER_ROLE = SearchAttributeKey.for_keyword("EscalatorOwnerRole")
LEVEL = SearchAttributeKey.for_int("EscalatorLevel")
STATE = SearchAttributeKey.for_keyword("EscalatorState")
SEVERITY = SearchAttributeKey.for_keyword("EscalatorSeverity")
CASE_ID = SearchAttributeKey.for_keyword("EscalatorCaseId")
# All levels exhausted and nobody responded: the exceptions incident leads look at first.
EXHAUSTED = SearchAttributeKey.for_bool("EscalatorExhausted")

ALL_KEYS: tuple[SearchAttributeKey, ...] = (
    JOURNEY,
    RULE,
    KIND,
    OWNER_ROLE,
    LEVEL,
    STATE,
    SEVERITY,
    CASE_ID,
    EXHAUSTED,
)
