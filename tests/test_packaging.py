"""`pip install .` installs one top-level package, `escalator`, with the data it needs:
an upstream detector's own `workflows`, `records` or `policies` module is never shadowed."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [built] = out.glob("escalator-*.whl")
    return built


def test_the_wheel_holds_one_top_level_package_and_its_data(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"escalator"}
    for data in (
        "escalator/policies/examples/journeys.yaml",
        "escalator/policies/policy.schema.json",
        "escalator/policies/eventlogs/helpdesk/policy.yaml",
        "escalator/stack/demo_data/orderToShip.csv",
        "escalator/records/migrations/script.py.mako",
        "escalator/records/migrations/versions/0001_initial.py",
    ):
        assert data in names, f"{data} is not in the wheel"


def test_the_installed_package_checks_its_shipped_policies(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    # Run from the installed copy (first on sys.path), away from the checkout.
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import escalator, importlib.util;"
        "assert escalator.__file__.startswith(sys.argv[1]), escalator.__file__;"
        "print([m for m in ('records', 'workflows', 'policies', 'workers') if importlib.util.find_spec(m)]);"
        "from escalator.cli.main import main; sys.argv = ['escalator', 'policy', 'check']; main()"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESCALATOR_")}
    done = subprocess.run(
        [sys.executable, "-c", probe, str(target)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[0] == "[]"
