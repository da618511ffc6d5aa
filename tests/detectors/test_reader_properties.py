"""Property tests: mutated CSV, JSONL and XES bytes (plain and gzipped) end in events or
in a LogFormatError (the documented error class), never in any other exception.

Each test reports how many inputs hypothesis generated on the terminal (a line
"property inputs: ...") so a run shows it did real work.
"""

from __future__ import annotations

import gzip
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from property_counts import GENERATED, count

from escalator.detectors.events import ReadResult
from escalator.detectors.log_checks import admit
from escalator.detectors.log_errors import LogFormatError, LogRejectedError
from escalator.detectors.readers import read_log
from escalator.policies.journeys import Journey

JOURNEY = Journey.model_validate(
    {
        "name": "orders",
        "events": ["created", "paid", "shipped"],
        "slis": [
            {
                "type": "availability",
                "name": "a",
                "valid_events": ["created"],
                "good_events": ["shipped"],
                "objective": 99,
            }
        ],
    }
)
_TIMES = ("2024-05-06T10:00:00+02:00", "2024-05-06T11:30:00Z", "2024-05-06 12:00:00")
_ROWS = [(f"o{i % 4}", ("created", "paid", "shipped")[i % 3], _TIMES[i % 3]) for i in range(9)]
CSV = ("case:concept:name,concept:name,time:timestamp,org:resource\n" + "".join(
    f'{c},{e},{t},"ann, b"\n' for c, e, t in _ROWS
)).encode()  # fmt: skip
JSONL = "".join(
    f'{{"case:concept:name": "{c}", "concept:name": "{e}", "time:timestamp": "{t}", "n": 1}}\n'
    for c, e, t in _ROWS
).encode()
XES = (
    '<?xml version="1.0"?>\n<!-- c -->\n<log xes.version="1.0">\n'
    + "".join(
        f'<trace><string key="concept:name" value="{c}{i}"/>\n'
        f'<event><string key="concept:name" value="{e}"/>'
        f'<date key="time:timestamp" value="{t}"/><list key="l"><values>'
        f'<string key="x" value="&amp;"/></values></list></event>\n</trace>\n'
        for i, (c, e, t) in enumerate(_ROWS)
    )
    + "</log>\n"
).encode()


@st.composite
def mutated(draw: st.DrawFn, base: bytes) -> bytes:
    """``base`` with a few random edits: flip, insert, delete, duplicate, truncate."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "dup", "cut", "splice"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.sampled_from([b"<", b">", b'"', b"'", b",", b"\n", b"\x00",
                                                b"<!--", b"-->", b"<event>", b"</trace>", b"{",
                                                b"\xff\xfe", b"\xe9", b"&#x", b"\r"]))  # fmt: skip
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif op == "dup":
            data[at:at] = data[at : at + draw(st.integers(1, 80))]
        elif op == "cut":
            del data[at:]
        elif op == "splice":
            data[at:at] = draw(st.binary(max_size=12))
    return bytes(data)


def _read(path: Path) -> None:
    try:
        result = read_log(path, JOURNEY)
    except LogFormatError as exc:
        assert str(path) in str(exc)  # the message names the file
        return
    assert isinstance(result, ReadResult)
    try:
        admit(result, journey=JOURNEY)
    except LogRejectedError as exc:
        assert str(path) in str(exc)


def _property(name: str, base: bytes, suffix: str, zipped: bool) -> Callable[[], None]:
    key = f"mutated {name}{'.gz' if zipped else ''} logs read to events or a LogFormatError"
    packed = gzip.compress(base, mtime=0)

    @settings(
        max_examples=150,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(text=mutated(base), raw_gz=mutated(packed), mutate_gz=st.booleans())
    def run(text: bytes, raw_gz: bytes, mutate_gz: bool) -> None:
        count(key)
        # Zipped: the compressed bytes mutated (damaged gzip), or mutated text compressed.
        payload = (raw_gz if mutate_gz else gzip.compress(text, mtime=0)) if zipped else text
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"log{suffix}"
            path.write_bytes(payload)
            _read(path)

    return run


@pytest.mark.parametrize(
    ("name", "base", "suffix"),
    [("CSV", CSV, ".csv"), ("JSONL", JSONL, ".jsonl"), ("XES", XES, ".xes")],
)
@pytest.mark.parametrize("zipped", [False, True], ids=["plain", "gz"])
def test_mutated_logs_end_in_events_or_a_clear_error(
    name: str, base: bytes, suffix: str, zipped: bool
) -> None:
    suffix += ".gz" if zipped else ""
    with tempfile.TemporaryDirectory() as tmp:  # the unmutated base reads cleanly
        path = Path(tmp) / f"log{suffix}"
        path.write_bytes(gzip.compress(base) if zipped else base)
        assert read_log(path, JOURNEY).events.height == len(_ROWS) - 3  # zone-less: quarantined
    before = sum(GENERATED.values())
    _property(name, base, suffix, zipped)()
    assert sum(GENERATED.values()) - before >= 100
