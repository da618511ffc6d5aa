"""The rooms import downward only, as docs/architecture.md draws them; no import circles.

Every ``import escalator.X`` (at module level or inside a function) is checked against
the layers below. A new arrow that runs back up fails here with the file and line, and
the way out is a change of design, not an entry in this table."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "escalator"

# Bottom to top. A room may import its own modules and any room on a lower layer.
LAYERS: list[set[str]] = [
    {"errors", "temporal_errors"},
    {"settings", "temporal_outage", "policies"},
    {"workflows"},
    {"client", "policy_source"},
    {"detectors"},
    {"analytics"},
    {"records"},
    {"activities"},
    {"worker", "receiver"},
    {"stack"},
    {"cli"},
]
# The public API (escalator/__init__.py) hands on names of these rooms only.
FACE = {"client", "errors", "policies", "workflows"}
# Temporal's worker and client live above the pure rooms: rule code, analytics, the
# policy model and the records never talk to Temporal (the detector loop does, in watch.py).
NO_TEMPORAL = ("policies", "analytics", "records")


def layer_of(room: str) -> int:
    for i, rooms in enumerate(LAYERS):
        if room in rooms:
            return i
    raise AssertionError(f"room {room!r} is in no layer of tests/test_architecture.py")


def room_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 or rel.stem != "__init__" else ""


def imports(path: Path, *, typing_only: bool = True) -> list[tuple[int, str]]:
    """Every import of a file; ``typing_only=False`` leaves out those under
    ``if TYPE_CHECKING:``, which never run."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        if (
            not typing_only
            and isinstance(node, ast.If)
            and isinstance(node.test, ast.Name)
            and node.test.id == "TYPE_CHECKING"
        ):
            for branch in node.orelse:
                visit(branch)
            return
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return found


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def test_every_room_imports_downward_only() -> None:
    wrong = []
    for path in modules():
        here = room_of(path)
        for line, name in imports(path):
            parts = name.split(".")
            if parts[0] != "escalator" or len(parts) < 2:
                continue
            there = parts[1]
            if there == here:
                continue
            allowed = there in FACE if here == "" else layer_of(there) < layer_of(here)
            if not allowed:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {here or 'escalator'} -> {there}")
    assert not wrong, "imports that run back up:\n" + "\n".join(wrong)


def test_the_pure_rooms_do_not_import_temporal() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in modules()
        if room_of(path) in NO_TEMPORAL
        for line, name in imports(path)
        if name.split(".")[0] == "temporalio"
    ]
    assert not wrong, "\n".join(wrong)


def test_the_workflows_import_only_the_policy_model_and_temporal_workflow_code() -> None:
    allowed = re.compile(
        r"^(escalator\.(workflows|policies|errors)|temporalio\.(workflow|common|exceptions)"
        r"|temporalio$|__future__|collections|dataclasses|datetime|enum|typing|"
        r"functools|itertools|math|hashlib|json|re|pydantic|asyncio|contextlib|zoneinfo)(\.|$)"
    )
    wrong = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in modules()
        if room_of(path) == "workflows"
        for line, name in imports(path)
        if not allowed.match(name)
    ]
    assert not wrong, "workflows do no I/O; these imports could:\n" + "\n".join(wrong)


def test_no_module_imports_itself_in_a_circle() -> None:
    graph: dict[str, set[str]] = {}
    for path in modules():
        rel = path.relative_to(ROOT).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        # Imports for type checking only never run, so they cannot make a circle at import.
        graph[name] = {m for _, m in imports(path, typing_only=False) if m.startswith("escalator.")}
    # A package's __init__ that hands names on lazily is not an edge (escalator/__init__.py).
    graph["escalator"] = set()
    state: dict[str, int] = {}
    trail: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        trail.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                nxt = nxt.rsplit(".", 1)[0]  # `from escalator.x import name` of a module
            if state.get(nxt) == 1:
                circle = [*trail[trail.index(nxt) :], nxt]
                raise AssertionError("import circle: " + " -> ".join(circle))
            if state.get(nxt) is None and nxt in graph:
                visit(nxt)
        trail.pop()
        state[node] = 2

    for node in sorted(graph):
        if state.get(node) is None:
            visit(node)


def test_nothing_points_outside_the_repository() -> None:
    outside = re.compile(r"\.\./shared|DESIGN\.md|TEMPORAL-NOTES|/work/|/home/\w")
    texts = [*PACKAGE.rglob("*.py"), *(ROOT / "docs").rglob("*.md"), ROOT / "README.md"]
    wrong = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in texts
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if outside.search(line)
    ]
    assert not wrong, "the repository must stand on its own:\n" + "\n".join(wrong)
