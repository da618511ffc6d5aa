"""Errors a policy author can act on: which file, which line, which field, what to do.

Hierarchy::

    EscalatorError > PolicyInputError (escalator/errors.py)
    └── PolicyError        one or more problems in a policy set (``.problems``)

Each :class:`Problem` prints as ``FILE:LINE: dotted.field.path: what is wrong and
what is expected``, the format editors and CI annotations understand.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from escalator.errors import PolicyInputError

__all__ = ["FILE_LEVEL", "PolicyError", "Problem"]

# The path shown for problems that concern a whole file or document rather
# than one field (unreadable file, invalid YAML, empty file).
FILE_LEVEL = "(file)"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a policy file.

    ``line`` is 1-based. ``path`` is the dotted field path inside the YAML
    document, e.g. ``rules[0].threshold``, or ``(file)`` for whole-file problems.
    """

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path or FILE_LEVEL}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class PolicyError(PolicyInputError):
    """The policy set does not load; ``problems`` holds every problem found, in file order."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)

    def one_line(self) -> str:
        # A policy set can have dozens of problems: the first, the count, and where the rest are.
        if not self.problems:
            return super().one_line()
        more = len(self.problems) - 1
        rest = f" (and {more} more)" if more else ""
        return f"{self.problems[0]}{rest}; {self.advice}"
