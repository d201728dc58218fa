"""Validated, serialisable scenario configuration (pure data, pydantic v2)."""

from .client import Backoff, CircuitBreaker, Client, Retry, RetryAfterMax, Route
from .distributions import Distribution
from .loading import DEFAULT_SCENARIO, load_scenario, packaged_scenarios, validate_scenario
from .provider import Capacity, Errors, Incident, Latency, Pricing, Provider, Queue, RateLimits
from .scenario import Scenario
from .workload import Arrivals, Workload

__all__ = [
    "Arrivals", "Backoff", "Capacity", "CircuitBreaker", "Client", "DEFAULT_SCENARIO", "Distribution", "Errors",
    "Incident", "Latency", "Pricing", "Provider", "Queue", "RateLimits", "Retry", "RetryAfterMax", "Route",
    "Scenario", "Workload", "load_scenario", "packaged_scenarios", "validate_scenario",
]
