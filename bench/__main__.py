"""`python -m bench` (and `make bench`): list the benchmarks; `python -m bench NAME [ARGS]` runs one.

Each benchmark takes minutes to an hour on a loaded machine and prints its own figures,
so nothing runs them all at once; docs/benchmarks.md keeps the figures measured so far.

    python -m bench                        # this list
    python -m bench storm --members 500    # = python bench/bench_storm.py --members 500
"""

from __future__ import annotations

import ast
import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def benches() -> dict[str, Path]:
    return {p.stem.removeprefix("bench_"): p for p in sorted(HERE.glob("bench_*.py"))}


def summary(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    return doc.splitlines()[0] if doc else ""


def main(argv: list[str]) -> int:
    found = benches()
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        for name, path in found.items():
            print(f"  {name:<11} {summary(path)}")
        return 0
    name, *args = argv
    if name not in found:
        print(f"no benchmark {name!r}; one of: {', '.join(found)}", file=sys.stderr)
        return 2
    sys.argv = [str(found[name]), *args]
    runpy.run_path(str(found[name]), run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
