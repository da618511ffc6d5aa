"""The HTML report in headless Chromium: charts drawn, page not blank, figures = JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from analytics_fixtures import LOG_AS_OF, event_log, exceptions, journey
from png_pixels import colour_census

from escalator.analytics.render_html import render_html, rule_week_series
from escalator.analytics.report import build_report

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.browser

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--virtual-time-budget=3000",
]


@pytest.fixture(scope="module")
def chromium() -> str:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    return CHROMIUM if Path(CHROMIUM).exists() else str(shutil.which("chromium"))


def _run(chromium: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp / f"profile-{len(list(tmp.iterdir()))}"
    return subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )


class _Dom(HTMLParser):
    """Collects what the test compares: figures, bars, tiles, links, the embedded JSON."""

    def __init__(self) -> None:
        super().__init__()
        self.body: dict[str, str] = {}
        self.figures: list[dict[str, str]] = []
        self.bars: dict[str, list[dict[str, str]]] = {}
        self.polylines: dict[str, int] = {}
        self.tiles: dict[str, int] = {}
        self.links: list[str] = []
        self.json_text = ""
        self._figure: str | None = None
        self._in_json = False
        self._tile: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}  # a valueless attribute (<x hidden>) reads ""
        if tag == "body":
            self.body = a
        elif tag == "figure":
            self.figures.append(a)
            self._figure = a["id"]
        elif tag == "rect" and a.get("class") == "bar" and self._figure:
            self.bars.setdefault(self._figure, []).append(a)
        elif tag == "polyline" and self._figure:
            self.polylines[self._figure] = len((a.get("points") or "").split())
        elif tag == "script" and a.get("id") == "report-data":
            self._in_json = True
        elif tag == "div" and a.get("data-total"):
            self._tile = a["data-total"]
        elif tag == "a" and a.get("href"):
            self.links.append(str(a["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure":
            self._figure = None
        elif tag == "script":
            self._in_json = False

    def handle_data(self, data: str) -> None:
        if self._in_json:
            self.json_text += data
        elif self._tile and data.strip():
            self.tiles[self._tile] = int(data)
            self._tile = None


@pytest.fixture(scope="module")
def report() -> dict:
    j = journey()
    data = build_report(exceptions(), as_of=LOG_AS_OF, journeys=[j], logs={j.name: event_log()})
    return json.loads(json.dumps(data, default=str))


def _dom(chromium: str, tmp: Path, html: str) -> _Dom:
    page = tmp / "report.html"
    page.write_text(html, encoding="utf-8")
    dumped = _run(chromium, tmp, "--dump-dom", page.as_uri()).stdout
    dom = _Dom()
    dom.feed(dumped)
    return dom


def test_charts_render_and_match_the_json(chromium: str, tmp_path: Path, report: dict) -> None:
    dom = _dom(chromium, tmp_path, render_html(report))
    data = json.loads(dom.json_text)
    assert data == report
    figures = {f["id"]: f for f in dom.figures}
    assert set(figures) == {
        "burn-down-0",
        "burn-down-1",
        "restore-distribution",
        "rule-week",
        "load-by-role",
        "open-by-age",
    }
    # The page's own script ran in the browser and found every chart consistent.
    assert dom.body.get("data-checked") == "6" and dom.body.get("data-mismatches") == "0"
    assert all(f.get("data-check") == "ok" for f in figures.values())
    # And we check again here, independently of that script.
    for i, slo in enumerate(data["slos"]):
        values = [p["remaining"] for p in slo["burn_down"]]
        assert json.loads(figures[f"burn-down-{i}"]["data-values"]) == values
        assert dom.polylines[f"burn-down-{i}"] == len(values) == 29
    bars = {b["data-label"]: float(b["data-value"]) for b in dom.bars["restore-distribution"]}
    assert bars == {b["bucket"]: b["count"] for b in data["restore_distribution"]}
    heights = {b["data-label"]: float(b["height"]) for b in dom.bars["restore-distribution"]}
    assert heights["1h-4h"] == pytest.approx(2 * heights["15m-1h"]) and heights["< 15m"] == 0
    roles = {b["data-label"]: float(b["data-value"]) for b in dom.bars["load-by-role"]}
    assert roles == {"billing": 2, "inventory": 2, "support": 1}
    weeks, series = rule_week_series(data["exceptions_per_rule_week"])
    drawn = {
        (b["data-series"], b["data-label"]): float(b["data-value"]) for b in dom.bars["rule-week"]
    }
    assert drawn == {(rule, w): series[rule][k] for rule in series for k, w in enumerate(weeks)}
    assert int(figures["restore-distribution"]["data-drawn"]) == 2  # two non-empty buckets
    assert dom.tiles == data["totals"]
    expected_links = [r["url"] for r in data["open_exceptions"]["oldest_first"]]
    assert [link for link in dom.links if "/workflows/" in link] == expected_links


def test_page_script_flags_a_chart_that_disagrees(
    chromium: str, tmp_path: Path, report: dict
) -> None:
    html = render_html(report)
    good = 'data-values="[0,1,2,0,0,0]"'
    assert good in html
    dom = _dom(chromium, tmp_path, html.replace(good, 'data-values="[0,1,3,0,0,0]"'))
    assert dom.body.get("data-mismatches") == "1"
    flagged = [f["id"] for f in dom.figures if f.get("data-check") == "mismatch"]
    assert flagged == ["restore-distribution"]


def test_screenshot_is_not_blank(chromium: str, tmp_path: Path, report: dict) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_html(report), encoding="utf-8")
    shot = tmp_path / "shot.png"
    _run(chromium, tmp_path, "--window-size=900,1400", f"--screenshot={shot}", page.as_uri())
    colours, inked = colour_census(shot.read_bytes())
    assert colours > 50, f"only {colours} colours: the page looks blank"
    assert inked > 0.03, f"only {inked:.1%} of the pixels are not white"


def test_empty_report_still_renders(chromium: str, tmp_path: Path) -> None:
    from escalator.analytics.schema import empty_exceptions

    data = json.loads(json.dumps(build_report(empty_exceptions(), as_of=LOG_AS_OF), default=str))
    dom = _dom(chromium, tmp_path, render_html(data))
    assert dom.body.get("data-mismatches") == "0"
    assert int(dom.body.get("data-checked") or 0) == 4  # no SLO charts without a log
