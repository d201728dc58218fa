"""Recorded vs simulated arrival rate from a calibration report (``llmsim.traces.calibrate.calibration_report``).

>>> report = {"rate": {"bin_s": 60.0, "recorded": [10, 12, 9], "simulated": [11, 12, 8], "rel_l1": 0.08}}
>>> spec = rate_calibration(report).to_dict()
>>> sorted({row["series"] for rows in spec["datasets"].values() for row in rows})
['recorded', 'simulated']
"""

from __future__ import annotations

import altair as alt
import pandas as pd

__all__ = ["rate_calibration"]


def rate_calibration(report: dict, *, width: int = 680) -> alt.Chart:
    """Requests per second in each bin, recorded (the trace) and simulated (the fitted scenario), as two
    step lines; the title carries the relative L1 error of the report."""
    rate = report["rate"]
    bin_s = float(rate["bin_s"])
    rows = [{"minute": i * bin_s / 60, "series": series, "per_s": count / bin_s}
            for series in ("recorded", "simulated") for i, count in enumerate(rate[series])]
    title = "Arrival rate per bin: recorded vs simulated"
    if rate.get("rel_l1") is not None:
        title += f" (relative L1 error {rate['rel_l1']:.1%})"
    return alt.Chart(pd.DataFrame(rows)).mark_line(interpolate="step-after").encode(
        x=alt.X("minute:Q", title="minutes from the start of the trace"),
        y=alt.Y("per_s:Q", title="requests per second"),
        color=alt.Color("series:N", title=None),
        tooltip=[alt.Tooltip("series:N"), alt.Tooltip("minute:Q", format=".1f"), alt.Tooltip("per_s:Q", format=".2f")],
    ).properties(width=width, height=220, title=title)
