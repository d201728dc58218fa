"""Chart export through vl-convert (no browser): PNG, SVG, PDF, Vega-Lite JSON, and the offline JS bundle.

>>> import altair as alt, pandas as pd
>>> chart = alt.Chart(pd.DataFrame({"x": [1, 2], "y": [3, 4]})).mark_line().encode(x="x:Q", y="y:Q")
>>> chart_spec(chart)["mark"]["type"], "$schema" in chart_spec(chart)
('line', False)
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import altair as alt

__all__ = ["save_chart", "chart_spec", "vegalite_version", "javascript_bundle"]


def chart_spec(chart: alt.TopLevelMixin) -> dict:
    """The chart's Vega-Lite spec as a dict, data inlined, without the ``$schema`` URL."""
    spec = chart.to_dict()
    spec.pop("$schema", None)
    return spec


@functools.cache
def vegalite_version() -> str:
    """The Vega-Lite version (major.minor) Altair writes, if vl-convert supports it, else its newest."""
    import vl_convert as vlc

    wanted = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    known = vlc.get_vegalite_versions()
    return wanted if wanted in known else known[-1]


@functools.cache
def javascript_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one script (from the vl-convert package, no network)."""
    import vl_convert as vlc

    return vlc.javascript_bundle(vl_version=vegalite_version())


def save_chart(chart: alt.TopLevelMixin, path: str | Path, *, scale: float = 2.0) -> Path:
    """Write one chart to ``path``; the format follows the suffix: .png, .svg, .pdf, .json, .html
    (a self-contained page that opens offline).

    >>> import altair as alt, pandas as pd, tempfile, pathlib
    >>> chart = alt.Chart(pd.DataFrame({"x": [1, 2], "y": [3, 4]})).mark_line().encode(x="x:Q", y="y:Q")
    >>> out = save_chart(chart, pathlib.Path(tempfile.mkdtemp()) / "c.svg")
    >>> out.read_text().startswith("<svg")
    True
    """
    import vl_convert as vlc

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
        from llmsim.viz.report import charts_page

        data = charts_page([("", chart)], title=target.stem)
    else:
        raise ValueError(f"cannot save a chart as {target.name!r}: use .png, .svg, .pdf, .json or .html")
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        target.write_bytes(data)
    else:
        target.write_text(data, encoding="utf-8")
    return target
