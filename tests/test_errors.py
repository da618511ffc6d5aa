"""The error tree (escalator/errors.py, docs/architecture.md "Errors"): every exception class
escalator defines derives from EscalatorError through one branch, keeps its branch's exit
code and ends the CLI in one line; a workflow's refusal is told from other failures by its
type alone."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

import escalator
from escalator.cli.errors import ExitCode, ending
from escalator.client import REFUSED, refusal, refusals
from escalator.errors import (
    DeliveryError,
    EscalatorError,
    InputError,
    PolicyInputError,
    RefusedError,
    StackError,
)
from escalator.policies.errors import PolicyError, Problem

ROOT = Path(escalator.__file__).parent
# Alembic's scripts: env.py runs only inside an alembic command, and defines no errors.
NOT_IMPORTED = ("escalator.records.migrations",)
BRANCHES: dict[type[EscalatorError], ExitCode] = {
    PolicyInputError: ExitCode.USAGE,
    InputError: ExitCode.USAGE,
    RefusedError: ExitCode.REFUSED,
    DeliveryError: ExitCode.DELIVERY,
    StackError: ExitCode.STACK,
}
# Were ValueErrors before the tree; callers still catch them as such.
STILL_VALUE_ERRORS = {
    "LogFormatError",
    "LogRejectedError",
    "ModelMismatch",
    "SilenceError",
    "SilenceEndError",
    "SmsReplyError",
    "ButtonValueError",
}


def module_names() -> list[str]:
    """Every module of the package, found on disk: cli/, stack/, receiver/ and worker/ are
    namespace packages, which pkgutil.walk_packages does not descend into."""
    names = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if not name.startswith(NOT_IMPORTED):
            names.append(name)
    return names


def subclasses(cls: type[Exception]) -> set[type[Exception]]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= subclasses(sub)
    return found


@pytest.fixture(scope="module")
def escalator_errors() -> set[type[Exception]]:
    """Every error class defined in escalator (third-party ones, e.g. Temporal's, are left
    out by their module): imported module by module, then found as subclasses, so a class
    is seen even when no module attribute names it. Exception, not BaseException: a stop
    signal such as stack.up.StopRequested (a KeyboardInterrupt) is no error."""
    for name in module_names():
        importlib.import_module(name)
    return {c for c in subclasses(Exception) if c.__module__.split(".")[0] == "escalator"}


def test_the_walk_finds_the_errors_of_every_room(
    escalator_errors: set[type[Exception]],
) -> None:
    names = {c.__name__ for c in escalator_errors}
    expected = STILL_VALUE_ERRORS | {
        "PolicyError",
        "StateDirBusy",
        "SearchAttributeConflict",
        "TwilioUnavailable",
        "_LookupFailed",
        "_NoAnswer",
    }
    assert expected <= names, expected - names


def test_every_error_escalator_defines_is_an_escalator_error(
    escalator_errors: set[type[Exception]],
) -> None:
    strays = sorted(
        f"{c.__module__}.{c.__qualname__}"
        for c in escalator_errors
        if not issubclass(c, EscalatorError)
    )
    assert not strays, f"derive these from a branch of escalator.errors: {strays}"


def test_each_error_sits_on_one_branch_and_exits_with_its_code(
    escalator_errors: set[type[Exception]],
) -> None:
    for cls in escalator_errors - {EscalatorError, *BRANCHES}:
        assert isinstance(cls, type) and issubclass(cls, EscalatorError)
        on = [b for b in BRANCHES if issubclass(cls, b)]
        if cls.__name__ == "_NoAnswer":  # the CLI's own outcome, straight under the base
            assert (on, cls.exit_code) == ([], ExitCode.NO_ANSWER)
            continue
        assert len(on) == 1, (cls, on)
        assert cls.exit_code == BRANCHES[on[0]], cls
    for branch, code in BRANCHES.items():
        assert branch.exit_code == code, branch


def test_former_value_errors_still_are(escalator_errors: set[type[Exception]]) -> None:
    by_name = {c.__name__: c for c in escalator_errors}
    for name in STILL_VALUE_ERRORS:
        assert issubclass(by_name[name], InputError), name
        assert issubclass(by_name[name], ValueError), name


def test_stack_error_is_one_class_wherever_it_is_imported_from() -> None:
    from escalator.stack.up import StackError as reexported

    assert reexported is StackError


def refused_by_workflow(message: str, failure_type: str) -> WorkflowUpdateFailedError:
    return WorkflowUpdateFailedError(ApplicationError(message, type=failure_type))


def test_a_refusal_is_told_by_its_failure_type_not_its_words() -> None:
    found = refusal(refused_by_workflow("already resolved by dirk at 10:02 UTC", REFUSED))
    assert isinstance(found, RefusedError)
    assert str(found) == "already resolved by dirk at 10:02 UTC"
    # Words that sound like a refusal do not make one; a refusal in any words does.
    assert refusal(refused_by_workflow("Refused: already resolved", "StormOver")) is None
    assert isinstance(refusal(refused_by_workflow("no", REFUSED)), RefusedError)


def test_refusals_turns_only_refusals_into_refused_error() -> None:
    with pytest.raises(RefusedError, match="mallory is not in billing"), refusals():
        raise refused_by_workflow("mallory is not in billing", REFUSED)
    other = refused_by_workflow("this storm run is full; ask again", "RunFull")
    with pytest.raises(WorkflowUpdateFailedError) as caught, refusals():
        raise other
    assert caught.value is other


def test_the_cli_line_is_one_line_with_what_to_do() -> None:
    problems = [
        Problem("rules.yaml", 4, "rules[0].threshold", "not a duration: 'soon'"),
        Problem("rules.yaml", 9, "rules[1].owner", "no role 'ops'"),
        Problem("roles.yaml", 2, "roles[0]", "needs members"),
    ]
    line, code = ending(PolicyError(problems))
    assert code == ExitCode.USAGE
    assert line == (
        "rules.yaml:4: rules[0].threshold: not a duration: 'soon' (and 2 more); "
        "fix the policies (`escalator policy check` lists every problem)"
    )
    line, code = ending(RefusedError("already resolved by dirk"))
    assert (line, code) == ("already resolved by dirk; nothing was changed", ExitCode.REFUSED)
    line, code = ending(StackError("port 7233 is taken\nstop the program using it"))
    assert (line, code) == ("port 7233 is taken; stop the program using it", ExitCode.STACK)


def test_anything_else_is_a_bug_named_with_its_cause() -> None:
    try:
        try:
            dict[str, str]()["journey"]
        except KeyError as err:
            raise RuntimeError("could not\nread the row") from err
    except RuntimeError as err:
        line, code = ending(err)
    assert code == ExitCode.BUG
    assert "\n" not in line
    assert line.startswith(
        "unexpected RuntimeError: could not read the row; caused by KeyError: 'journey'; "
    )
    assert "ESCALATOR_DEBUG=1" in line
