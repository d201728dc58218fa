"""Oracles llmsim's code does not share: Ciw's queueing network and an independent retry model.

The tests import them as ``oracles.<module>`` (the tests folder is on the import path), and so does
``benchmarks/oracles.py`` (it puts the tests folder first on the path)."""
