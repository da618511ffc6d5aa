"""Damaged and unusual logs: each defect class over a small file the test makes.

Every case ends in events (read correctly) or in a LogFormatError naming the file (and
the line when there is one): never a traceback, never a silently shorter log.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import cast

import pytest

from escalator.detectors.events import CASE, EVENT, LINE
from escalator.detectors.readers import LogFormatError, read_log

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1.0">\n'


def trace(case: str, *events: str, q: str = '"') -> str:
    body = "".join(
        f"  <event>\n    <string key={q}concept:name{q} value={q}{e}{q}/>\n"
        f"    <date key={q}time:timestamp{q} value={q}2024-05-06T10:0{i}:00+02:00{q}/>\n"
        "  </event>\n"
        for i, e in enumerate(events)
    )
    return f"<trace>\n  <string key={q}concept:name{q} value={q}{case}{q}/>\n{body}</trace>\n"


def xes(*traces: str, head: str = HEAD, tail: str = "</log>\n") -> str:
    return head + "".join(traces) + tail


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def big_xes() -> bytes:
    return xes(*(trace(f"c{i}", "created", "paid", "shipped") for i in range(400))).encode()


def test_gzip_cut_in_half_is_refused_naming_the_file(tmp_path: Path) -> None:
    whole = gzip.compress(big_xes())
    path = write(tmp_path, "half.xes.gz", whole[: len(whole) // 2])
    with pytest.raises(
        LogFormatError, match=r"half\.xes\.gz: the gzip stream ends early.*cut short"
    ):
        read_log(path)


def test_gzip_with_a_bad_crc_is_refused(tmp_path: Path) -> None:
    whole = bytearray(gzip.compress(big_xes()))
    whole[-8] ^= 0xFF  # the CRC-32 in the trailer
    path = write(tmp_path, "crc.xes.gz", bytes(whole))
    with pytest.raises(LogFormatError, match=r"crc\.xes\.gz: damaged gzip data \(.*check"):
        read_log(path)


def test_not_gzip_under_a_gz_name_and_not_xml_under_an_xes_name(tmp_path: Path) -> None:
    with pytest.raises(LogFormatError, match=r"named \.gz but not gzip data"):
        read_log(write(tmp_path, "plain.xes.gz", big_xes()))
    with pytest.raises(LogFormatError, match=r"nonsense\.xes: not an XES file"):
        read_log(write(tmp_path, "nonsense.xes", "case,event\n1,2\n"))


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        # The </event> of the first event is missing: the second <event> opens inside it.
        (xes(trace("c1", "a", "b").replace("  </event>\n", "", 1)), 8, "inside another <event>"),
        # A "/>" is missing: noticed at the </event> (line 8) that closes it.
        (xes(trace("c1", "a").replace('"a"/>', '"a">', 1)), 8, "before this tag is not closed"),
        (xes(trace("c1", "a").replace('value="a"', 'value="a<b"', 1)), 6, "not ended by '>'"),
        (xes(trace("c1", "a"), trace("c2", "b")).replace("</trace>\n", "", 1), 9, "<trace> opened"),
    ],
)
def test_broken_xes_structure_names_the_line(
    tmp_path: Path, text: str, line: int, problem: str
) -> None:
    path = write(tmp_path, "broken.xes", text)
    with pytest.raises(LogFormatError, match=rf"broken\.xes:{line}: broken XES: .*{problem}"):
        read_log(path)


def test_xes_cut_inside_a_trace_or_without_closing_log(tmp_path: Path) -> None:
    text = xes(trace("c1", "a", "b"), trace("c2", "a"))
    with pytest.raises(LogFormatError, match=r"does not end with </log>"):
        read_log(write(tmp_path, "cut.xes", text[: text.index("<trace", 50) + 40]))
    with pytest.raises(LogFormatError, match=r"ends inside a <trace>"):
        read_log(write(tmp_path, "open.xes", text.replace("</trace>\n</log>", "</log>")))


def test_xes_markup_declaration_among_the_traces_is_a_broken_file(tmp_path: Path) -> None:
    """A '<!' that opens neither a comment nor CDATA (found by the property tests)."""
    text = xes(trace("c1", "a"), trace("c2", "b")).replace("<trace>", "<trace<!>", 2)
    line = text[: text.index("<!>")].count("\n") + 1
    with pytest.raises(LogFormatError, match=rf"bang\.xes:{line}: broken XES: '<!' inside"):
        read_log(write(tmp_path, "bang.xes", text))


def test_events_inside_comments_and_cdata_are_not_events(tmp_path: Path) -> None:
    hidden = "<!-- an old event:\n" + trace("ghost", "created") + "-->\n"
    cdata = "<![CDATA[ <event> not an event </event> ]]>\n"
    text = xes(hidden, trace("c1", "created"), cdata, "<!-- <trace> -->\n", trace("c2", "paid"))
    ev = read_log(write(tmp_path, "commented.xes", text)).events
    assert ev[CASE].to_list() == ["c1", "c2"]
    # Lines are those of the file: the comments were blanked, not removed.
    lines = text.splitlines()
    assert [lines[n - 1].strip() for n in ev[LINE].to_list()] == ["<event>", "<event>"]
    assert ev[LINE].to_list()[0] == next(i for i, x in enumerate(lines, 1) if "c1" in x) + 1


def test_namespace_prefix_and_single_quotes(tmp_path: Path) -> None:
    plain = xes(trace("c1", "created", "paid"))
    prefixed = (
        plain.replace("<log ", '<xes:log xmlns:xes="http://www.xes-standard.org/" ')
        .replace("</log>", "</xes:log>")
        .replace("<trace", "<xes:trace")
        .replace("</trace", "</xes:trace")
        .replace("<event", "<xes:event")
        .replace("</event", "</xes:event")
        .replace("<string", "<xes:string")
        .replace("<date", "<xes:date")
    )
    quoted = xes(trace("c1", "created", "paid", q="'"))
    for name, text in (("prefixed.xes", prefixed), ("quoted.xes", quoted)):
        ev = read_log(write(tmp_path, name, text)).events
        assert ev[EVENT].to_list() == ["created", "paid"], name
        assert ev[CASE].to_list() == ["c1", "c1"], name


def test_repeated_trace_id_is_quarantined_not_merged(tmp_path: Path) -> None:
    text = xes(trace("c1", "created"), trace("c2", "created"), trace("c1", "paid", "shipped"))
    result = read_log(write(tmp_path, "twice.xes", text))
    assert result.events[EVENT].to_list() == ["created", "created"]
    reasons = [cast(str, r["reason"]) for r in result.quarantine.rows]
    assert len(reasons) == 2
    assert reasons[0].startswith("trace id 'c1' repeats the trace at line 3")


CSV_HEAD = "case:concept:name,concept:name,time:timestamp\n"


def test_oversize_csv_field_is_quarantined_with_a_reason(tmp_path: Path) -> None:
    rows = [f"o{i},created,2024-05-06T10:00:00Z" for i in range(5)]
    rows.insert(2, "o9,created," + "x" * 200_000)
    result = read_log(write(tmp_path, "wide.csv", CSV_HEAD + "\n".join(rows) + "\n"))
    assert result.events.height == 5
    [row] = result.quarantine.rows
    assert row["line"] == 4 and "longer than 131,072 characters" in str(row["reason"])


def test_gzip_bytes_in_a_csv_name_the_file_line_and_a_hint(tmp_path: Path) -> None:
    data = gzip.compress((CSV_HEAD + "o1,created,2024-05-06T10:00:00Z\n").encode() * 50)
    with pytest.raises(
        LogFormatError, match=r"log\.csv:1: .*this looks like gzip: name it log\.csv\.gz"
    ):
        read_log(write(tmp_path, "log.csv", data))
    latin = (CSV_HEAD + "o1,créé,2024-05-06T10:00:00Z\n").encode("latin-1")
    with pytest.raises(LogFormatError, match=r"latin\.csv:2: byte 0xe9 .* save the file as UTF-8"):
        read_log(write(tmp_path, "latin.csv", latin))


def test_csv_gz_and_jsonl_gz_read_directly(tmp_path: Path) -> None:
    csv_text = CSV_HEAD + "o1,created,2024-05-06T10:00:00Z\no1,paid,2024-05-06T11:00:00Z\n"
    jsonl_text = "".join(
        f'{{"case:concept:name": "o1", "concept:name": "{e}", "time:timestamp": "{t}"}}\n'
        for e, t in (("created", "2024-05-06T10:00:00Z"), ("paid", "2024-05-06T11:00:00Z"))
    )
    for name, text in (("log.csv.gz", csv_text), ("log.jsonl.gz", jsonl_text)):
        ev = read_log(write(tmp_path, name, gzip.compress(text.encode()))).events
        assert ev[EVENT].to_list() == ["created", "paid"], name
        assert ev[LINE].to_list() == ([2, 3] if name.startswith("log.csv") else [1, 2])


def test_xes_bytes_that_are_not_utf8_name_the_line(tmp_path: Path) -> None:
    data = xes(trace("c1", "created"), trace("c2", "paid")).encode().replace(b"c2", b"c\xe9")
    with pytest.raises(LogFormatError, match=r"latin\.xes:11: byte 0xe9 .* save the file as UTF-8"):
        read_log(write(tmp_path, "latin.xes", data))
