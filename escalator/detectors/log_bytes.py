"""The bytes of a log file, checked: gzip streams complete and intact, text that is UTF-8.

A ``.gz`` file is inflated member by member with ISA-L (``isal``: the zlib interface,
about twice as fast as zlib at inflating, which is a tenth of reading a large XES log),
which checks each member's CRC-32 and length; a stream that stops before its
end-of-stream marker (a file cut short by a failed copy) is an error, never a silently
shorter log.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

from isal import isal_zlib

from escalator.detectors.log_errors import LogFormatError

__all__ = ["GZIP_MAGIC", "decode_text", "gunzip", "read_bytes"]

GZIP_MAGIC = b"\x1f\x8b"
# isal's stubs declare its error as an instance; at run time it is the exception class.
_InflateError = cast(type[Exception], isal_zlib.error)


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise LogFormatError(f"{path}: no such file") from None
    except OSError as exc:
        raise LogFormatError(f"{path}: cannot be read: {exc.strerror or exc}") from None


def gunzip(data: bytes, path: Path) -> bytes:
    """Every member of a gzip file, with end-of-stream, CRC and length checked."""
    if data[:2] != GZIP_MAGIC:
        raise LogFormatError(
            f"{path}: named .gz but not gzip data (it starts with {data[:8]!r}); "
            "rename it without .gz if it is plain text"
        )
    out: list[bytes] = []
    while data:
        inflater = isal_zlib.decompressobj(31)  # 31: gzip header and trailer
        try:
            out.append(inflater.decompress(data))
        except _InflateError as exc:
            raise LogFormatError(
                f"{path}: damaged gzip data ({exc}); the file is corrupt, copy it again"
            ) from None
        if not inflater.eof:
            inflated = sum(len(o) for o in out)
            raise LogFormatError(
                f"{path}: the gzip stream ends early after {inflated:,} bytes of content: "
                "the file is cut short (an interrupted copy or download?); copy it again"
            )
        data = inflater.unused_data
        if data and data[:2] != GZIP_MAGIC:
            if data.strip(b"\0"):  # zero padding after the last member is common and harmless
                raise LogFormatError(
                    f"{path}: {len(data):,} bytes after the end of the gzip stream that are "
                    "not gzip data; the file is damaged, copy it again"
                )
            break
    return b"".join(out)


def _hint(data: bytes, path: Path) -> str:
    name = path.name
    if data[:2] == GZIP_MAGIC:
        return f"this looks like gzip: name it {name}.gz"
    if data[:4] == b"PAR1":
        return f"this looks like Parquet: name it {path.stem}.parquet"
    if data[:4] == b"PK\x03\x04":
        return "this looks like a ZIP archive (a spreadsheet?): export the sheet as CSV (UTF-8)"
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "this looks like UTF-16: save it as UTF-8"
    return "save the file as UTF-8 (it may be Latin-1 or Windows-1252)"


def decode_text(data: bytes, path: Path) -> str:
    """UTF-8 text without a byte-order mark, or an error naming the line and a likely cause."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise LogFormatError(
            f"{path}:{line}: byte 0x{data[exc.start]:02x} at offset {exc.start} is not UTF-8; "
            + _hint(data, path)
        ) from None
    return text[1:] if text.startswith("\ufeff") else text
