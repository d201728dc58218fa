"""Validated, serialisable scenario configuration (pure data, pydantic v2)."""

from llmsim.config.client import Backoff, CircuitBreaker, Client, Retry, RetryAfterMax, Route
from llmsim.config.distribution_specs import Distribution
from llmsim.config.loading import DEFAULT_SCENARIO, load_scenario, packaged_scenarios, validate_scenario
from llmsim.config.provider import Capacity, Errors, Incident, Latency, Pricing, Provider, Queue, RateLimits
from llmsim.config.scenario import Scenario
from llmsim.config.workload import Arrivals, Workload

__all__ = [
    "Arrivals", "Backoff", "Capacity", "CircuitBreaker", "Client", "DEFAULT_SCENARIO", "Distribution", "Errors",
    "Incident", "Latency", "Pricing", "Provider", "Queue", "RateLimits", "Retry", "RetryAfterMax", "Route",
    "Scenario", "Workload", "load_scenario", "packaged_scenarios", "validate_scenario",
]
