"""The HTML report: self-contained (no URL to fetch), hostile names escaped, every chart drawn offline in
headless Chromium (skipped when Chromium is not installed), and the `llmsim report` / `run --report` CLI."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

import llmsim
from llmsim.cli import app
from llmsim.viz.report import write_report

from conftest import tiny_scenario

HOSTILE = {
    "scenario": "<script>alert(1)</script>",
    "provider": '</script><b id="pwned">x</b>',
    "incident": "<svg onload=alert(3)>",
    "description": "<img src=x onerror=alert(2)> & more",
}
URL_ATTRS = {"src", "href", "srcset", "action", "formaction", "poster", "data", "background", "xlink:href", "ping"}


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.title = ""
        self._in_title = False
        self.h1 = ""
        self._in_h1 = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_title, self._in_h1 = tag == "title", tag == "h1"

    def handle_endtag(self, tag):
        self._in_title = self._in_h1 = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if self._in_h1:
            self.h1 += data


def parse(page: str) -> _Tags:
    p = _Tags()
    p.feed(page)
    return p


def hostile_scenario() -> dict:
    sc = tiny_scenario(name=HOSTILE["scenario"], description=HOSTILE["description"], horizon="3m",
                       client={"retry": {"max_attempts": 2},
                               "circuit_breaker": {"window": "10s", "min_calls": 5, "open_for": "5s"}})
    p = sc["providers"][0]
    p["name"] = HOSTILE["provider"]
    p["incidents"] = [{"name": HOSTILE["incident"], "start": "1m", "duration": "30s", "server_error_rate": 0.9}]
    return sc


@pytest.fixture(scope="module")
def default_run() -> llmsim.Result:
    return llmsim.simulate(llmsim.load_scenario("tuesday"))  # the whole default day, as a user runs it


@pytest.fixture(scope="module")
def default_report(default_run, tmp_path_factory) -> Path:
    return write_report(default_run, tmp_path_factory.mktemp("tuesday") / "report.html")


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory) -> Path:
    res = llmsim.simulate(hostile_scenario(), seed=1)
    assert not res.events[res.events["kind"] == "breaker"].empty
    return write_report(res, tmp_path_factory.mktemp("hostile") / "report.html")


def test_report_fetches_nothing(default_report):
    page = default_report.read_text(encoding="utf-8")
    tags = parse(page).tags
    for tag, attrs in tags:
        assert tag not in {"link", "iframe", "img", "object", "embed", "base"}, tag
        for name, value in attrs.items():
            if name in URL_ATTRS:
                raise AssertionError(f"<{tag} {name}={value!r}> would load something")
    assert not re.search(r"url\(|@import", page.split("<script>", 1)[0])  # the stylesheet loads nothing
    csp = [a["content"] for t, a in tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0]
    # URLs appear only inside the inlined Vega library (XML namespaces, doc links), nowhere else
    library_end = page.index("</script>")
    rest = page[library_end:]
    assert "http://" not in rest and "https://" not in rest
    specs = [json.loads(m) for m in re.findall(r'<script type="application/json" class="spec"[^>]*>(.*?)</script>',
                                               page, re.S)]
    # latency + success rate, latency/capacity/outcomes, latency heatmap, amplification, CDF, cumulative spend;
    # no breaker chart: tuesday's client has no breaker (an empty section is left out)
    assert len(specs) == 6 and all("datasets" in s and "$schema" not in s for s in specs)
    rows = [len(d) for s in specs for d in s["datasets"].values()]
    assert 0 < max(rows) <= 5000  # a 216k-request day is aggregated before it is drawn
    assert '"url"' not in "".join(json.dumps(s.get("data", {})) for s in specs)


def test_report_shows_scenario_and_summary(default_run, default_report):
    from llmsim.viz.text_tables import fmt_metric

    page = default_report.read_text(encoding="utf-8")
    parsed = parse(page)
    assert parsed.h1 == "llmsim report: tuesday"
    for metric, value in default_run.summary().items():
        assert f'<td>{metric}</td><td class="num">{fmt_metric(metric, value)}</td>' in page
    assert "shared-gpt" in page and "contention" in page


def test_hostile_names_are_escaped(hostile_report):
    page = hostile_report.read_text(encoding="utf-8")
    for raw in HOSTILE.values():
        assert raw not in page
    parsed = parse(page)
    assert parsed.title == f"llmsim report: {HOSTILE['scenario']}"  # shown as text
    assert parsed.h1 == f"llmsim report: {HOSTILE['scenario']}"
    assert [t for t, _ in parsed.tags].count("script") == 9  # the library, 7 chart specs (breakers too), the boot
    assert not any(t in {"b", "img", "svg"} for t, _ in parsed.tags)
    specs = re.findall(r'<script type="application/json" class="spec"[^>]*>(.*?)</script>', page, re.S)
    values = [v for s in specs for rows in json.loads(s)["datasets"].values() for r in rows for v in r.values()]
    assert HOSTILE["provider"] in values and HOSTILE["incident"] in values  # the data keep the names intact


# -- headless Chromium, network off -----------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _no_network_prefix() -> list[str]:
    if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        return ["unshare", "-n"]  # a network namespace with nothing in it
    return []


def render(page: Path, workdir: Path) -> tuple[str, list[str]]:
    """The DOM after scripts ran, and the http(s)/ws URLs the page itself tried to load (from a net log)."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    netlog = workdir / "net.json"
    cmd = [*_no_network_prefix(), CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
           f"--user-data-dir={workdir / 'profile'}", "--host-resolver-rules=MAP * ~NOTFOUND",
           f"--log-net-log={netlog}", "--virtual-time-budget=30000", "--dump-dom", page.as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    log = json.loads(netlog.read_text())
    kinds = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    fetched = [e["params"]["url"] for e in log["events"]
               if kinds.get(e["type"]) == "URL_REQUEST_START_JOB"
               and e.get("params", {}).get("initiator") != "not an origin"  # the browser's own update pings
               and re.match(r"(https?|wss?|ftp):", str(e["params"].get("url", "")))]
    return done.stdout, fetched


def test_offline_check_can_see_a_fetch(tmp_path):
    """Control: the same check flags a page that loads from the network (loopback, never answered)."""
    page = tmp_path / "fetches.html"
    page.write_text('<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/x.png"></body></html>')
    _, fetched = render(page, tmp_path)
    assert fetched == ["http://127.0.0.1:9/x.png"]


def test_default_report_draws_every_chart_offline(default_report, tmp_path):
    dom, fetched = render(default_report, tmp_path)
    assert fetched == []
    assert 'data-chart-errors="0"' in dom
    assert 'data-charts="6"' in dom
    assert len(re.findall(r'<svg[^>]*class="marks"', dom)) == 6


def test_hostile_report_renders_names_as_text(hostile_report, tmp_path):
    dom, fetched = render(hostile_report, tmp_path)
    assert fetched == []
    scripts = len(re.findall(r"<script", dom))
    dom = re.sub(r"<script.*?</script>", "", dom, flags=re.S)  # what is shown, not the code
    assert 'data-charts="7"' in dom and 'data-chart-errors="0"' in dom
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom  # the title, shown
    assert '<b id="pwned">' not in dom and "<img" not in dom and "<svg onload" not in dom
    assert "&lt;/script&gt;&lt;b id=\"pwned\"&gt;x&lt;/b&gt;" in dom  # provider name drawn as SVG text
    assert scripts == len(re.findall(r"<script", hostile_report.read_text()))  # no script was injected


# -- CLI ------------------------------------------------------------------------------------------------------

runner = CliRunner()


def test_cli_report_missing_folder_is_one_line_exit_2(tmp_path):
    got = runner.invoke(app, ["report", str(tmp_path / "nope")])
    assert got.exit_code == 2
    assert "no such folder" in got.output and len(got.output.strip().splitlines()) == 1
    got = runner.invoke(app, ["report", str(tmp_path)])
    assert got.exit_code == 2 and "no result.json" in got.output


def test_cli_run_report_and_report_dir(tmp_path):
    import yaml

    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(tiny_scenario(horizon="2m")))
    got = runner.invoke(app, ["run", str(scenario), "--out", str(tmp_path / "run"),
                              "--report", str(tmp_path / "r.html")])
    assert got.exit_code == 0, got.output
    assert (tmp_path / "r.html").read_text().count('class="vis"') == 6
    got = runner.invoke(app, ["report", str(tmp_path / "run")])
    assert got.exit_code == 0, got.output
    assert "tiny" in parse((tmp_path / "run" / "report.html").read_text()).h1
    got = runner.invoke(app, ["report", str(tmp_path / "run"), "--out", str(tmp_path / "x" / "y.html")])
    assert got.exit_code == 0 and (tmp_path / "x" / "y.html").is_file()


def test_write_report_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_report(tmp_path / "missing")
    with pytest.raises(ValueError, match="no result.json"):
        write_report(tmp_path)
