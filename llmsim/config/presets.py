"""Client policy presets by name, and ``resolve_client`` for anything that names a client policy.

Presets mirror real libraries (see ../shared/reference/client-policies.md); the policy-library work
adds the ones that need policies beyond the core (multiplicative jitter, retry budgets, ...).

>>> resolve_client({"timeout": "30s"}).timeout
30.0
>>> resolve_client("no-retries").retry is None
True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import ScenarioError
from .client import Client

__all__ = ["CLIENT_PRESETS", "resolve_client", "client_presets"]

#: name -> (one-line description, client config as plain data)
CLIENT_PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "no-retries": ("one attempt, no timeout, no breaker: the baseline", {}),
    "naive-retry": (
        "retry everything 5 times at once, no backoff, no jitter, ignore Retry-After: the retry storm",
        {"timeout": "30s", "retry": {"max_attempts": 5, "on": ["rate_limited", "overloaded", "server_error", "timeout"],
                                     "backoff": {"kind": "constant", "base": 0, "jitter": "none"},
                                     "retry_after": "ignore"}},
    ),
}


def client_presets() -> dict[str, str]:
    """Preset name -> description."""
    return {name: about for name, (about, _) in CLIENT_PRESETS.items()}


def resolve_client(spec: Any, source: str | None = None) -> Client:
    """A Client from a Client, a dict, a preset name, or a YAML file (a client block, or a scenario whose
    ``client`` block is used). Bad input raises ScenarioError naming the field."""
    from .loading import format_validation_error, read_yaml

    if isinstance(spec, Client):
        return spec
    if isinstance(spec, str) and spec in CLIENT_PRESETS:
        data = CLIENT_PRESETS[spec][1]
        source = source or f"preset {spec}"
    elif isinstance(spec, (str, Path)):
        path = Path(spec)
        if not path.is_file():
            known = ", ".join(CLIENT_PRESETS)
            raise ScenarioError("", f"no such file, and no client preset of that name (presets: {known})",
                                source=str(spec))
        data = read_yaml(path.read_text(encoding="utf-8"), str(spec))
        source = source or str(spec)
        if isinstance(data, dict) and "client" in data and "providers" in data:
            data = data["client"]
    else:
        data = spec
    if not isinstance(data, dict):
        raise ScenarioError("client", "expected a mapping of client settings", source=source)
    try:
        return Client.model_validate(data)
    except ValidationError as exc:
        e = format_validation_error(exc, source)
        raise ScenarioError(".".join(p for p in ("client", e.path) if p), e.reason, source, e.more) from None
