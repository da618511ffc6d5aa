"""`make bench` (`python -m bench all`) runs every benchmark: each bench/bench_*.py has a
quick mode its own argument parser accepts. Nothing here runs a benchmark."""

from __future__ import annotations

import argparse
import ast
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _runner() -> ModuleType:
    # Loaded from its file: `bench` is no installed package, and as bench/__main__.py it
    # is `python -m bench` itself.
    spec = importlib.util.spec_from_file_location("bench_runner", BENCH / "__main__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


runner = _runner()
ON_DISK = sorted(p.stem.removeprefix("bench_") for p in BENCH.glob("bench_*.py"))


def test_the_runner_finds_every_benchmark() -> None:
    assert ON_DISK, BENCH
    assert sorted(runner.benches()) == ON_DISK


def test_every_benchmark_has_a_quick_mode() -> None:
    assert sorted(runner.QUICK) == ON_DISK, "bench/__main__.py QUICK: one entry per bench_*.py"


def _parser_of(path: Path) -> argparse.ArgumentParser:
    """The benchmark's argument parser, rebuilt from its `add_argument` calls (the module
    itself is not imported: importing a benchmark pulls in Temporal, polars, pm4py...)."""
    parser = argparse.ArgumentParser(prog=path.name, exit_on_error=False)
    for node in ast.walk(ast.parse(path.read_text())):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "add_argument"
        ):
            continue
        flags = [ast.literal_eval(a) for a in node.args]
        options = {k.arg: k.value for k in node.keywords if k.arg in ("action", "type")}
        action = ast.literal_eval(options["action"]) if "action" in options else None
        kind = options.get("type")
        # type=int / float / Path: converted here too, so "--events lots" fails
        convert = {"int": int, "float": float, "Path": Path}.get(
            kind.id if isinstance(kind, ast.Name) else "", str
        )
        if action:
            parser.add_argument(*flags, action=action)
        else:
            parser.add_argument(*flags, type=convert)
    return parser


@pytest.mark.parametrize("name", ON_DISK)
def test_the_quick_arguments_parse(name: str) -> None:
    parser = _parser_of(BENCH / f"bench_{name}.py")
    try:
        parser.parse_args(runner.QUICK[name])
    except (argparse.ArgumentError, SystemExit) as err:
        pytest.fail(f"bench {name}: quick arguments {runner.QUICK[name]} rejected: {err}")
