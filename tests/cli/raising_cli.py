"""The real `escalator` CLI with one more command, ``raise-error KIND``, which raises a
representative error of each branch of escalator/errors.py (and one bug). Run as a
subprocess by test_error_exits.py, to see what the CLI makes of each: delivery errors,
for one, never reach the CLI through a real command (they stay in the worker)."""

from __future__ import annotations

from collections.abc import Callable

from escalator.activities.sms_twilio import TwilioUnavailable
from escalator.cli.main import app, main
from escalator.detectors.log_errors import LogRejectedError
from escalator.errors import RefusedError
from escalator.policies.errors import PolicyError, Problem
from escalator.stack.state_lock import StateDirBusy


def _bug() -> Exception:
    try:
        dict[str, str]()["journey"]
    except KeyError as err:
        try:
            raise RuntimeError("the row has no journey") from err
        except RuntimeError as bug:
            return bug
    raise AssertionError("unreachable")


ERRORS: dict[str, Callable[[], Exception]] = {
    "policy": lambda: PolicyError(
        [
            Problem("rules.yaml", 4, "rules[0].threshold", "not a duration: 'soon'"),
            Problem("roles.yaml", 2, "roles[0]", "needs members"),
        ]
    ),
    "input": lambda: LogRejectedError(
        "orders.csv: 12 of 40 rows quarantined (30 %), more than --max-quarantine 1 %\n"
        "  9 rows: timestamp 'yesterday' is not ISO 8601 (line 3, ...)"
    ),
    "refused": lambda: RefusedError("already resolved by dirk at 10:02 UTC"),
    "delivery": lambda: TwilioUnavailable(503, 5.0),
    "stack": lambda: StateDirBusy(
        "another `escalator up` (pid 42) is using .escalator: stop it, "
        "or give this one its own state: escalator up --state-dir DIR"
    ),
    "bug": _bug,
}


@app.command("raise-error")
def raise_error(kind: str) -> None:
    raise ERRORS[kind]()


if __name__ == "__main__":
    main()
