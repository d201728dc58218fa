"""``llmsim providers [SEARCH]``: the provider catalogue, with the source and date of every figure."""

from __future__ import annotations

from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from llmsim.cli.app import app, fail
from llmsim.cli.fitted_console import FittingConsole
from llmsim.config.provider_catalogue import catalogue, preset_figures, preset_names


def _matching(search: Optional[str]) -> list[str]:
    """Presets whose name, provider, model or description contains ``search`` (case-insensitive)."""
    if not search:
        return preset_names()
    needle = search.lower()
    presets = catalogue()["presets"]
    return [n for n in preset_names()
            if any(needle in str(x).lower() for x in (n, presets[n]["provider"], presets[n]["model"],
                                                       presets[n].get("about", "")))]


def _tier_span(tiers) -> str:
    """Usage tiers shortly: ``1-4`` for a run of whole numbers, else the list.

    >>> _tier_span({"1": {}, "2": {}, "3": {}}), _tier_span({}), _tier_span(["a", "b"])
    ('1-3', '-', 'a, b')
    """
    names = [str(t) for t in tiers or ()]
    if not names:
        return "-"
    if all(n.isdigit() for n in names) and len(names) > 2:
        nums = sorted(map(int, names))
        if nums == list(range(nums[0], nums[-1] + 1)):
            return f"{nums[0]}-{nums[-1]}"
    return ", ".join(names)


def _summary(names: list[str]) -> Table:
    """One row per preset: its name with what it is below it, usage tiers, prices; fits 80 columns (the
    description folds, the name and prices never do)."""
    table = Table(title="Provider presets (providers: [{preset: NAME, tier: T, name: ...}])", title_justify="left")
    table.add_column("preset (what it is)", min_width=max(map(len, names)), overflow="fold")
    table.add_column("tiers", no_wrap=True)
    table.add_column("$/Mtok in/cached/out", no_wrap=True)
    presets = catalogue()["presets"]
    for n in names:
        figures = dict(preset_figures(n))
        prices = "/".join(f"{figures[k]['value']:g}" if k in figures else "-"
                          for k in ("pricing.input_per_mtok", "pricing.cached_input_per_mtok",
                                    "pricing.output_per_mtok"))
        about = escape(presets[n].get("about", ""))
        table.add_row(f"[bold]{escape(n)}[/bold]\n[dim]{about}[/dim]" if about else escape(n),
                      _tier_span(presets[n].get("tiers")), prices)
    return table


def _figures(name: str) -> Table:
    sources = catalogue()["sources"]
    table = Table(title=name, title_justify="left")
    table.add_column("figure", min_width=max(len(path) for path, _ in preset_figures(name)))
    for col in ("value", "source", "read", "note"):
        table.add_column(col, overflow="fold", no_wrap=col == "read")
    for path, fig in preset_figures(name):
        src = sources[fig["source"]]
        table.add_row(path, escape(str(fig["value"])), escape(src["where"]), str(src["read"]),
                      escape(fig.get("note", "")))
    return table


@app.command()
def providers(search: Optional[str] = typer.Argument(None, help="Show only presets whose name, provider or "
                                                                "model contains this text, figure by figure."),
              ) -> None:
    """List the provider presets (`providers: [{preset: NAME, tier: T}]`) with each figure's source and date."""
    out = FittingConsole()  # built per call, so its width follows COLUMNS now; plain when piped
    names = _matching(search)
    if not names:
        fail(f"no provider preset matches {search!r} (presets: {', '.join(preset_names())})")
    out.print(_summary(names))
    if search:
        for n in names:
            out.print(_figures(n))
    else:
        out.print("Give a SEARCH (e.g. `llmsim providers sonnet`) for every figure with its source and date.")
