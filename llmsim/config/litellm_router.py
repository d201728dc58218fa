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

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from llmsim.config.client_presets import CLIENT_PRESETS, LITELLM_OVERHEAD, SDK_STATUSES, deep_merge
from llmsim.core.errors import InputError

__all__ = ["translate_litellm", "LiteLLMImport", "ImportNote", "STRATEGIES", "DEFAULT_SLOTS"]

#: LiteLLM routing_strategy -> llmsim route.strategy
STRATEGIES = {
    "simple-shuffle": "weighted",
    "least-busy": "least_busy",
    "usage-based-routing": "usage",
    "usage-based-routing-v2": "usage",
    "latency-based-routing": "lowest_latency",
    "cost-based-routing": "lowest_cost",
}
_RETRY_ON = SDK_STATUSES
DEFAULT_SLOTS = 32  # capacity of every deployment: a LiteLLM config does not say

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


class _Notes(list):
    """The ImportNotes, in the order the config is read."""

    def add(self, path: str, status: str, detail: str = "") -> None:
        self.append(ImportNote(path, status, detail))


def _name(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", s).strip("-") or "group"


def _num(v, path: str) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise InputError(path, f"expected a number, got {v!r}") from None
    if not math.isfinite(x):
        raise InputError(path, f"expected a finite number, got {v!r}")
    return x


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


def translate_litellm(config: dict, model: str | None = None, slots: int = DEFAULT_SLOTS) -> LiteLLMImport:
    """Map a LiteLLM config (the parsed YAML) for model group ``model`` (default: the first)."""
    notes = _Notes(_top_level_notes(config))
    deployments, router, settings = _sections(config)
    models = _read_model_list(deployments, slots, notes)
    primary = model if model is not None else str(deployments[0]["model_name"])
    if primary not in models.groups:
        raise InputError("--model", f"no model group '{primary}' (groups: {', '.join(models.groups)})")
    policy = _RouterSettings(router, settings, notes).policy(primary)
    notes.extend(_unmapped_settings(router, settings))
    chain = _fallback_chain(models.groups, policy.fallbacks, primary, notes)
    notes.extend(_unreachable_groups(models.groups, policy.fallbacks, primary))
    route = _route(policy, models, primary, chain)
    client = _client(policy, models, route)
    notes.add("(router)", "approximated", "Retry-After (whole-second retry-after header): honoured in (0, 60] s, "
                                          "else the backoff; LiteLLM adds its U(0, 0.75) s jitter to the hint too")
    notes.add("(router)", "approximated", "the Router's own time before each attempt leaves: client.overhead "
                                          "lognormal, median 27 ms, p95 70 ms (measured against llmsim serve)")
    scenario = {
        "name": f"litellm-{_name(primary)}",
        "description": f"Imported from a LiteLLM config: model group '{primary}' with its Router settings.",
        "horizon": "1h",
        "workload": {"arrivals": {"rate": "2/s"}},
        "providers": [d.provider for d in models.deployments],
        "client": client,
    }
    notes.add("(workload)", "approximated", "a LiteLLM config has no traffic: workload.arrivals is a placeholder")
    return LiteLLMImport(scenario, list(notes))


# -- the sections of the file ---------------------------------------------------------------------
_SECTIONS = ("model_list", "router_settings", "litellm_settings")


def _top_level_notes(cfg: dict) -> list[ImportNote]:
    """Notes on the top-level keys that are not the three sections llmsim reads."""
    return [ImportNote(key, "ignored", _TOP_IGNORED[key]) if key in _TOP_IGNORED
            else ImportNote(key, "unknown", "not a LiteLLM config section llmsim knows")
            for key in cfg if key not in _SECTIONS]


def _sections(cfg: dict) -> tuple[list, dict, dict]:
    """(model_list, router_settings, litellm_settings), checked."""
    deployments = cfg.get("model_list")
    if not isinstance(deployments, list) or not deployments:
        raise InputError("model_list", "expected a non-empty list of deployments")
    router = cfg.get("router_settings") or {}
    settings = cfg.get("litellm_settings") or {}
    if not isinstance(router, dict) or not isinstance(settings, dict):
        raise InputError("router_settings", "expected a mapping")
    return deployments, router, settings


# -- model_list: deployments -> providers ---------------------------------------------------------
_DEPLOYMENT_FIELDS = ("model_name", "litellm_params", "model_info")


@dataclass
class _Deployment:
    """One entry of model_list: the provider it becomes and what the Router needs to know of it."""

    provider: dict[str, Any]
    limits: dict[str, float] = field(default_factory=dict)  # rpm / tpm
    weight: float | None = None
    timeout: float | None = None
    sdk_retries: int | None = None  # the SDK's max_retries inside this deployment

    @property
    def name(self) -> str:
        return self.provider["name"]


@dataclass
class _ModelList:
    """The deployments in list order and the model groups they form (group -> provider names)."""

    deployments: list[_Deployment] = field(default_factory=list)
    groups: dict[str, list[str]] = field(default_factory=dict)

    def add(self, group: str, deployment: _Deployment) -> None:
        self.deployments.append(deployment)
        self.groups.setdefault(group, []).append(deployment.name)

    def next_name(self, group: str) -> str:
        return f"{_name(group)}-{len(self.groups.get(group, []))}"

    @property
    def weights(self) -> dict[str, float]:
        return {d.name: d.weight for d in self.deployments if d.weight is not None}

    @property
    def usage_limits(self) -> dict[str, dict[str, float]]:
        return {d.name: dict(d.limits) for d in self.deployments if d.limits}

    @property
    def timeouts(self) -> dict[str, float]:
        return {d.name: d.timeout for d in self.deployments if d.timeout is not None}

    @property
    def sdk_retries(self) -> dict[str, int]:
        return {d.name: d.sdk_retries for d in self.deployments if d.sdk_retries is not None}


def _read_model_list(deployments: list, slots: int, notes: _Notes) -> _ModelList:
    models = _ModelList()
    for i, dep in enumerate(deployments):
        params = _check_deployment(f"model_list[{i}]", dep)
        group = str(dep["model_name"])
        provider = {"name": models.next_name(group), "model": str(params["model"]), "capacity": {"slots": slots}}
        models.add(group, _read_deployment(f"model_list[{i}]", dep, params, _Deployment(provider), notes))
    notes.add("model_list", "approximated", f"capacity ({slots} slots) and latency are not in a LiteLLM config: "
                                            "llmsim defaults, set providers.*.capacity / latency")
    return models


def _check_deployment(p: str, dep: Any) -> dict:
    """The deployment's litellm_params, once it has the two fields every deployment needs."""
    if not isinstance(dep, dict) or "model_name" not in dep:
        raise InputError(f"{p}.model_name", "every deployment needs a model_name")
    params = dep.get("litellm_params") or {}
    if not isinstance(params, dict) or "model" not in params:
        raise InputError(f"{p}.litellm_params.model", "every deployment needs litellm_params.model")
    return params


def _read_deployment(p: str, dep: dict, params: dict, d: _Deployment, notes: _Notes) -> _Deployment:
    """Map a deployment's keys onto ``d``, noting how each maps (prices and rate limits gathered)."""
    notes.extend(ImportNote(f"{p}.{k}", "unknown", "not a deployment field")
                 for k in dep if k not in _DEPLOYMENT_FIELDS)
    _apply_rules(d, notes, f"{p}.litellm_params", [(k, v) for k, v in params.items() if k != "model"],
                 _PARAM_RULES, _passed_through)
    info = dep.get("model_info") or {}
    _apply_rules(d, notes, f"{p}.model_info", info.items() if isinstance(info, dict) else [], _INFO_RULES, _metadata)
    if d.limits:
        d.provider["rate_limits"] = d.limits
    if "pricing" not in d.provider:
        notes.add(f"{p}", "approximated", f"no prices given: providers.{d.name}.pricing is 0 (set it for costs)")
    return d


def _apply_rules(d: _Deployment, notes: _Notes, where: str, items, rules: dict, default) -> None:
    """Apply each key's rule (``default`` for keys without one) and note what it maps to."""
    for k, v in items:
        kp = f"{where}.{k}"
        notes.add(kp, *rules.get(k, default)(d, k, v, kp))


# One rule per deployment key: (deployment, key, value, path) -> (status, detail) of its note, after
# recording on the deployment what the key maps to.
_Rule = Callable[[_Deployment, str, Any, str], tuple[str, str]]


def _rate_limit(d: _Deployment, k: str, v: Any, kp: str) -> tuple[str, str]:
    d.limits[k] = _num(v, kp)
    return "mapped", f"providers.{d.name}.rate_limits.{k}"


def _weight(d: _Deployment, k: str, v: Any, kp: str) -> tuple[str, str]:
    d.weight = _num(v, kp)
    return "mapped", "client.route.weights"


def _timeout(d: _Deployment, k: str, v: Any, kp: str) -> tuple[str, str]:
    d.timeout = _num(v, kp)
    return "approximated", "per-attempt timeout (one value for the client: the largest)"


def _sdk_retries(d: _Deployment, k: str, v: Any, kp: str) -> tuple[str, str]:
    d.sdk_retries = int(_num(v, kp))
    return "mapped", "an inner retry layer (SDK retries multiply the Router's)"


def _token_price(d: _Deployment, k: str, v: Any, kp: str) -> tuple[str, str]:
    d.provider.setdefault("pricing", {})[k.split("_")[0] + "_per_mtok"] = _num(v, kp) * 1e6
    return "mapped", f"providers.{d.name}.pricing"


def _cached_price(d: _Deployment, k: str, v: Any, kp: str) -> tuple[str, str]:
    d.provider.setdefault("pricing", {})["cached_input_per_mtok"] = _num(v, kp) * 1e6
    return "mapped", f"providers.{d.name}.pricing.cached_input_per_mtok"


def _context_window(d: _Deployment, k: str, v: Any, kp: str) -> tuple[str, str]:
    d.provider["context_window"] = int(_num(v, kp))
    return "mapped", f"providers.{d.name}.context_window (input + max_tokens above it -> 400)"


def _note_only(status: str, detail: str) -> _Rule:
    return lambda d, k, v, kp: (status, detail)


def _passed_through(d: _Deployment, k: str, v: Any, kp: str) -> tuple[str, str]:
    if k in _PARAMS_IGNORED:
        return "ignored", "connection / request detail: no effect on simulated traffic"
    return "ignored", "passed through to the provider API: no effect in llmsim"


_metadata = _note_only("ignored", "model metadata: no effect on simulated traffic")

_PARAM_RULES: dict[str, _Rule] = {  # litellm_params
    "rpm": _rate_limit, "tpm": _rate_limit, "weight": _weight, "timeout": _timeout, "max_retries": _sdk_retries,
    "input_cost_per_token": _token_price, "output_cost_per_token": _token_price,
    "max_parallel_requests": _note_only("ignored", "client-side concurrency per deployment: not mapped"),
    "order": _note_only("approximated", "deployments are tried in list order"),
}
_INFO_RULES: dict[str, _Rule] = {  # model_info
    "input_cost_per_token": _token_price, "output_cost_per_token": _token_price,
    "cache_read_input_token_cost": _cached_price, "max_input_tokens": _context_window,
}


# -- router_settings / litellm_settings -> the Router's policy ------------------------------------
_ROUTER_KEYS = ("num_retries", "retry_after", "timeout", "request_timeout", "allowed_fails", "cooldown_time",
                "disable_cooldowns", "routing_strategy", "fallbacks", "default_fallbacks", "context_window_fallbacks")
_EJECTION = "client.route.ejection (LiteLLM cooldowns)"


@dataclass
class _RouterPolicy:
    """The Router settings llmsim maps, as found (numbers are checked when the client is built)."""

    num_retries: Any
    retry_after: Any
    allowed_fails_given: bool
    timeout: Any
    allowed_fails: Any
    cooldown_time: Any
    disable_cooldowns: Any
    strategy: str  # llmsim's route.strategy
    fallbacks: dict[str, list[str]]
    context_window_fallbacks: dict[str, list[str]]


@dataclass
class _RouterSettings:
    """A Router key is read from router_settings, else from litellm_settings; each key found is noted."""

    router: dict
    settings: dict
    notes: _Notes

    def get(self, key: str, default: Any = None) -> tuple[Any, str | None]:
        """(value, where it was found), or (default, None)."""
        if key in self.router:
            return self.router[key], f"router_settings.{key}"
        if key in self.settings:
            return self.settings[key], f"litellm_settings.{key}"
        return default, None

    def mapped(self, key: str, default: Any, detail: str) -> Any:
        value, where = self.get(key, default)
        if where:
            self.notes.add(where, "mapped", detail)
        return value

    def policy(self, primary: str) -> _RouterPolicy:
        num_retries = self.mapped("num_retries", 2, "client.retry.max_attempts = num_retries + 1")
        retry_after = self.mapped("retry_after", 0, "client.retry.backoff.min (LiteLLM's minimum wait before a retry)")
        timeout = self.timeout()
        allowed_fails = self.mapped("allowed_fails", 3, _EJECTION + ": counted within cooldown_time")
        given = self.get("allowed_fails")[1] is not None
        cooldown_time = self.mapped("cooldown_time", 5, _EJECTION)
        disable_cooldowns = self.disable_cooldowns()
        strategy = self.strategy()
        fallbacks = self.fallbacks("fallbacks", "client.route.fallbacks (deployments of the fallback groups, in order)")
        context_window = self.fallbacks("context_window_fallbacks", "client.route.fallbacks on context_window (needs "
                                        "model_info.max_input_tokens on the deployments to trigger)")
        self.default_fallbacks(primary, fallbacks)
        return _RouterPolicy(num_retries, retry_after, given, timeout, allowed_fails, cooldown_time, disable_cooldowns,
                             strategy, fallbacks, context_window)

    def timeout(self) -> Any:
        """``timeout``, else ``request_timeout`` (None: no per-attempt timeout set)."""
        value, where = self.get("timeout", None)
        if value is None:
            value, where = self.get("request_timeout", None)
        if where:
            self.notes.add(where, "mapped", "client.timeout (per attempt)")
        return value

    def disable_cooldowns(self) -> Any:
        value, where = self.get("disable_cooldowns", False)
        if where:
            self.notes.add(where, "mapped", "no ejection" if value else "cooldowns on")
        return value

    def strategy(self) -> str:
        value, where = self.get("routing_strategy", "simple-shuffle")
        if value not in STRATEGIES:
            raise InputError(where or "router_settings.routing_strategy",
                             f"unknown routing_strategy '{value}' (known: {', '.join(STRATEGIES)})")
        if where:
            self.notes.add(where, "mapped", f"client.route.strategy = {STRATEGIES[value]}")
        return STRATEGIES[value]

    def fallbacks(self, key: str, detail: str) -> dict[str, list[str]]:
        value, where = self.get(key, [])
        if not where:
            return {}
        found = _fallbacks(value, where)
        self.notes.add(where, "mapped", detail)
        return found

    def default_fallbacks(self, primary: str, fallbacks: dict[str, list[str]]) -> None:
        """``default_fallbacks`` become the primary group's fallbacks when it has none of its own."""
        value, where = self.get("default_fallbacks", None)
        if where:
            self.notes.add(where, "mapped", "client.route.fallbacks when the group has no specific fallbacks")
            if primary not in fallbacks:
                fallbacks[primary] = [str(x) for x in value]


def _unmapped_settings(router: dict, settings: dict) -> list[ImportNote]:
    """Notes on the router_settings and litellm_settings keys that are not Router keys llmsim maps."""
    return ([ImportNote(f"router_settings.{k}", *_router_key(k)) for k in router if k not in _ROUTER_KEYS]
            + [ImportNote(f"litellm_settings.{k}", *_settings_key(k)) for k in settings if k not in _ROUTER_KEYS])


def _router_key(k: str) -> tuple[str, str]:
    if k in _ROUTER_IGNORED:
        return "ignored", _ROUTER_IGNORED[k]
    return "unknown", "not a Router setting llmsim knows"


def _settings_key(k: str) -> tuple[str, str]:
    if k in _SETTINGS_IGNORED:
        return "ignored", "logging / caching / budgets: no effect on simulated traffic"
    return "unknown", "not a litellm_settings key llmsim knows"


def _fallback_chain(groups: dict[str, list[str]], fallbacks: dict[str, list[str]], primary: str,
                    notes: _Notes) -> list[str]:
    """The deployments of the primary group's fallback groups, in order (each group once)."""
    chain, seen = [], {primary}
    for g in fallbacks.get(primary, []):
        if g not in groups:
            notes.add(f"fallbacks.{primary}", "unknown", f"fallback group '{g}' has no deployment in model_list")
            continue
        if g not in seen:
            seen.add(g)
            chain += groups[g]
    return chain


def _unreachable_groups(groups: dict[str, list[str]], fallbacks: dict[str, list[str]],
                        primary: str) -> list[ImportNote]:
    """Notes on the groups that are neither the primary nor anyone's fallback."""
    reachable = {primary, *(g for g in fallbacks.get(primary, []) if g in groups)}
    named = {x for v in fallbacks.values() for x in v}
    return [ImportNote(f"model_list ({g})", "approximated", f"group '{g}' is not reachable from '{primary}': its "
                                                            "deployments are providers the client never calls")
            for g in groups if g not in reachable and g not in named]


# -- the client: route, retry, per-attempt timeout, the SDK's own retries -------------------------
def _route(policy: _RouterPolicy, models: _ModelList, primary: str, chain: list[str]) -> dict[str, Any]:
    order = list(models.groups[primary])
    route: dict[str, Any] = {"strategy": policy.strategy, "order": order, "failover_on": list(_RETRY_ON)}
    route.update(_balancing(policy.strategy, order, models))
    if not policy.disable_cooldowns:
        # litellm 1.110: allowed_fails given to the Router switches its cooldown rule to counting failures
        route["ejection"] = {"kind": "litellm", "cooldown_time": _num(policy.cooldown_time, "cooldown_time"),
                             "allowed_fails": int(_num(policy.allowed_fails, "allowed_fails")),
                             "mode": "allowed_fails" if policy.allowed_fails_given else "rates"}
    groups = models.groups
    cw_chain = [d for g in policy.context_window_fallbacks.get(primary, []) if g in groups for d in groups[g]]
    if cw_chain:
        route["fallbacks"] = [{"on": ["context_window"], "to": cw_chain}]
    if chain:
        route.setdefault("fallbacks", []).append({"on": list(_RETRY_ON), "to": chain})
    return route


def _balancing(strategy: str, order: list[str], models: _ModelList) -> dict[str, Any]:
    """What the strategy needs besides the order: weights for ``weighted``, the limits for ``usage``."""
    if strategy == "weighted":
        return _weights(order, models)
    if strategy == "usage":
        limits = models.usage_limits
        return {"usage_limits": {n: limits[n] for n in order if n in limits}}
    return {}


def _weights(order: list[str], models: _ModelList) -> dict[str, Any]:
    """LiteLLM's simple-shuffle: by the deployments' weights, else by rpm, else by tpm, else evenly."""
    weights, limits = models.weights, models.usage_limits
    if weights:
        return {"weights": [weights.get(n, 1.0) for n in order]}
    if any(n in limits for n in order):
        key = "rpm" if any("rpm" in limits.get(n, {}) for n in order) else "tpm"
        return {"weights": [limits.get(n, {}).get(key, 1.0) for n in order]}
    return {}


def _client(policy: _RouterPolicy, models: _ModelList, route: dict[str, Any]) -> dict[str, Any]:
    # the litellm-router preset's router retry, with this config's num_retries and retry_after
    retry = deep_merge(CLIENT_PRESETS["litellm-router"][1]["layers"][0]["retry"],
                       {"max_attempts": int(_num(policy.num_retries, "num_retries")) + 1,
                        "backoff": {"min": _num(policy.retry_after, "retry_after")}})
    client: dict[str, Any] = {"overhead": dict(LITELLM_OVERHEAD)}  # the Router's own time per attempt
    timeout = _client_timeout(policy.timeout, models.timeouts, route["order"])
    if timeout is not None:
        client["timeout"] = timeout
    inner = max((models.sdk_retries.get(n, 0) for n in route["order"]), default=0)
    if inner > 0:
        # the SDK inside each deployment: the openai-sdk preset's retry with this config's max_retries
        sdk = deep_merge(CLIENT_PRESETS["openai-sdk"][1]["retry"], {"max_attempts": inner + 1})
        if "timeout" in client:
            sdk["timeout"] = client.pop("timeout")
        client["layers"] = [{"retry": retry}, {"route": route}, {"retry": sdk}]
    else:
        client.update(retry=retry, route=route)
    return client


def _client_timeout(router_timeout: Any, timeouts: dict[str, float], order: list[str]) -> float | None:
    """The Router's timeout, else the largest deployment timeout (of the primary group where it sets one)."""
    if router_timeout is not None:
        return _num(router_timeout, "timeout")
    if not timeouts:
        return None
    if any(n in timeouts for n in order):
        return max(timeouts[n] for n in order if n in timeouts)
    return max(timeouts.values())
