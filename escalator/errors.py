"""The one error base of escalator, and its branches (docs/architecture.md, "Errors").

Everything escalator raises on purpose is an :class:`EscalatorError`. The CLI turns one
into a single line on stderr and the exit code of its branch; nothing else reaches a
user as a traceback. The branch says what to do:

- :class:`PolicyInputError`   the policies do not load or contradict each other; fix the YAML (exit 2)
- :class:`InputError`         an event log, a reply or a button value is unusable; fix the input (exit 2)
- :class:`RefusedError`       the exception (or the records) said no, e.g. already resolved (exit 1)
- :class:`DeliveryError`      a provider (Slack, Twilio) could not take a message; Temporal retries (exit 6)
- :class:`StackError`         the local stack could not start or stop (exit 5)
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "DeliveryError",
    "EscalatorError",
    "InputError",
    "PolicyInputError",
    "RefusedError",
    "StackError",
]


class EscalatorError(Exception):
    """Base of every error escalator raises on purpose."""

    exit_code: ClassVar[int] = 2


class PolicyInputError(EscalatorError):
    """Policies that do not load or do not hold together."""

    exit_code = 2


class InputError(EscalatorError):
    """An input escalator cannot use: a log row, an SMS reply, a button value, a model file."""

    exit_code = 2


class RefusedError(EscalatorError):
    """An exception's workflow or the records refused a request, with the reason."""

    exit_code = 1


class DeliveryError(EscalatorError):
    """A provider could not take a message (retried by Temporal inside the worker)."""

    exit_code = 6


class StackError(EscalatorError):
    """The local stack (dev server, worker, receiver) could not be brought up or down."""

    exit_code = 5
