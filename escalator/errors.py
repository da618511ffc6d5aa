"""The one error base of escalator, and its branches (docs/architecture.md, "Errors").

Everything escalator raises on purpose is an :class:`EscalatorError`. The CLI turns one
into a single line on stderr (``error: <what>; <what to do>``) and the exit code of its
branch; nothing else reaches a user as a traceback. The branch says what to do:

- :class:`PolicyInputError`   the policies do not load or contradict each other; fix the YAML (exit 2)
- :class:`InputError`         an event log, a reply or a button value is unusable; fix the input (exit 2)
- :class:`RefusedError`       the exception (or the records) said no, e.g. already resolved (exit 1)
- :class:`DeliveryError`      a provider (Slack, Twilio) could not take a message; Temporal retries (exit 6)
- :class:`StackError`         the local stack could not start or stop (exit 5)

The tree, with the classes that live next to the code raising them::

    EscalatorError
    ├── PolicyInputError    PolicyError (policies/errors.py)
    ├── InputError          LogFormatError (ValueError) > LogRejectedError (detectors/log_errors.py),
    │                       ModelMismatch (detectors/prediction/model.py), SilenceError
    │                       (records/silences.py), SilenceEndError, SmsReplyError,
    │                       ButtonValueError (activities/; all ValueError)
    ├── RefusedError        a workflow validator's ``ApplicationError(type="Refused")``,
    │                       turned into this on the client side by ``escalator.client.refusals``
    ├── DeliveryError       TwilioUnavailable (activities/sms_twilio.py), _LookupFailed
    │                       (activities/slack_sender.py)
    └── StackError          StateDirBusy (stack/state_lock.py), SearchAttributeConflict
                            (stack/temporal_admin.py)

Classes that were ``ValueError`` before the tree existed still are (multiple inheritance):
callers catch them as such. The CLI's own "no answer within --timeout" (``_NoAnswer``,
exit 4) derives from the base directly: it is neither input nor a refusal.
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
    # What to do, after the message, where the messages of a branch do not say it themselves.
    advice: ClassVar[str] = ""

    def one_line(self) -> str:
        """The error as the CLI prints it after ``error: ``: one line, what to do last."""
        lines = [line.strip() for line in str(self).splitlines() if line.strip()]
        text = "; ".join(lines) or type(self).__name__
        return f"{text}; {self.advice}" if self.advice else text


class PolicyInputError(EscalatorError):
    """Policies that do not load or do not hold together."""

    exit_code = 2
    advice = "fix the policies (`escalator policy check` lists every problem)"


class InputError(EscalatorError):
    """An input escalator cannot use: a log row, an SMS reply, a button value, a model file.
    The message says what to do."""

    exit_code = 2


class RefusedError(EscalatorError):
    """An exception's workflow or the records refused a request, with the reason."""

    exit_code = 1
    advice = "nothing was changed"


class DeliveryError(EscalatorError):
    """A provider could not take a message (retried by Temporal inside the worker)."""

    exit_code = 6
    advice = "check the provider's status and credentials, then try again"


class StackError(EscalatorError):
    """The local stack (dev server, worker, receiver) could not be brought up or down.
    The message says why and what to do."""

    exit_code = 5
