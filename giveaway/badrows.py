"""Every bad row of an upload, in one shape: where it is and what is wrong with it.

The three importers (promo codes, download counts, roles) check a whole file
before writing anything and report every bad row. They share this shape so
that the command line and the admin pages say it the same way: each bad row
is counted, the first `limit` are listed, and the report ends with how many
more there were.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

# More bad rows than this are counted, not listed one by one.
DEFAULT_LIMIT = 50


@dataclass(frozen=True)
class BadRow:
    """One problem: at a line (CSV, counted from 1) or a row (JSON, from 0), or the whole file."""

    line: int | None
    message: str
    unit: str = "line"

    @property
    def where(self) -> str | None:
        return None if self.line is None else f"{self.unit} {self.line}"

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class BadRows:
    """The bad rows of one upload: all counted, the first `limit` kept for the report."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self.listed: list[BadRow] = []
        self.count = 0

    def add(self, line: int | None, message: str, *, unit: str = "line") -> None:
        self.count += 1
        if len(self.listed) < self.limit:
            self.listed.append(BadRow(line, message, unit))

    def __bool__(self) -> bool:
        return self.count > 0

    def __iter__(self) -> Iterator[BadRow]:
        return iter(self.listed)

    @property
    def unlisted(self) -> int:
        return self.count - len(self.listed)

    def render(self, heading: str) -> str:
        """`heading`, then one indented line per listed row and how many more there were."""
        lines = [heading, *(f"  {row}" for row in self.listed)]
        if self.unlisted:
            lines.append(f"  … and {self.unlisted:,} more")
        return "\n".join(lines)
