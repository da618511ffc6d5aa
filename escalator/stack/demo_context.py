"""The vocabulary of `escalator demo`: a step, its outcome, the context steps share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from escalator.stack.up import RunningStack, StackOptions

__all__ = ["DemoContext", "Echo", "Outcome", "RunCommand", "Step"]

Echo = Callable[[str], None]
# Runs one `escalator` command in this process and returns its exit status. The CLI
# hands its own runner in, so the stack room never imports the CLI above it.
RunCommand = Callable[[Sequence[str]], int]


class Outcome(Enum):
    OK = "ok"
    FAILED = "FAILED"
    SKIPPED = "skipped"  # nothing to show here, through no fault of escalator's


@dataclass
class DemoContext:
    options: StackOptions
    echo: Echo
    run_command: RunCommand
    stack: RunningStack | None = None
    notes: list[str] = field(default_factory=list)
    loop: dict[str, Any] = field(default_factory=dict)  # what the loop steps hand each other


@dataclass(frozen=True)
class Step:
    title: str
    run: Callable[[DemoContext], tuple[Outcome, str]]
