"""The ground floor: units, schedules, samplers, random streams, outcomes, errors, atomic file writes.

Imports nothing else from llmsim; every other layer may import it (docs/architecture.md).
"""
