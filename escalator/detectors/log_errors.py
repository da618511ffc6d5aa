"""The errors an event-log read raises: one base class, so a caller catches one thing.

    InputError (escalator/errors.py: the CLI exits 2 with the message)
    └── LogFormatError (ValueError)   the file cannot be read as an event log: unknown
        │                             extension, no such file, damaged gzip, broken XES
        │                             structure, bytes that are not UTF-8, a mapped column
        │                             the file does not have, an unknown time zone
        └── LogRejectedError          the file was read, but what it yielded is not fit to
                                      judge: no events, more rows quarantined than allowed,
                                      every timestamp zone-less with no zone given

Every message names the file (and the line when there is one) and says what to do.
Rows that are merely bad are not errors: they go to the quarantine with a reason.
Still a ``ValueError``, as before the error tree: readers and callers catch it as one.
"""

from __future__ import annotations

from escalator.errors import InputError

__all__ = ["LogFormatError", "LogRejectedError"]


class LogFormatError(InputError, ValueError):
    """The file is not an event log escalator can read; the message says why and what to do."""


class LogRejectedError(LogFormatError):
    """The log was read, but it yielded no usable events or too many quarantined rows."""
