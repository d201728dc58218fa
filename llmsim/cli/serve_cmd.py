"""``llmsim serve``: answer real OpenAI / Anthropic clients from a scenario's provider model."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from llmsim.cli.app import app, err, fail, parse_sets
from llmsim.cli.clock_option import clock_offset, clock_text
from llmsim.config.loading import DEFAULT_SCENARIO, load_scenario
from llmsim.core.atomic import check_writable
from llmsim.core.errors import InputError

_RECORD_SUFFIXES = (".parquet", ".csv", ".jsonl")


@app.command()
def serve(
    scenario: Optional[str] = typer.Argument(None, help="Scenario YAML file or packaged scenario name "
                                                        f"(default: {DEFAULT_SCENARIO})."),
    provider: Optional[str] = typer.Option(None, "--provider", help="Provider answering requests whose model "
                                                                   "matches no provider (default: the first)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback unless you say otherwise)."),
    port: int = typer.Option(8000, "--port", help="TCP port (0 = any free port)."),
    record: Optional[Path] = typer.Option(None, "--record", help="Write every attempt to this canonical trace file "
                                                                 "(.parquet, .csv or .jsonl), every 5 s and on exit."),
    seed: Optional[int] = typer.Option(None, "--seed", min=0, help="Random seed (default: the scenario's)."),
    set_: list[str] = typer.Option([], "--set", help="Override a scenario value: PATH=VALUE."),
    max_connections: int = typer.Option(1024, "--max-connections", min=1, help="Open connections at most; past "
                                        "it idle ones are closed, else new ones get a 503."),
    at: Optional[str] = typer.Option(None, "--at", help="Start the provider's clock at this time of the scenario's "
                                     "day: 08:30, 1d 09:00 (the second day) or a duration (default: 00:00)."),
    speed: float = typer.Option(1.0, "--speed", help="Run the provider's clock this many times faster than wall "
                                "time (latencies, queue timeouts, rate-limit refills; Retry-After in wall time)."),
) -> None:
    """Serve POST /v1/chat/completions and /v1/messages from the provider model (Ctrl-C stops).

    The provider's clock starts at --at (the scenario's time 0 by default) and runs --speed times faster than wall time.
    """
    from llmsim.bridges.serve import LiveServer, run_forever  # deferred: CLI start-up (aiohttp)

    if not 0 <= port <= 65535:
        fail(f"--port: {port} is not a TCP port (0-65535)")
    if record is not None and record.suffix.lower() not in _RECORD_SUFFIXES:
        fail(f"--record: {record} must end in {', '.join(_RECORD_SUFFIXES)}")
    try:
        if record is not None:
            check_writable(record, "--record")
        sc = load_scenario(scenario or DEFAULT_SCENARIO, parse_sets(set_))
        start = clock_offset(at)
        server = LiveServer(sc, provider, seed, max_connections, at=start, speed=speed)
    except InputError as exc:
        fail(str(exc))

    def ready(h, p):
        err.print(f"llmsim serve: {sc.name} on http://{h}:{p} (OpenAI: /v1/chat/completions, Anthropic: "
                  f"/v1/messages, status: /llmsim/status); default provider {server.default}; "
                  f"{clock_text(sc, start, speed)}; Ctrl-C stops",
                  highlight=False, soft_wrap=True)

    try:
        run_forever(server, host, port, record, on_ready=ready)
    except InputError as exc:
        fail(str(exc))
    if record is not None:
        err.print(f"recorded {len(server.log)} attempts to {record}", highlight=False)
    raise typer.Exit(0)
