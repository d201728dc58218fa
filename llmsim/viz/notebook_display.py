"""Charts in notebooks that draw with no network: the same Vega bundle the reports inline (from vl-convert),
embedded once in the notebook by ``enable_offline()``, and an Altair renderer whose outputs use it.

Altair's default renderer loads Vega from a CDN, so a notebook opened or exported offline shows "Error
loading script" in place of every chart. After ``enable_offline()`` (the last line of a setup cell), every
chart output is a <div> and a few lines of script that wait for the embedded bundle; the cell that called
``enable_offline()`` holds the bundle itself (about 0.9 MB, once per notebook), so exported HTML is offline too.

>>> import altair as alt, pandas as pd
>>> bundle = enable_offline()
>>> out = alt.Chart(pd.DataFrame({"x": [1]})).mark_point().encode(x="x:Q")._repr_mimebundle_()
>>> html = out[0]["text/html"] if isinstance(out, tuple) else out["text/html"]
>>> "cdn.jsdelivr" in html, "vegaEmbed" in html, "window.vegaEmbed" in bundle._repr_html_()
(False, True, True)
>>> disable_offline()
"""

from __future__ import annotations

import itertools
import json

import altair as alt

from llmsim.viz.plots.export import javascript_bundle

__all__ = ["enable_offline", "disable_offline", "RENDERER"]

RENDERER = "llmsim-offline"
_ids = itertools.count()
_previous: list[str] = []


def _script_json(spec: dict) -> str:
    """JSON safe inside <script>: nothing in it can close the element."""
    text = json.dumps(spec, separators=(",", ":"), allow_nan=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _render(spec: dict, **_) -> dict:
    """One chart output: a div and a script that draws it once the embedded bundle has loaded."""
    spec = {k: v for k, v in spec.items() if k != "$schema"}
    div = f"llmsim-chart-{next(_ids)}"
    script = (f"(function(){{var spec={_script_json(spec)},tries=0;function go(){{"
              f"var el=document.getElementById('{div}');"
              f"if(window.vegaEmbed&&el){{vegaEmbed(el,spec,{{actions:false,mode:'vega-lite'}});}}"
              f"else if(tries++<200){{setTimeout(go,50);}}"
              f"else if(el){{el.textContent='chart not drawn: run the cell with plots.enable_offline() first';}}}}"
              f"go();}})();")
    return {"text/html": f'<div id="{div}" style="width:100%"></div><script type="text/javascript">{script}</script>'}


class OfflineBundle:
    """What ``enable_offline()`` returns: shown as a cell output, it embeds Vega, Vega-Lite and vega-embed."""

    def _repr_html_(self) -> str:
        bundle = javascript_bundle().replace("</script", "<\\/script")
        return ('<div style="color:#666;font-size:12px">Vega bundle embedded: charts in this notebook draw '
                "offline.</div>"
                f'<script type="text/javascript">if(!window.vegaEmbed){{(function(){{{bundle}\n}})();}}</script>')

    def __repr__(self) -> str:
        return "OfflineBundle(Vega embedded for offline charts)"


def enable_offline() -> OfflineBundle:
    """Draw Altair charts with the embedded bundle from now on; show the returned object once (last line of
    a cell) so the notebook carries the bundle."""
    if alt.renderers.active != RENDERER:
        _previous.append(alt.renderers.active)
    alt.renderers.register(RENDERER, _render)
    alt.renderers.enable(RENDERER)
    return OfflineBundle()


def disable_offline() -> None:
    """Back to the renderer active before ``enable_offline()``."""
    alt.renderers.enable(_previous.pop() if _previous else "default")
