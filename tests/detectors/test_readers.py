"""Readers: every format to the same canonical frame; every bad-row class quarantined."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import polars as pl
import pytest
from event_logs import log_path

from escalator.detectors.events import CASE, EVENT, LINE, OFFSET, TS, canonicalize
from escalator.detectors.readers import LogFormatError, read_log
from escalator.policies.journeys import ColumnMapping, Journey

JOURNEY = Journey.model_validate(
    {
        "name": "orders",
        "slis": [
            {
                "type": "availability",
                "name": "a",
                "valid_events": ["created"],
                "good_events": ["shipped"],
                "objective": 99,
            }
        ],
        "events": ["created", "shipped"],
        "columns": {
            "case_id": "order",
            "event_name": "activity",
            "timestamp": "at",
            "actor": "who",
        },
    }
)

CSV = """order,activity,at,who,channel
o1,created,2024-03-31T01:30:00+01:00,ann,web
o1,shipped,2024-03-31T03:30:00+02:00,bob,web
,created,2024-03-31T04:00:00+02:00,ann,web
o2,created,not a time,ann,web
o3,created,2024-03-31T05:00:00,ann,web
o4,teleported,2024-03-31T05:00:00Z,ann,web
o5,created,2024-03-31T05:00:00Z,ann
o6,created,2024-03-31T06:00:00Z,ann,shop
"""

REASONS = {
    4: "no case id",
    5: "unparsable timestamp",
    6: "zone-less timestamp",
    7: "event name not declared",
    8: "fields, header has",
}


def _check(result, path: Path) -> None:
    ev = result.events
    assert ev[CASE].to_list() == ["o1", "o1", "o6"]
    assert ev[EVENT].to_list() == ["created", "shipped", "created"]
    # Across the spring-forward change: one hour apart in UTC, offsets kept per row.
    assert ev[TS].to_list()[:2] == [
        datetime(2024, 3, 31, 0, 30, tzinfo=UTC),
        datetime(2024, 3, 31, 1, 30, tzinfo=UTC),
    ]
    assert ev[OFFSET].to_list() == [3600, 7200, 0]
    assert ev["actor"].to_list() == ["ann", "bob", "ann"]
    assert ev["channel"].to_list() == ["web", "web", "shop"]
    rows = {r["line"]: r for r in result.quarantine.rows}
    assert set(rows) == set(REASONS), rows
    for line, reason in REASONS.items():
        assert reason in rows[line]["reason"]
        assert rows[line]["source"] == str(path)
    assert ev[LINE].to_list() == [2, 3, 9]


def test_csv_with_every_bad_row_class(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(CSV)
    result = read_log(path, JOURNEY)
    _check(result, path)
    bad = {r["line"]: r for r in result.quarantine.rows}
    assert cast(dict[str, object], bad[5]["raw"])["at"] == "not a time"  # the raw row is kept
    out = tmp_path / "q.jsonl"
    result.quarantine.write(out)
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) == 5 and {x["line"] for x in lines} == set(REASONS)


def test_jsonl_with_every_bad_row_class_and_broken_json(tmp_path: Path) -> None:
    header, *rows = CSV.strip().splitlines()
    keys = header.split(",")
    out = []
    for row in rows:
        values = row.split(",")
        if len(values) != len(keys):
            out.append("{not json")
            continue
        out.append(json.dumps({k: (v or None) for k, v in zip(keys, values, strict=True)}))
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join(out) + "\n")
    result = read_log(path, JOURNEY)
    ev = result.events
    assert ev[CASE].to_list() == ["o1", "o1", "o6"]
    reasons = {r["line"]: cast(str, r["reason"]) for r in result.quarantine.rows}
    assert "not valid JSON" in reasons[7]
    assert "no case id" in reasons[3] and "zone-less" in reasons[5]


def test_parquet_with_aware_and_naive_datetimes(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "order": ["o1", "o2", None],
            "activity": ["created", "shipped", "created"],
            "at": [
                datetime(2024, 3, 31, 0, 30, tzinfo=UTC),
                datetime(2024, 3, 31, 1, 30, tzinfo=UTC),
                datetime(2024, 3, 31, 2, 0, tzinfo=UTC),
            ],
            "who": ["ann", "bob", "ann"],
        }
    ).with_columns(pl.col("at").dt.convert_time_zone("Europe/Amsterdam"))
    path = tmp_path / "log.parquet"
    frame.write_parquet(path)
    result = read_log(path, JOURNEY)
    assert result.events[OFFSET].to_list() == [3600, 7200]
    assert result.events[TS].to_list()[0] == datetime(2024, 3, 31, 0, 30, tzinfo=UTC)
    assert [r["line"] for r in result.quarantine.rows] == [3]
    naive = frame.with_columns(pl.col("at").dt.replace_time_zone(None))
    naive.write_parquet(path)
    result = read_log(path, JOURNEY)
    assert result.events.height == 0 and len(result.quarantine) == 3
    assert "zone-less" in cast(str, result.quarantine.rows[0]["reason"])
    result = read_log(path, JOURNEY, assume_timezone="Europe/Amsterdam")
    assert result.events[OFFSET].to_list() == [3600, 7200]


def test_assume_timezone_reads_local_times_across_dst() -> None:
    raw = pl.DataFrame(
        {
            "case:concept:name": ["a", "a", "a", "a"],
            "concept:name": ["x", "y", "z", "w"],
            # spring forward (02:00 -> 03:00) and fall back (03:00 -> 02:00; 02:30 twice)
            "time:timestamp": [
                "2024-03-31 01:30:00",
                "2024-03-31T03:30:00",
                "2024-10-27 02:30:00",
                "2024-10-27 03:30",
            ],
            LINE: [1, 2, 3, 4],
        }
    )
    res = canonicalize(raw, ColumnMapping(), source="t", assume_timezone="Europe/Amsterdam")
    assert res.events[OFFSET].to_list() == [3600, 7200, 7200, 3600]
    assert res.events[TS].to_list() == [
        datetime(2024, 3, 31, 0, 30, tzinfo=UTC),
        datetime(2024, 3, 31, 1, 30, tzinfo=UTC),
        datetime(2024, 10, 27, 0, 30, tzinfo=UTC),  # ambiguous: the first (summer) one
        datetime(2024, 10, 27, 2, 30, tzinfo=UTC),
    ]


# Canonical shapes (T, seconds, offset Z or ±hh:mm) at their edges: leap second, invalid
# dates and times, long fractions, large offsets, dates before 1970.
EDGE_TIMES = [
    "2024-05-06T10:00:00+02:00",
    "2024-05-06T10:00:00Z",
    "2024-05-06T10:00:00.5-09:30",
    "2024-05-06T10:00:00.123456789+05:45",
    "2024-05-06T10:00:00.1234567891234-00:00",
    "1969-12-31T23:59:59.999999+14:00",
    "2016-12-31T23:59:60Z",
    "2024-02-30T10:00:00+01:00",
    "2024-05-06T24:00:00+01:00",
    "2024-05-06T10:60:00+01:00",
    "2024-05-06T10:00:00+24:00",
    "2024-05-06T10:00:00+01:60",
    "0000-01-01T00:00:00Z",
]


def test_canonical_timestamps_read_as_the_general_path_reads_them() -> None:
    """When every timestamp has the canonical shape, canonicalize takes a faster path
    (offset digits at fixed places, chrono's RFC 3339 reader); one row of another
    shape sends the whole column down the general path. Both must agree."""

    def read(times: list[str]) -> pl.DataFrame:
        raw = pl.DataFrame(
            {
                "case:concept:name": ["c"] * len(times),
                "concept:name": ["e"] * len(times),
                "time:timestamp": times,
                LINE: list(range(1, len(times) + 1)),
            }
        )
        res = canonicalize(raw, ColumnMapping(), source="t")
        reasons = {row["line"]: row["reason"] for row in res.quarantine.rows}
        return res.events.select(LINE, TS, OFFSET).join(
            pl.DataFrame({LINE: list(reasons), "reason": list(reasons.values())}),
            on=LINE,
            how="full",
            coalesce=True,
        )

    fast = read(EDGE_TIMES)
    general = read([*EDGE_TIMES, "2024-05-06 10:00:00+02:00"]).filter(
        pl.col(LINE) <= len(EDGE_TIMES)
    )
    assert fast.height == len(EDGE_TIMES)
    assert fast.sort(LINE).equals(general.sort(LINE))
    assert fast.filter(pl.col(TS).is_not_null()).height >= 7


XES = """<?xml version="1.0" encoding="UTF-8" ?>
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
  <global scope="event"><string key="concept:name" value="UNKNOWN"/></global>
  <string key="origin" value="test"/>
  <trace>
    <string key="concept:name" value="o1"/>
    <event>
      <string key="concept:name" value="created"/>
      <date key="time:timestamp" value="2024-03-31T01:30:00.000+01:00"/>
      <string key="org:resource" value="Ann &amp; Bob"/>
      <float key="meta" value="1.0">
        <string key="nested" value="not an event attribute"/>
      </float>
    </event>
    <event>
      <string key="concept:name" value="shipped"/>
      <date key="time:timestamp" value="2024-03-31T03:30:00+02:00"/>
    </event>
    <string key="channel" value="web"/>
  </trace>
  <trace>
    <event>
      <string key="concept:name" value="created"/>
      <date key="time:timestamp" value="2024-03-31T05:00:00+02:00"/>
    </event>
  </trace>
</log>
"""


@pytest.mark.parametrize("name", ["log.xes", "log.xes.gz"])
def test_xes_plain_and_gzip(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    data = XES.encode()
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    result = read_log(path)
    ev = result.events
    assert ev[CASE].to_list() == ["o1", "o1"]
    assert ev["actor"].to_list() == ["Ann & Bob", None]
    assert ev[OFFSET].to_list() == [3600, 7200]
    assert ev["case:channel"].to_list() == ["web", "web"]  # trace attribute after its events
    assert "nested" not in ev.columns
    assert ev[LINE].to_list() == [7, 15]
    [bad] = result.quarantine.rows
    assert bad["line"] == 22 and "no case id" in cast(str, bad["reason"])


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LogFormatError, match="unknown event-log format"):
        read_log(tmp_path / "log.txt")
    with pytest.raises(LogFormatError, match="no such file"):
        read_log(tmp_path / "log.csv")


def test_missing_mapped_column_names_the_column(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("case,activity,at\no1,created,2024-01-01T00:00:00Z\n")
    with pytest.raises(LogFormatError, match="column\\(s\\) order not found"):
        read_log(path, JOURNEY)


ODD_XES = """<log xmlns="http://www.xes-standard.org/">
<trace><string key="concept:name" value="c&#233;1"/>
<event><string value="created" key="concept:name"/><date key="time:timestamp" value="2024-01-01T10:00:00Z"/>
<list key="tags"><values><string key="x" value="1"/></values></list><string key="note" value="a &lt;b&gt; &quot;c&quot;"/></event>
</trace></log>"""


def test_xes_value_before_key_character_references_and_lists(tmp_path: Path) -> None:
    path = tmp_path / "odd.xes"
    path.write_text(ODD_XES)
    ev = read_log(path).events
    assert ev[CASE].to_list() == ["cé1"]
    assert ev[EVENT].to_list() == ["created"]
    assert ev["note"].to_list() == ['a <b> "c"']
    assert "x" not in ev.columns and ev[LINE].to_list() == [3]


def test_every_format_reads_the_same_real_log(tmp_path: Path) -> None:
    """receipt.xes.gz written out as CSV, JSONL and Parquet reads back to the same events."""
    xes = read_log(log_path("receipt")).events
    source = xes.select(
        pl.col(CASE).alias("case:concept:name"),
        pl.col(EVENT).alias("concept:name"),
        # Written with the original offsets, as the source system would.
        (pl.col(TS) + pl.duration(seconds=pl.col(OFFSET)))
        .dt.strftime("%Y-%m-%dT%H:%M:%S%.3f")
        .add(
            pl.format(
                "{}{}:{}",
                pl.when(pl.col(OFFSET) < 0).then(pl.lit("-")).otherwise(pl.lit("+")),
                (pl.col(OFFSET).abs() // 3600).cast(pl.String).str.zfill(2),
                (pl.col(OFFSET).abs() % 3600 // 60).cast(pl.String).str.zfill(2),
            )
        )
        .alias("time:timestamp"),
        pl.col("actor").alias("org:resource"),
        pl.col("case:channel"),
    )
    want = xes.select(CASE, EVENT, TS, OFFSET, "actor", "case:channel")
    csv_path, jsonl_path, parquet_path = (
        tmp_path / "r.csv",
        tmp_path / "r.jsonl",
        tmp_path / "r.parquet",
    )
    source.write_csv(csv_path)
    source.write_ndjson(jsonl_path)
    source.write_parquet(parquet_path)
    for path in (csv_path, jsonl_path, parquet_path):
        got = read_log(path)
        assert len(got.quarantine) == 0, path
        assert got.events.select(want.columns).equals(want), path
