"""Altair charts of llmsim results. Every function returns a chart you can restyle
(``.properties(width=...)``, ``.configure_axis(...)``) and export with ``save_chart``.

One run: ``over_time`` (latency and outcomes, capacity and incidents shaded), ``amplification``,
``breaker_timeline``, ``spend``. Several runs: ``latency_cdf``. Experiments (plain DataFrames, or the
objects of ``llmsim.sweep`` / ``llmsim.compare`` when they exist): ``sweep_heatmap``, ``pareto_frontier``,
``forest_plot``; candidates over time on shared axes: ``compare_over_time`` (a comparison) and
``runs_over_time`` (runs you hold, name -> Result). The README picture: ``python -m llmsim.viz.plots docs/tuesday.png``.

>>> import llmsim
>>> from llmsim.viz import plots
>>> res = llmsim.simulate(llmsim.load_scenario("tuesday").with_overrides({"horizon": "6m", "warmup": "1m"}), seed=1)
>>> "vconcat" in plots.over_time(res).to_dict()
True
"""

from llmsim.viz.plots.compare_charts import compare_over_time, runs_over_time
from llmsim.viz.plots.experiment_charts import forest_plot, pareto_frontier, sweep_heatmap
from llmsim.viz.plots.export import chart_spec
from llmsim.viz.plots.page import save_chart
from llmsim.viz.plots.run_charts import amplification, breaker_timeline, latency_cdf, over_time, spend

__all__ = ["over_time", "amplification", "breaker_timeline", "spend", "latency_cdf", "sweep_heatmap",
           "pareto_frontier", "forest_plot", "save_chart", "chart_spec", "runs_over_time", "compare_over_time"]
