"""An offline HTML page of Altair charts: Vega, Vega-Lite and vega-embed inlined (from vl-convert) and a
Content-Security-Policy that forbids every network request.

>>> import altair as alt
>>> page = charts_page([("A chart", alt.Chart().mark_point())], title="<t>")
>>> "<title>&lt;t&gt;</title>" in page, page.count('class="vis"')
(True, 1)
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from pathlib import Path

import altair as alt

from llmsim.viz.plots.export import chart_spec, javascript_bundle, vegalite_version
from llmsim.viz.plots.page_hover import linked_hover, walk_dicts

__all__ = ["charts_page", "escape_html", "save_chart"]

_CSP = ("default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
        "img-src data: blob:; font-src data:")
_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1020px;
color:#222;padding:0 16px}
h1{font-size:22px;margin-bottom:4px} h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0} td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums} .meta{color:#666} pre{background:#f6f6f6;padding:10px;
overflow:auto;font-size:12px} .vis{margin:8px 0 18px;width:100%;overflow-x:auto} .error{color:#b00020}
.verdict{border:2px solid #0072b2;border-radius:6px;padding:10px 16px;margin:12px 0;background:#f4f9fd}
.verdict .headline{font-size:18px;font-weight:600;margin:4px 0} .verdict .ns{color:#999}
.verdict .sig{font-weight:600} .verdict span+span:before{content:" · ";color:#999;font-weight:400}
tr.winner td{background:#e6f2fa;font-weight:600} tr.ns td{color:#999}
.wide{overflow-x:auto;max-width:100%} .pass{color:#0072b2} .fail{color:#d55e00;font-weight:600}
"""
_BOOT = """
function hasSignal(view, name) {
  try { view.signal(name); return true; } catch (e) { return false; }
}
// A brush drawn on one chart (its selection is named "zoom") sets the time domain of every other chart of
// the page (their "page_zoom" parameter); clearing the brush gives them back the whole run.
function linkZoom(views) {
  window.llmsimViews = views;  // for tests and the browser console
  views.forEach(function (source) {
    if (!hasSignal(source, "zoom")) { return; }
    source.addSignalListener("zoom", function (name, value) {
      var span = value && value.time ? value.time : null;
      views.forEach(function (other) {
        if (other !== source && hasSignal(other, "page_zoom")) { other.signal("page_zoom", span).runAsync(); }
      });
    });
  });
}
// Hovering a time chart (its selection "hover") marks the same instant on every time chart ("page_hover").
function linkHover(views) {
  views.forEach(function (source) {
    ["hover", "hover1", "hover2", "hover3"].forEach(function (sel) {
      if (!hasSignal(source, sel)) { return; }
      source.addSignalListener(sel, function (name, value) {
        var t = value && value.time ? value.time[0] : null;
        views.forEach(function (v) { if (hasSignal(v, "page_hover")) { v.signal("page_hover", t).runAsync(); } });
      });
    });
  });
}
(function () {
  var nodes = document.querySelectorAll("script.spec");
  var jobs = Array.prototype.map.call(nodes, function (node) {
    var target = document.getElementById(node.getAttribute("data-target"));
    return vegaEmbed(target, JSON.parse(node.textContent), {actions: false, renderer: "svg", mode: "vega-lite"})
      .catch(function (e) {
        var p = document.createElement("pre"); p.className = "error"; p.textContent = "chart failed: " + e;
        target.appendChild(p); throw e;
      });
  });
  Promise.allSettled(jobs).then(function (all) {
    var views = all.filter(function (r) { return r.status === "fulfilled"; })
                   .map(function (r) { return r.value.view; });
    linkZoom(views); linkHover(views);
    var bad = all.filter(function (r) { return r.status !== "fulfilled"; }).length;
    document.body.setAttribute("data-charts", String(all.length - bad));
    document.body.setAttribute("data-chart-errors", String(bad));
  });
})();
"""


def escape_html(text) -> str:
    """Text shown in a page, never run: every markup character escaped."""
    return html.escape(str(text), quote=True)


def _json_for_script(spec: dict) -> str:
    """JSON safe inside <script>: no '<', '>' or '&' can close the element or start markup."""
    text = json.dumps(spec, separators=(",", ":"), allow_nan=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


#: The page-level zoom every time chart follows (set by the page's script from a brush on another chart).
PAGE_ZOOM = "page_zoom"


def linked_time(spec: dict) -> dict:
    """``spec`` with each x scale on the ``time`` field that has a fixed ``[start, end]`` domain following the
    page's zoom (``page_zoom``, null: the whole run) and its marks clipped to the plot; unchanged when it has
    no such axis.

    >>> spec = {"mark": "line", "encoding": {"x": {"field": "time", "scale": {"domain": [0, 10]}}}}
    >>> linked_time(spec)["encoding"]["x"]["scale"]["domain"], linked_time(spec)["params"][0]["name"]
    ({'expr': 'page_zoom ? page_zoom : [0, 10]'}, 'page_zoom')
    """
    found = []

    def visit(node: dict) -> bool:
        x = node.get("encoding", {}).get("x") if isinstance(node.get("encoding"), dict) else None
        scale = x.get("scale") if isinstance(x, dict) and x.get("field") == "time" else None
        if isinstance(scale, dict) and isinstance(scale.get("domain"), list) and len(scale["domain"]) == 2:
            lo, hi = scale["domain"]
            scale["domain"] = {"expr": f"{PAGE_ZOOM} ? {PAGE_ZOOM} : [{lo!r}, {hi!r}]"}
            found.append(True)
        return False

    out = json.loads(json.dumps(spec, default=str))
    walk_dicts(out, visit)
    if not found:
        return spec
    out["params"] = [*out.get("params", []), {"name": PAGE_ZOOM, "value": None}]
    out.setdefault("config", {}).setdefault("mark", {})["clip"] = True
    return out


def charts_page(charts: Iterable[tuple[str, alt.TopLevelMixin]], title: str, body_html: str = "") -> str:
    """A complete offline HTML page: ``body_html`` (already escaped), then each (heading, chart).

    The page sets ``data-charts`` / ``data-chart-errors`` on <body> once every chart is drawn. A brush on a
    time chart (a selection named ``zoom``) zooms every other time chart of the page (``linked_time``)."""
    blocks = []
    for i, (heading, chart) in enumerate(charts):
        h = f"<h2>{escape_html(heading)}</h2>\n" if heading else ""
        blocks.append(f'<section>{h}<div id="chart-{i}" class="vis"></div>\n'
                      f'<script type="application/json" class="spec" data-target="chart-{i}">'
                      f"{_json_for_script(linked_time(linked_hover(chart_spec(chart))))}</script></section>")
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape_html(title)}</title>", f"<style>{_STYLE}</style>",
        f"<script>{javascript_bundle()}</script>", "</head><body>",
        body_html, *blocks, f"<script>{_BOOT}</script>", "</body></html>", "",
    ])


def save_chart(chart: alt.TopLevelMixin, path: str | Path, *, scale: float = 2.0) -> Path:
    """Write one chart to ``path``; the format follows the suffix: .png, .svg, .pdf, .json, .html
    (a self-contained page that opens offline).

    >>> import altair as alt, pandas as pd, tempfile, pathlib
    >>> chart = alt.Chart(pd.DataFrame({"x": [1, 2], "y": [3, 4]})).mark_line().encode(x="x:Q", y="y:Q")
    >>> out = save_chart(chart, pathlib.Path(tempfile.mkdtemp()) / "c.svg")
    >>> out.read_text().startswith("<svg")
    True
    """
    import vl_convert as vlc  # deferred: its native module loads only when a chart is exported

    target = Path(path)
    kind = target.suffix.lower().lstrip(".")
    spec = chart_spec(chart)
    version = vegalite_version()
    if kind == "png":
        data: bytes | str = vlc.vegalite_to_png(spec, vl_version=version, scale=scale)
    elif kind == "svg":
        data = vlc.vegalite_to_svg(spec, vl_version=version)
    elif kind == "pdf":
        data = vlc.vegalite_to_pdf(spec, vl_version=version, scale=scale)
    elif kind == "json":
        data = json.dumps(spec, indent=1)
    elif kind == "html":
        data = charts_page([("", chart)], title=target.stem)
    else:
        raise ValueError(f"cannot save a chart as {target.name!r}: use .png, .svg, .pdf, .json or .html")
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        target.write_bytes(data)
    else:
        target.write_text(data, encoding="utf-8")
    return target
