"""Chart export through vl-convert (no browser): PNG, SVG, PDF, Vega-Lite JSON, and the offline JS bundle.

>>> import altair as alt, pandas as pd
>>> chart = alt.Chart(pd.DataFrame({"x": [1, 2], "y": [3, 4]})).mark_line().encode(x="x:Q", y="y:Q")
>>> chart_spec(chart)["mark"]["type"], "$schema" in chart_spec(chart)
('line', False)
"""

from __future__ import annotations

import functools

import altair as alt

__all__ = ["chart_spec", "vegalite_version", "javascript_bundle"]


def chart_spec(chart: alt.TopLevelMixin) -> dict:
    """The chart's Vega-Lite spec as a dict, data inlined, without the ``$schema`` URL."""
    spec = chart.to_dict()
    spec.pop("$schema", None)
    return spec


@functools.cache
def vegalite_version() -> str:
    """The Vega-Lite version (major.minor) Altair writes, if vl-convert supports it, else its newest."""
    import vl_convert as vlc  # deferred: its native module loads only when a chart is exported

    wanted = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    known = vlc.get_vegalite_versions()
    return wanted if wanted in known else known[-1]


@functools.cache
def javascript_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one script (from the vl-convert package, no network)."""
    import vl_convert as vlc  # deferred: its native module loads only when a chart is exported

    return vlc.javascript_bundle(vl_version=vegalite_version())
