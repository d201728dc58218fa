"""``llmsim probe``: run a real client against scripted faults, infer its policy, score it (docs/probe.md)."""
