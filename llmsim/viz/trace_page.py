"""HTML variant of ``llmsim trace inspect``: the statistics plus an inline SVG rate chart (no network).

>>> html = render_html({"rows": 2, "span_s": 60.0, "bin_s": 60.0, "rate_per_bin": [1, 1]}, "t.csv")
>>> "<svg" in html and "t.csv" in html
True
"""

from __future__ import annotations

import html
import json

__all__ = ["render_html", "svg_line"]


def svg_line(values: list[float], width: int = 720, height: int = 220, label: str = "") -> str:
    """A minimal line chart as SVG."""
    n = len(values)
    top = max(values) if values and max(values) > 0 else 1.0
    pts = " ".join(f"{40 + (width - 50) * i / max(n - 1, 1):.1f},{height - 25 - (height - 40) * v / top:.1f}"
                   for i, v in enumerate(values))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
            f'aria-label="{html.escape(label)}"><rect width="100%" height="100%" fill="white"/>'
            f'<line x1="40" y1="{height - 25}" x2="{width - 10}" y2="{height - 25}" stroke="#888"/>'
            f'<line x1="40" y1="15" x2="40" y2="{height - 25}" stroke="#888"/>'
            f'<text x="4" y="20" font-size="11">{top:g}</text><text x="4" y="{height - 25}" font-size="11">0</text>'
            f'<text x="{width / 2:.0f}" y="{height - 6}" font-size="11" text-anchor="middle">'
            f'{html.escape(label)}</text><polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="{pts}"/>'
            f"</svg>")


def render_html(stats: dict, source: str) -> str:
    chart = svg_line([float(v) for v in stats.get("rate_per_bin", [])],
                     label=f"requests per {stats.get('bin_s', 0):g} s bin (time from the first arrival)")
    body = {k: v for k, v in stats.items() if k != "rate_per_bin"}
    return ("<!doctype html><html><head><meta charset='utf-8'><title>trace "
            f"{html.escape(source)}</title></head><body style='font-family:sans-serif'>"
            f"<h1>Trace {html.escape(source)}</h1>{chart}<pre>{html.escape(json.dumps(body, indent=2))}</pre>"
            "</body></html>")
