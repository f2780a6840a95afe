import csv
import io
from datetime import UTC, datetime

import pytest

from giveaway import csvexport


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("plain", "plain"),
        (None, ""),
        (42, "42"),
        (datetime(2026, 3, 1, 12, 0, tzinfo=UTC), "2026-03-01T12:00:00+00:00"),
    ],
)
def test_safe_cell(value, expected):
    assert csvexport.safe_cell(value) == expected


def test_render_round_trips_through_a_csv_reader():
    text = csvexport.render(["a", "b"], [["=1+1", "x,y"], ["ok", 'quote "q"']])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["a", "b"], ["'=1+1", "x,y"], ["ok", 'quote "q"']]
