"""Chart export through vl-convert (no browser): PNG, SVG, PDF, Vega-Lite JSON, and the offline JS bundle.

The bundle (Vega, Vega-Lite and vega-embed, about 0.9 MB) takes vl-convert about 2 s of CPU to build, so
it is kept in a cache folder (``$LLMSIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/llmsim``, else
``~/.cache/llmsim``), one file per vl-convert and Vega-Lite version, written atomically; when the folder
cannot be written the bundle is built each time.

>>> import altair as alt, pandas as pd
>>> chart = alt.Chart(pd.DataFrame({"x": [1, 2], "y": [3, 4]})).mark_line().encode(x="x:Q", y="y:Q")
>>> chart_spec(chart)["mark"]["type"], "$schema" in chart_spec(chart)
('line', False)
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import altair as alt

from llmsim.core.atomic import atomic_write_text

__all__ = ["chart_spec", "vegalite_version", "javascript_bundle", "cache_dir"]


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


def cache_dir() -> Path:
    """Where llmsim keeps files it can rebuild: ``$LLMSIM_CACHE_DIR``, ``$XDG_CACHE_HOME/llmsim`` or
    ``~/.cache/llmsim``.

    >>> import os; os.environ["LLMSIM_CACHE_DIR"] = "/tmp/llmsim-cache"; str(cache_dir())
    '/tmp/llmsim-cache'
    >>> del os.environ["LLMSIM_CACHE_DIR"]
    """
    if os.environ.get("LLMSIM_CACHE_DIR"):
        return Path(os.environ["LLMSIM_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "llmsim"


@functools.cache
def javascript_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one script (from the vl-convert package, no network), from the
    cache folder when an earlier process built it for the same versions."""
    import vl_convert as vlc  # deferred: its native module loads only when a chart is exported

    version = vegalite_version()
    cached = cache_dir() / f"vl-bundle-{vlc.__version__}-vl{version}.js"
    try:
        return cached.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        pass
    bundle = vlc.javascript_bundle(vl_version=version)
    try:
        atomic_write_text(cached, bundle)
    except OSError:  # a read-only home: build it every time instead
        pass
    return bundle
