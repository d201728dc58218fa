"""Client policies as small pure objects (no SimPy): backoff, retry decisions, circuit breakers."""
