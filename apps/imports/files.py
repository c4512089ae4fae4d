"""Reading an export file as numbered records: NDJSON (one JSON object per line) or CSV (a header
row, then one record per row), either of them plain or gzipped, or several CSV files in a zip."""

import csv
import gzip
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import orjson

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"


class InvalidRecord(Exception):
    """A record that cannot be imported; the runner names its file and line."""


class InvalidFile(Exception):
    """A file that cannot be read to its end, with where it went wrong."""


def _opened(path: Path) -> gzip.GzipFile | io.BufferedReader:
    with path.open("rb") as head:
        magic = head.read(4)
    return gzip.open(path, "rb") if magic.startswith(GZIP_MAGIC) else path.open("rb")


def records(path: Path, name: str, *, member: str | None = None) -> Iterator[tuple[str, int, dict]]:
    """(file, line, record) for each record of an NDJSON or CSV file, or of the CSV `member` of a zip;
    a file that is not UTF-8, not JSON where it should be, or cut off raises InvalidFile naming the line."""
    with path.open("rb") as head:
        is_zip = head.read(4) == ZIP_MAGIC
    if is_zip:
        if member is None:
            raise InvalidFile(f"{name}: a zip file; this import reads a CSV or NDJSON file.")
        try:
            with zipfile.ZipFile(path) as archive:
                entry = next((entry for entry in archive.namelist() if Path(entry).name == member), None)
                if entry is None:
                    raise InvalidFile(f"{name}: the zip holds no {member}.")
                with archive.open(entry) as zipped:
                    yield from _csv_records(zipped, f"{name}/{member}")
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise InvalidFile(f"{name}: not a readable zip file ({exc}).") from None
        return
    stream = _opened(path)
    try:
        if stream.peek(1)[:1] in (b"{", b"\n", b" "):
            yield from _ndjson_records(stream, name)
        else:
            yield from _csv_records(stream, name)
    except (EOFError, gzip.BadGzipFile, OSError) as exc:
        raise InvalidFile(f"{name}: the file is cut off or damaged ({exc}).") from None
    finally:
        stream.close()


def zip_members(path: Path) -> set[str]:
    """The files a zip holds by their base name (an empty set for a file that is no zip)."""
    with path.open("rb") as head:
        if head.read(4) != ZIP_MAGIC:
            return set()
    try:
        return {Path(name).name for name in zipfile.ZipFile(path).namelist()}
    except zipfile.BadZipFile:
        return set()


def _ndjson_records(stream, name: str) -> Iterator[tuple[str, int, dict]]:
    line_number = 0
    for line_number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise InvalidFile(f"{name}, line {line_number}: not a JSON object ({exc}); is the file cut off?") from None
        if not isinstance(record, dict):
            raise InvalidFile(f"{name}, line {line_number}: each line must be one JSON object.")
        yield name, line_number, record


def _csv_records(stream, name: str) -> Iterator[tuple[str, int, dict]]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.DictReader(text, strict=True)
    try:
        for record in reader:
            if None in record or None in record.values():  # DictReader's marks of extra or missing fields
                found = sum(value is not None for key, value in record.items() if key is not None)
                found += len(record.get(None) or ())
                raise InvalidFile(
                    f"{name}, line {reader.line_num}: {found} columns where the header has"
                    f" {len(reader.fieldnames or ())}; is the file cut off?"
                )
            yield name, reader.line_num, record
    except UnicodeDecodeError as exc:
        raise InvalidFile(f"{name}, line {reader.line_num + 1}: not UTF-8 text ({exc.reason}).") from None
    except csv.Error as exc:  # in the record after the last one read
        raise InvalidFile(f"{name}, line {reader.line_num + 1}: not valid CSV ({exc}).") from None
