"""LiteLLM proxy / Router config (as data) -> llmsim providers and a client policy, reporting what does not map.

Reading the YAML file is llmsim.bridges.importers.litellm_file's job (or the scenario loader's).

Each deployment in ``model_list`` becomes a provider (rpm / tpm -> rate limits, model_info costs ->
prices; capacity and latency are not in a LiteLLM config, so they get stated defaults). The Router's
behaviour for one model group (the first, or ``model=``) becomes the client: retry (num_retries,
LiteLLM's backoff and Retry-After handling, retry_after as minimum wait), routing (routing_strategy,
weights), cooldowns (allowed_fails, cooldown_time) and fallbacks to other groups' deployments.
Every key is accounted for in ``notes``: mapped, approximated, ignored (with why) or unknown.

>>> cfg = {"model_list": [
...     {"model_name": "gpt-4o", "litellm_params": {"model": "azure/gpt-4o", "rpm": 600}},
...     {"model_name": "gpt-4o", "litellm_params": {"model": "openai/gpt-4o", "rpm": 300}},
...     {"model_name": "claude", "litellm_params": {"model": "anthropic/claude-sonnet-4"}}],
...  "router_settings": {"num_retries": 3, "fallbacks": [{"gpt-4o": ["claude"]}], "colour": "blue"}}
>>> imp = translate_litellm(cfg)
>>> [p["name"] for p in imp.scenario["providers"]]
['gpt-4o-0', 'gpt-4o-1', 'claude-0']
>>> imp.client["retry"]["max_attempts"], imp.client["route"]["weights"], imp.client["route"]["fallbacks"][0]["to"]
(4, [600.0, 300.0], ['claude-0'])
>>> [n.path for n in imp.unknown()]
['router_settings.colour']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from llmsim.config.client_presets import _SDK_STATUSES, CLIENT_PRESETS, deep_merge
from llmsim.core.errors import InputError

__all__ = ["translate_litellm", "LiteLLMImport", "ImportNote", "STRATEGIES"]

#: LiteLLM routing_strategy -> llmsim route.strategy
STRATEGIES = {
    "simple-shuffle": "weighted",
    "least-busy": "least_busy",
    "usage-based-routing": "usage",
    "usage-based-routing-v2": "usage",
    "latency-based-routing": "lowest_latency",
    "cost-based-routing": "lowest_cost",
}
_RETRY_ON = _SDK_STATUSES
_DEFAULT_SLOTS = 32

# keys LiteLLM knows that have no counterpart in llmsim, with the reason (reported as "ignored")
_TOP_IGNORED = {
    "general_settings": "proxy server settings (auth, database, alerting): not traffic behaviour",
    "environment_variables": "credentials and endpoints: not traffic behaviour",
    "guardrails": "content checks: not simulated", "callback_settings": "logging callbacks: no effect on traffic",
    "credential_list": "credentials: not traffic behaviour", "include": "file includes are not followed",
    "files_settings": "file API settings: not simulated", "mcp_servers": "MCP tools: not simulated",
}
_PARAMS_IGNORED = {
    "api_base", "api_key", "api_version", "organization", "custom_llm_provider", "region_name", "aws_access_key_id",
    "aws_secret_access_key", "aws_region_name", "vertex_project", "vertex_location", "vertex_credentials",
    "azure_ad_token", "base_model", "drop_params", "tags", "mock_response", "use_in_pass_through", "headers",
    "extra_headers", "temperature", "max_tokens", "stream_timeout", "api_type", "litellm_credential_name",
}
_ROUTER_IGNORED = {
    "content_policy_fallbacks": "llmsim does not model content filtering: these fallbacks never trigger",
    "redis_host": "shared state across proxies: one simulated client holds all state",
    "redis_port": "shared state across proxies", "redis_password": "shared state across proxies",
    "redis_url": "shared state across proxies", "cache_responses": "response cache: not simulated",
    "cache_kwargs": "response cache: not simulated",
    "enable_pre_call_checks": "context-window pre-checks: not simulated",
    "optional_pre_call_checks": "pre-call checks: not simulated", "model_group_alias": "aliases: names only",
    "retry_policy": "per-error-type retry counts: llmsim retries every retryable outcome num_retries times",
    "allowed_fails_policy": "per-error-type allowed fails: llmsim uses allowed_fails for every failure",
    "routing_strategy_args": "strategy tuning (ttl, lowest_latency_buffer): llmsim uses its defaults",
    "set_verbose": "logging", "debug_level": "logging", "polling_interval": "internal",
    "provider_budget_config": "spend budgets per provider: not mapped",
    "stream_timeout": "streaming timeout: not mapped",
    "enable_tag_filtering": "tag routing: not simulated", "default_priority": "request priority: not simulated",
    "model_group_retry_policy": "per-group retry policy: not mapped",
    "max_fallbacks": "llmsim follows the whole chain",
}
_SETTINGS_IGNORED = {
    "drop_params", "set_verbose", "success_callback", "failure_callback", "callbacks", "cache", "cache_params",
    "json_logs", "turn_off_message_logging", "telemetry", "service_callback", "modify_params", "default_team_settings",
    "max_budget", "budget_duration", "redact_user_api_key_info", "log_raw_request_response",
}


@dataclass(frozen=True)
class ImportNote:
    """One config key and what became of it: mapped, approximated, ignored or unknown."""

    path: str
    status: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.status:<12} {self.path}" + (f": {self.detail}" if self.detail else "")


@dataclass
class LiteLLMImport:
    """The result: a scenario dict (providers + client + a placeholder workload) and the notes."""

    scenario: dict[str, Any]
    notes: list[ImportNote] = field(default_factory=list)

    @property
    def client(self) -> dict[str, Any]:
        return self.scenario["client"]

    def unknown(self) -> list[ImportNote]:
        return [n for n in self.notes if n.status == "unknown"]

    def report(self) -> str:
        order = {"unknown": 0, "approximated": 1, "ignored": 2, "mapped": 3}
        return "\n".join(str(n) for n in sorted(self.notes, key=lambda n: (order[n.status], n.path)))


def _name(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", s).strip("-") or "group"


def _num(v, path: str) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        raise InputError(path, f"expected a number, got {v!r}") from None


def _fallbacks(value, path: str) -> dict[str, list[str]]:
    """LiteLLM fallbacks: [{"group": ["fb1", "fb2"]}, ...] -> {group: [...]}."""
    if not isinstance(value, list):
        raise InputError(path, "expected a list of {model_group: [fallback groups]}")
    out: dict[str, list[str]] = {}
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise InputError(f"{path}[{i}]", "expected {model_group: [fallback groups]}")
        for k, v in item.items():
            out.setdefault(str(k), []).extend([str(x) for x in (v if isinstance(v, list) else [v])])
    return out


def translate_litellm(config: dict, model: str | None = None, slots: int = _DEFAULT_SLOTS) -> LiteLLMImport:
    """Map a LiteLLM config (the parsed YAML) for model group ``model`` (default: the first)."""
    return _import(config, model, slots)


def _import(cfg: dict, model: str | None, slots: int) -> LiteLLMImport:
    notes: list[ImportNote] = []

    def note(path, status, detail=""):
        notes.append(ImportNote(path, status, detail))

    for key in cfg:
        if key in ("model_list", "router_settings", "litellm_settings"):
            continue
        if key in _TOP_IGNORED:
            note(key, "ignored", _TOP_IGNORED[key])
        else:
            note(key, "unknown", "not a LiteLLM config section llmsim knows")
    deployments = cfg.get("model_list")
    if not isinstance(deployments, list) or not deployments:
        raise InputError("model_list", "expected a non-empty list of deployments")
    router = cfg.get("router_settings") or {}
    settings = cfg.get("litellm_settings") or {}
    if not isinstance(router, dict) or not isinstance(settings, dict):
        raise InputError("router_settings", "expected a mapping")

    # -- deployments -> providers ---------------------------------------------------------------
    groups: dict[str, list[str]] = {}
    providers, weights, usage_limits, timeouts, sdk_retries = [], {}, {}, {}, {}
    for i, dep in enumerate(deployments):
        p = f"model_list[{i}]"
        if not isinstance(dep, dict) or "model_name" not in dep:
            raise InputError(f"{p}.model_name", "every deployment needs a model_name")
        params = dep.get("litellm_params") or {}
        if not isinstance(params, dict) or "model" not in params:
            raise InputError(f"{p}.litellm_params.model", "every deployment needs litellm_params.model")
        for k in dep:
            if k not in ("model_name", "litellm_params", "model_info"):
                note(f"{p}.{k}", "unknown", "not a deployment field")
        group = str(dep["model_name"])
        name = f"{_name(group)}-{len(groups.get(group, []))}"
        groups.setdefault(group, []).append(name)
        prov: dict[str, Any] = {"name": name, "model": str(params["model"]), "capacity": {"slots": slots}}
        limits = {}
        for k, v in params.items():
            kp = f"{p}.litellm_params.{k}"
            if k == "model":
                continue
            if k in ("rpm", "tpm"):
                limits[k] = _num(v, kp)
                note(kp, "mapped", f"providers.{name}.rate_limits.{k}")
            elif k == "weight":
                weights[name] = _num(v, kp)
                note(kp, "mapped", "client.route.weights")
            elif k == "timeout":
                timeouts[name] = _num(v, kp)
                note(kp, "approximated", "per-attempt timeout (one value for the client: the largest)")
            elif k == "max_retries":
                sdk_retries[name] = int(_num(v, kp))
                note(kp, "mapped", "an inner retry layer (SDK retries multiply the Router's)")
            elif k in ("input_cost_per_token", "output_cost_per_token"):
                prov.setdefault("pricing", {})[k.split("_")[0] + "_per_mtok"] = _num(v, kp) * 1e6
                note(kp, "mapped", f"providers.{name}.pricing")
            elif k in ("max_parallel_requests",):
                note(kp, "ignored", "client-side concurrency per deployment: not mapped")
            elif k == "order":
                note(kp, "approximated", "deployments are tried in list order")
            elif k in _PARAMS_IGNORED:
                note(kp, "ignored", "connection / request detail: no effect on simulated traffic")
            else:
                note(kp, "ignored", "passed through to the provider API: no effect in llmsim")
        info = dep.get("model_info") or {}
        for k, v in (info.items() if isinstance(info, dict) else []):
            kp = f"{p}.model_info.{k}"
            if k in ("input_cost_per_token", "output_cost_per_token"):
                prov.setdefault("pricing", {})[k.split("_")[0] + "_per_mtok"] = _num(v, kp) * 1e6
                note(kp, "mapped", f"providers.{name}.pricing")
            elif k == "cache_read_input_token_cost":
                prov.setdefault("pricing", {})["cached_input_per_mtok"] = _num(v, kp) * 1e6
                note(kp, "mapped", f"providers.{name}.pricing.cached_input_per_mtok")
            elif k == "max_input_tokens":
                prov["context_window"] = int(_num(v, kp))
                note(kp, "mapped", f"providers.{name}.context_window (input + max_tokens above it -> 400)")
            else:
                note(kp, "ignored", "model metadata: no effect on simulated traffic")
        if limits:
            prov["rate_limits"] = limits
            usage_limits[name] = dict(limits)
        if "pricing" not in prov:
            note(f"{p}", "approximated", f"no prices given: providers.{name}.pricing is 0 (set it for costs)")
        providers.append(prov)
    note("model_list", "approximated", f"capacity ({slots} slots) and latency are not in a LiteLLM config: "
                                       "llmsim defaults, set providers.*.capacity / latency")

    primary = model if model is not None else str(deployments[0]["model_name"])
    if primary not in groups:
        raise InputError("--model", f"no model group '{primary}' (groups: {', '.join(groups)})")

    # -- router settings -> client --------------------------------------------------------------
    def setting(key, default=None):
        if key in router:
            return router[key], f"router_settings.{key}"
        if key in settings:
            return settings[key], f"litellm_settings.{key}"
        return default, None

    num_retries, where = setting("num_retries", 2)
    if where:
        note(where, "mapped", "client.retry.max_attempts = num_retries + 1")
    min_wait, where = setting("retry_after", 0)
    if where:
        note(where, "mapped", "client.retry.backoff.min (LiteLLM's minimum wait before a retry)")
    timeout, where = setting("timeout", None)
    if timeout is None:
        timeout, where = setting("request_timeout", None)
    if where:
        note(where, "mapped", "client.timeout (per attempt)")
    allowed_fails, w1 = setting("allowed_fails", 3)
    cooldown, w2 = setting("cooldown_time", 5)
    disable, w3 = setting("disable_cooldowns", False)
    for w in (w1, w2):
        if w:
            note(w, "mapped", "client.route.ejection (LiteLLM cooldowns)")
    if w3:
        note(w3, "mapped", "no ejection" if disable else "cooldowns on")
    strategy, where = setting("routing_strategy", "simple-shuffle")
    if strategy not in STRATEGIES:
        raise InputError(where or "router_settings.routing_strategy",
                            f"unknown routing_strategy '{strategy}' (known: {', '.join(STRATEGIES)})")
    if where:
        note(where, "mapped", f"client.route.strategy = {STRATEGIES[strategy]}")
    fb, where = setting("fallbacks", [])
    fallbacks = _fallbacks(fb, where) if where else {}
    if where:
        note(where, "mapped", "client.route.fallbacks (deployments of the fallback groups, in order)")
    cwf, cw_where = setting("context_window_fallbacks", [])
    cw_fallbacks = _fallbacks(cwf, cw_where) if cw_where else {}
    if cw_where:
        note(cw_where, "mapped", "client.route.fallbacks on context_window (needs model_info.max_input_tokens "
                                 "on the deployments to trigger)")
    dfb, where = setting("default_fallbacks", None)
    if where:
        note(where, "mapped", "client.route.fallbacks when the group has no specific fallbacks")
        if primary not in fallbacks:
            fallbacks[primary] = [str(x) for x in dfb]

    known_router = {"num_retries", "retry_after", "timeout", "request_timeout", "allowed_fails", "cooldown_time",
                    "disable_cooldowns", "routing_strategy", "fallbacks", "default_fallbacks",
                    "context_window_fallbacks"}
    for k in router:
        if k in known_router:
            continue
        note(f"router_settings.{k}", "ignored" if k in _ROUTER_IGNORED else "unknown",
             _ROUTER_IGNORED.get(k, "not a Router setting llmsim knows"))
    for k in settings:
        if k in known_router:
            continue
        note(f"litellm_settings.{k}", "ignored" if k in _SETTINGS_IGNORED else "unknown",
             "logging / caching / budgets: no effect on simulated traffic" if k in _SETTINGS_IGNORED
             else "not a litellm_settings key llmsim knows")

    order = list(groups[primary])
    chain, seen = [], {primary}
    for g in fallbacks.get(primary, []):
        if g not in groups:
            note(f"fallbacks.{primary}", "unknown", f"fallback group '{g}' has no deployment in model_list")
            continue
        if g not in seen:
            seen.add(g)
            chain += groups[g]
    for g in groups:
        if g not in seen and g not in [x for v in fallbacks.values() for x in v]:
            note(f"model_list ({g})", "approximated", f"group '{g}' is not reachable from '{primary}': its "
                                                      "deployments are providers the client never calls")

    route: dict[str, Any] = {"strategy": STRATEGIES[strategy], "order": order, "failover_on": list(_RETRY_ON)}
    if STRATEGIES[strategy] == "weighted":
        if weights:
            route["weights"] = [weights.get(n, 1.0) for n in order]
        elif any(n in usage_limits for n in order):  # LiteLLM shuffles by rpm, else tpm
            key = "rpm" if any("rpm" in usage_limits.get(n, {}) for n in order) else "tpm"
            route["weights"] = [usage_limits.get(n, {}).get(key, 1.0) for n in order]
    if STRATEGIES[strategy] == "usage":
        route["usage_limits"] = {n: usage_limits[n] for n in order if n in usage_limits}
    if not disable:
        route["ejection"] = {"kind": "litellm", "cooldown_time": _num(cooldown, "cooldown_time"),
                             "allowed_fails": int(_num(allowed_fails, "allowed_fails"))}
    cw_chain = [d for g in cw_fallbacks.get(primary, []) if g in groups for d in groups[g]]
    if cw_chain:
        route["fallbacks"] = [{"on": ["context_window"], "to": cw_chain}]
    if chain:
        route.setdefault("fallbacks", []).append({"on": list(_RETRY_ON), "to": chain})
    # the litellm-router preset's router retry, with this config's num_retries and retry_after
    retry = deep_merge(CLIENT_PRESETS["litellm-router"][1]["layers"][0]["retry"],
                       {"max_attempts": int(_num(num_retries, "num_retries")) + 1,
                        "backoff": {"min": _num(min_wait, "retry_after")}})
    note("(router)", "approximated", "Retry-After: honoured in (0, 60] s, else the backoff; LiteLLM takes "
                                     "max(hint, backoff) above 60 s")
    client: dict[str, Any] = {}
    if timeout is not None:
        client["timeout"] = _num(timeout, "timeout")
    elif timeouts:
        client["timeout"] = max(timeouts[n] for n in order if n in timeouts) if any(n in timeouts for n in order) \
            else max(timeouts.values())
    inner = max((sdk_retries.get(n, 0) for n in order), default=0)
    if inner > 0:
        # the SDK inside each deployment: the openai-sdk preset's retry with this config's max_retries
        sdk = deep_merge(CLIENT_PRESETS["openai-sdk"][1]["retry"], {"max_attempts": inner + 1})
        if "timeout" in client:
            sdk["timeout"] = client.pop("timeout")
        client["layers"] = [{"retry": retry}, {"route": route}, {"retry": sdk}]
    else:
        client.update(retry=retry, route=route)
    scenario = {
        "name": f"litellm-{_name(primary)}",
        "description": f"Imported from a LiteLLM config: model group '{primary}' with its Router settings.",
        "horizon": "1h",
        "workload": {"arrivals": {"rate": "2/s"}},
        "providers": providers,
        "client": client,
    }
    note("(workload)", "approximated", "a LiteLLM config has no traffic: workload.arrivals is a placeholder")
    return LiteLLMImport(scenario, notes)
