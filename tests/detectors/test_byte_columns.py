"""The byte-level helpers of the XES reader against plain Python slicing: string views
cut from a document (inline and pointing, null, near its end, over 2 GiB simulated),
delimiter positions found chunk by chunk, fields grouped by hash or as strings."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from escalator.detectors import byte_columns, byte_groups, byte_scan

TEXT = ('ab"cdéfghijklmnopqrstu vwxyz <0123456789>\n' * 9).encode()


def _fields(data: bytes, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random (start, length) pairs that cut ``data`` at UTF-8 character boundaries."""
    rng = random.Random(seed)
    starts: list[int] = []
    lengths: list[int] = []
    while len(starts) < count:
        start = rng.randrange(len(data) + 1)
        length = min(rng.choice([0, 1, 4, 11, 12, 13, 20, 40]), len(data) - start)
        try:
            data[start : start + length].decode()
        except UnicodeDecodeError:
            continue
        starts.append(start)
        lengths.append(length)
    return np.array(starts, np.int64), np.array(lengths, np.int64)


@pytest.mark.parametrize("pieces", [False, True])
def test_string_column_is_the_slices(monkeypatch: pytest.MonkeyPatch, pieces: bool) -> None:
    if pieces:  # a document over ONE_BUFFER is handed over in overlapping pieces
        monkeypatch.setattr(byte_columns, "ONE_BUFFER", 100)
        monkeypatch.setattr(byte_columns, "SPAN", 64)
    doc = np.frombuffer(TEXT, np.uint8)
    starts, lengths = _fields(TEXT, 2000, seed=1)
    valid = np.arange(starts.size) % 5 != 0
    column = byte_columns.string_column(doc, starts, lengths, valid)
    want = [
        TEXT[s : s + n].decode() if ok else None
        for s, n, ok in zip(starts.tolist(), lengths.tolist(), valid.tolist(), strict=True)
    ]
    assert column.to_list() == want
    assert column.n_unique() == len(set(want))  # inline padding is zero: equal views hash alike


def test_string_column_of_a_tiny_document() -> None:
    doc = np.frombuffer(b"abc", np.uint8)
    column = byte_columns.string_column(doc, np.array([0, 1, 3]), np.array([3, 2, 0]))
    assert column.to_list() == ["abc", "bc", ""]


def test_find_bytes_is_a_plain_search(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(byte_scan, "_CHUNK", 7)  # many chunks, one cut inside each line
    doc = np.frombuffer(TEXT, np.uint8)
    found = byte_scan.find_bytes(doc, 5, b'<>"\n')
    for d, positions in found.items():
        assert positions.tolist() == [i for i in range(5, len(TEXT)) if TEXT[i] == d]
    assert all(p.size == 0 for p in byte_scan.find_bytes(doc, len(TEXT), b"<").values())


@pytest.mark.parametrize("tail", [b"", b"!" * 64])
def test_group_fields_by_hash_equals_grouping_strings(tail: bytes) -> None:
    keys = ["", "a", "concept:name", "concept:namf", "12345678", "123456789", "é:ü"]
    keys += ["lifecycle:transition", "lifecycle:transitiom", "1234567812345678X", "x" * 40]
    for seed in range(200):
        rng = random.Random(seed)
        parts, starts, lengths, at = [], [], [], 0
        for _ in range(rng.randrange(40)):
            key = rng.choice(keys).encode()
            pad = b"#" * rng.randrange(4)
            parts += [pad, key]
            starts.append(at + len(pad))
            lengths.append(len(key))
            at += len(pad) + len(key)
        data = b"".join(parts) + tail
        doc = np.frombuffer(data, np.uint8)
        s, n = np.array(starts, np.int64), np.array(lengths, np.int64)
        got = byte_groups.group_fields(doc, s, n)
        want = byte_groups._as_strings(doc, s, n)
        assert [(k, i.tolist()) for k, i in got] == [(k, i.tolist()) for k, i in want]


def test_group_fields_falls_back_when_only_the_middle_differs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two 40-byte keys with the same first and last 8 bytes share a hash: the word by
    word check sees they differ and the strings decide."""
    data = (b"x" * 40) + (b"x" * 19 + b"y" + b"x" * 20) + b"!" * 16
    doc = np.frombuffer(data, np.uint8)
    calls: list[int] = []
    as_strings = byte_groups._as_strings

    def counted(*a: Any) -> Any:
        calls.append(1)
        return as_strings(*a)

    monkeypatch.setattr(byte_groups, "_as_strings", counted)
    got = byte_groups.group_fields(doc, np.array([0, 40, 0]), np.array([40, 40, 40]))
    assert [(k, i.tolist()) for k, i in got] == [
        ("x" * 40, [0, 2]),
        ("x" * 19 + "y" + "x" * 20, [1]),
    ]
    assert calls == [1]
