"""Readers of download counts: CSV `project,downloads` and the JSON rows format.

CSV has an optional header; the JSON rows format is the one of the public
top-packages datasets (`{"rows": [{"project", "download_count"}],
"rows_before_limit_at_least": N}`). Both are streamed and yield chunks of
(names as given, counts); every bad row goes into a `BadRows` report, and a
file that cannot be read on raises `ImportFailed`.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from typing import IO, Any

import ijson

from giveaway.badrows import BadRows
from giveaway.projects import names

# JSON rows are written this many at a time; CSV goes in blocks of BLOCK_CHARS.
CHUNK = 50_000
BLOCK_CHARS = 4 * 1024 * 1024
# No good row is anywhere near this long: a file without line breaks is refused
# before it fills the memory.
MAX_LINE_CHARS = 1024 * 1024
MAX_NAME = 200
# Every bad row is counted; this many are listed.
MAX_SHOWN_ERRORS = 50


class ImportFailed(Exception):
    """The source is unusable; nothing was changed."""

    def __init__(self, message: str, bad: BadRows | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.bad = bad

    def __str__(self) -> str:
        return self.bad.render(self.message) if self.bad else self.message


Chunk = tuple[list[str], list[Any]]


class JsonMeta:
    """What the JSON document says besides its rows."""

    def __init__(self) -> None:
        self.dataset_count: int | None = None
        self.saw_rows = False


def chunks(handle: IO[bytes], errors: BadRows, meta: JsonMeta) -> Iterator[Chunk]:
    """The rows of a CSV or JSON file (told apart by the first byte), in chunks."""
    first = _first_byte(handle)
    if not first:
        raise ImportFailed("the file is empty")
    if first in (b"{", b"["):
        return _json_chunks(handle, errors, meta)
    return _csv_chunks(handle, errors)


def _first_byte(handle: IO[bytes]) -> bytes:
    """The first non-blank byte (after a BOM), leaving the stream at the start."""
    head = handle.read(4096)
    handle.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        head = head[3:]
    stripped = head.lstrip()
    return stripped[:1]


def _count(value: Any) -> int | None:
    """A download count: a non-negative integer (JSON number or digit string)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_COUNT else None
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.isascii() and stripped.isdigit() and len(stripped) <= 15:
            return int(stripped)
    return None


def _name_problem(raw: str) -> str | None:
    return names.problem(raw, MAX_NAME)


def _bad_count(value: object) -> str:
    return f"the download count must be a whole number from 0 to 10^15, not {str(value)[:40]!r}"


# Characters of a valid name; a newline separates names in the bulk checks.
_NAME_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"
# Counts above this are surely a mistake, and sums must stay inside 64 bits.
MAX_COUNT = 10**15


def _names_ok(raws: list[str]) -> bool:
    """True when every name is valid, checked for the whole list in a few C-level passes."""
    if not raws or not all(raws) or max(map(len, raws)) > MAX_NAME:
        return False
    joined = "\n".join(raws)
    if not joined.isascii():
        return False
    if len(joined.encode("ascii").translate(None, _NAME_CHARS)) != len(raws) - 1:
        return False
    seps = joined.replace("_", "-").replace(".", "-")
    return not (seps.startswith("-") or seps.endswith("-") or "\n-" in seps or "-\n" in seps)


def _counts_ok(counts: list[str]) -> bool:
    if not counts or not all(counts) or max(map(len, counts)) > 15:
        return False
    joined = "".join(counts)
    return joined.isascii() and joined.isdigit()


def _csv_chunks(handle: IO[bytes], errors: BadRows) -> Iterator[Chunk]:
    """CSV in blocks: plain blocks are split in bulk, others go through the csv module."""
    textfile = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    try:
        line = 0
        head = textfile.readline(MAX_LINE_CHARS)
        while head and not head.strip():
            line += 1
            head = textfile.readline(MAX_LINE_CHARS)
        carry = head
        try:
            cells = next(csv.reader([head])) if head else []
        except csv.Error:
            cells = []
        if [c.strip().lower() for c in cells] == ["project", "downloads"]:
            line += 1
            carry = ""
        while True:
            block = textfile.read(BLOCK_CHARS)
            data = carry + block
            if block:
                cut = data.rfind("\n")
                if cut < 0:
                    carry = data
                    _check_length(carry, line)
                    continue
                part, carry = data[: cut + 1], data[cut + 1 :]
                _check_length(carry, line + part.count("\n"))
            else:
                part, carry = data, ""
            if part:
                yield from _csv_block(part, line, errors)
                line += part.count("\n")
            if not block:
                break
    except UnicodeDecodeError as exc:
        raise ImportFailed(f"the file is not UTF-8 text (byte {exc.start})") from None
    finally:
        textfile.detach()


def _check_length(unfinished: str, lines_before: int) -> None:
    if len(unfinished) > MAX_LINE_CHARS:
        raise ImportFailed(
            f"line {lines_before + 1} is longer than {MAX_LINE_CHARS:,} characters: "
            "this is not a file of download counts"
        )


def _csv_block(part: str, offset: int, errors: BadRows) -> Iterator[Chunk]:
    if '"' not in part:
        body = part.replace("\r\n", "\n") if "\r" in part else part
        if "\r" not in body:
            lines = body.split("\n")
            if lines[-1] == "":
                lines.pop()
            if lines and "" not in lines:
                cells = ",".join(lines).split(",")
                if len(cells) == 2 * len(lines):
                    raws, counts = cells[0::2], cells[1::2]
                    if _names_ok(raws) and _counts_ok(counts):
                        yield raws, counts
                        return
    yield from _csv_slow(part, offset, errors)


def _csv_slow(part: str, offset: int, errors: BadRows) -> Iterator[Chunk]:
    """Row by row, to find and report each bad line with its number."""
    reader = csv.reader(io.StringIO(part, newline=""))
    raws: list[str] = []
    counts: list[Any] = []
    try:
        for record in reader:
            where = offset + reader.line_num
            if not record or (len(record) == 1 and not record[0].strip()):
                continue
            if len(record) != 2:
                errors.add(where, f"expected 2 columns (project,downloads), found {len(record)}")
                continue
            raw, count = record[0].strip(), record[1].strip()
            problem = _name_problem(raw)
            if problem:
                errors.add(where, problem)
                continue
            downloads = _count(count)
            if downloads is None:
                errors.add(where, _bad_count(count))
                continue
            raws.append(raw)
            counts.append(downloads)
    except csv.Error as exc:
        raise ImportFailed(
            f"the file is not valid CSV (line {offset + reader.line_num}): {exc}"
        ) from None
    if raws:
        yield raws, counts


def _json_rows(handle: IO[bytes], errors: BadRows, meta: JsonMeta) -> Iterator[tuple[str, int]]:
    """Stream the rows; top-level fields after the rows are caught on the way."""
    events = ijson.parse(handle, use_float=True)
    index = -1
    try:
        for prefix, event, value in events:
            if prefix == "rows.item" and event == "start_map":
                index += 1
                row = _json_object(events, "rows.item")
                yield from _json_row(index, row, errors)
            elif prefix == "rows.item" and event == "start_array":
                index += 1
                _skip_array(events)
                errors.add(index, "a row must be an object", unit="row")
            elif prefix == "rows.item" and event in ("string", "number", "boolean", "null"):
                index += 1
                errors.add(index, "a row must be an object", unit="row")
            elif prefix == "rows" and event == "start_array":
                meta.saw_rows = True
            elif prefix == "rows_before_limit_at_least" and event == "number":
                count = _count(value)
                if count is None:
                    raise ImportFailed(
                        "rows_before_limit_at_least must be a whole number of 0 or more"
                    )
                meta.dataset_count = count
            elif prefix == "" and event not in ("start_map", "end_map", "map_key"):
                raise ImportFailed("the JSON document must be an object with a rows list")
            elif prefix == "" and event == "start_map":
                continue
    except ijson.JSONError as exc:
        # yajl's message spans lines (a caret under the text): keep its first line.
        reason = (str(exc).strip().splitlines() or ["unreadable"])[0].strip()
        where = "before the first row" if index < 0 else f"after row {index}"
        raise ImportFailed(f"the file is not valid JSON ({where}): {reason}") from None
    except UnicodeDecodeError as exc:
        raise ImportFailed(f"the file is not UTF-8 text (byte {exc.start})") from None
    if not meta.saw_rows:
        raise ImportFailed('the JSON document has no "rows" list')


def _skip_array(events: Iterator[tuple[str, str, Any]]) -> None:
    depth = 1
    for _prefix, event, _value in events:
        if event in ("start_map", "start_array"):
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1
            if depth == 0:
                return


def _json_object(events: Iterator[tuple[str, str, Any]], prefix: str) -> dict[str, Any] | None:
    """Collect one row object's scalar fields (nested values mark the row bad)."""
    row: dict[str, Any] = {}
    key: str | None = None
    depth = 0
    nested = False
    for _prefix, event, value in events:
        if depth == 0:
            if event == "end_map":
                return None if nested else row
            if event == "map_key":
                key = value
                continue
            if event in ("start_map", "start_array"):
                depth = 1
                nested = True
                continue
            if key is not None:
                row[key] = value
        else:
            if event in ("start_map", "start_array"):
                depth += 1
            elif event in ("end_map", "end_array"):
                depth -= 1
    raise ijson.IncompleteJSONError("unexpected end of the document")


def _json_row(index: int, row: dict[str, Any] | None, errors: BadRows) -> Iterator[tuple[str, int]]:
    where = index
    if row is None:
        errors.add(where, "a row must hold plain project and download_count values", unit="row")
        return
    if "project" not in row or "download_count" not in row:
        missing = [k for k in ("project", "download_count") if k not in row]
        errors.add(where, "missing " + " and ".join(missing), unit="row")
        return
    raw = row["project"]
    if not isinstance(raw, str):
        errors.add(where, "the project name must be a string", unit="row")
        return
    raw = raw.strip()
    problem = _name_problem(raw)
    if problem:
        errors.add(where, problem, unit="row")
        return
    value = row["download_count"]
    if isinstance(value, float) and value.is_integer() and value >= 0:
        value = int(value)
    downloads = _count(value)
    if downloads is None:
        errors.add(where, _bad_count(value), unit="row")
        return
    yield raw, downloads


def _json_chunks(handle: IO[bytes], errors: BadRows, meta: JsonMeta) -> Iterator[Chunk]:
    raws: list[str] = []
    counts: list[Any] = []
    for raw, downloads in _json_rows(handle, errors, meta):
        raws.append(raw)
        counts.append(downloads)
        if len(raws) >= CHUNK:
            yield raws, counts
            raws, counts = [], []
    if raws:
        yield raws, counts
