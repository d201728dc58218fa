"""Client policies as small pure objects (no SimPy) behind the Protocols of
``llmsim.policies.protocols``: backoff, Retry-After hints, retry budgets, circuit breakers, routing,
ejection, client-side limiters, spend guards and output-contract checks.

Each runtime policy takes its config object (``llmsim.config``) in its constructor; a family whose
config is a union of kinds has one ``build(cfg, ...)`` (budgets, limiters, ejection)."""
