import re
from datetime import date, timedelta
from xml.etree import ElementTree

from giveaway.admin.plots import Series, bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup) -> ElementTree.Element:
    return ElementTree.fromstring(str(markup))  # noqa: S314 - our own SVG


def test_line_chart_has_one_point_per_value_and_text_alternatives():
    start = date(2026, 3, 1)
    claims = Series("Claims", [(start + timedelta(days=i), i * 3) for i in range(7)])
    pool = Series("Available", [(start + timedelta(days=i), 100 - i * 3) for i in range(7)])
    svg = parse(line_chart("Claims over time", [claims, pool], description="Claims per day"))
    assert svg.get("role") == "img"
    assert svg.find(f"{SVG}title").text == "Claims over time"
    assert svg.find(f"{SVG}desc").text == "Claims per day"
    assert len(svg.findall(f".//{SVG}circle")) == 14
    assert len(svg.findall(f".//{SVG}polyline")) == 2
    titles = [c.find(f"{SVG}title").text for c in svg.findall(f".//{SVG}circle")]
    assert "Claims: 18 on 2026-03-07" in titles


def test_line_chart_without_data_says_so():
    svg = parse(line_chart("Empty", [Series("x", [])]))
    assert "No data yet" in "".join(svg.itertext())
    assert not svg.findall(f".//{SVG}circle")


def test_line_chart_escapes_labels():
    markup = str(line_chart("<b>x</b>", [Series("<script>", [(date(2026, 1, 1), 1)])]))
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    parse(markup)


def test_bar_chart_widths_are_proportional():
    svg = parse(bar_chart("Funnel", [("Eligible", 100), ("Claimed", 50), ("Keys", 0)]))
    rects = svg.findall(f".//{SVG}rect")
    assert len(rects) == 3
    widths = [float(r.get("width")) for r in rects]
    assert widths[0] == 2 * widths[1] or abs(widths[0] - 2 * widths[1]) < 0.2
    assert widths[2] == 1.0  # an empty bar stays visible as a hairline
    assert re.search(r"Claimed: 50", str(ElementTree.tostring(svg)))
