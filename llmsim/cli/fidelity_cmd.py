"""``llmsim fidelity``: does a client preset behave like the real library? Run both and compare."""

from __future__ import annotations

import json
import math
import sys
from typing import Any, Optional

import typer
from rich.table import Table

from llmsim.cli.app import app, err, fail, out
from llmsim.core.errors import InputError


@app.command(context_settings={"allow_extra_args": False})
def fidelity(
    command: Optional[list[str]] = typer.Argument(None, help="Program to run against the server (after --); it "
                                                             "gets OPENAI_BASE_URL, ANTHROPIC_BASE_URL, LLMSIM_URL."),
    preset: Optional[str] = typer.Option(None, "--preset", help="Client policy to simulate: a preset name, a "
                                                              "reference client (openai-python, anthropic-python) "
                                                              "or a client YAML file (default: the --workload's "
                                                              "reference client; needed with a command)."),
    workload: Optional[str] = typer.Option(None, "--workload", help="Built-in real client instead of a command: "
                                                                  "openai, anthropic, tenacity or litellm "
                                                                  "(litellm.Router over deployments gpt-0, gpt-1). "
                                                                  "Default: none, run the command after --."),
    scenario: Optional[str] = typer.Option(None, "--scenario", help="Provider scenario served: always-fail "
                                                                   "(default), flaky, rate-limited, "
                                                                   "rate-limited-pair (default for --workload "
                                                                   "litellm), a packaged name or a YAML file."),
    provider: Optional[str] = typer.Option(None, "--provider", help="Provider answering the calls (default: "
                                                                   "the scenario's first)."),
    requests: int = typer.Option(100, "--requests", min=1, help="Logical requests of a built-in workload."),
    replications: int = typer.Option(20, "--replications", min=1, help="Simulated runs pooled."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the server and the simulations."),
    as_json: bool = typer.Option(False, "--json", help="Print the table as JSON."),
    check: bool = typer.Option(False, "--check", help="Exit 1 if a mean differs by > 5 % (and > 3 "
                                                    "standard errors) or a KS statistic is > 0.2."),
) -> None:
    """Run a real client against `llmsim serve`, simulate the same requests with a client policy, compare."""
    from llmsim.bridges.fidelity import run_fidelity  # deferred: CLI start-up

    work, preset = _workload(command, workload, preset, requests)
    if scenario is None:
        scenario = "rate-limited-pair" if workload == "litellm" else "always-fail"
    try:
        with err.status("running the real client, then simulating...", spinner="dots"):
            rep = run_fidelity(scenario, preset, workload=work, command=command or None, provider=provider,
                               replications=replications, seed=seed, label=preset)
    except InputError as exc:
        fail(str(exc))
    if as_json:
        _print_json(rep, preset)
    else:
        _print_table(rep, preset, replications)
    if check and rep.failures():
        for f in rep.failures():
            err.print(f"mismatch: {f}", highlight=False)
        raise typer.Exit(1)


def _workload(command: Optional[list[str]], workload: Optional[str], preset: Optional[str],
              requests: int) -> tuple[Any, str]:
    """(the built-in workload or None, the client policy): a built-in workload names its reference client."""
    from llmsim.bridges.fidelity.workloads import WORKLOADS  # deferred: CLI start-up

    if bool(command) == (workload is not None):
        fail("give either --workload NAME or a command after --, not both or neither")
    work = None
    if workload is not None:
        if workload not in WORKLOADS:
            fail(f"--workload: unknown workload '{workload}' (known: {', '.join(WORKLOADS)})")
        factory, reference = WORKLOADS[workload]
        work = factory(requests=requests)
        preset = reference if preset is None else preset
    if preset is None:
        fail("--preset: name the client policy to compare with (e.g. openai-python)")
    return work, preset


def _print_json(rep, preset: str) -> None:
    table = rep.table.reset_index().to_dict(orient="records")
    clean = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in table]
    sys.stdout.write(json.dumps({"preset": preset, "rows": clean, "notes": rep.notes,
                                 "failures": rep.failures()}, indent=2) + "\n")


def _print_table(rep, preset: str, replications: int) -> None:
    t = Table(title=f"fidelity: real client vs {preset} (simulated x{replications})")
    for c in ("metric", "n real", "n sim", "real", "sim", "diff", "KS", "KS p", "KS±tol", "TOST p", "equiv."):
        t.add_column(c, justify="left" if c == "metric" else "right", no_wrap=c == "metric")
    for name, r in rep.table.iterrows():
        eq = "" if r.equivalent is None or r.equivalent != r.equivalent else ("yes" if r.equivalent else "no")
        t.add_row(name, str(int(r.real_n)), str(int(r.sim_n)), _fmt(r.real_mean), _fmt(r.sim_mean),
                  _fmt(100 * r.rel_diff, "{:+.1f}%"), _fmt(r.ks, "{:.3f}"), _fmt(r.ks_p, "{:.3f}"),
                  _fmt(r.ks_tol, "{:.3f}"), _fmt(r.tost_p, "{:.3f}"), eq)
    out.print(t)
    err.print("KS p: two-sample Kolmogorov-Smirnov test (small: the distributions differ); TOST p: equivalence "
              "of the means within +-10 % of the real mean (times: at least 20 ms; shares: +-0.10), equivalent "
              "when below 0.05", highlight=False)
    for n in rep.notes:
        err.print(f"note: {n}", highlight=False)


def _fmt(v: float, fmt: str = "{:.4g}") -> str:
    """A number, or nothing for NaN."""
    return "" if v != v else fmt.format(v)
