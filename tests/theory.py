"""Closed-form queueing results used as ground truth by the theory tests."""

from __future__ import annotations

import math


def erlang_b(c: int, a: float) -> float:
    """Blocking probability of M/M/c/c with offered load a = lambda / mu (stable recursion)."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """Probability of waiting in M/M/c (a < c)."""
    b = erlang_b(c, a)
    rho = a / c
    return b / (1 - rho * (1 - b))


def mmc_mean_wait(c: int, lam: float, mu: float) -> float:
    """Mean time in queue Wq of M/M/c."""
    return erlang_c(c, lam / mu) / (c * mu - lam)


def mmck_blocking(c: int, k: int, lam: float, mu: float) -> float:
    """Probability an arrival finds the M/M/c/K system full (K = servers + waiting places)."""
    a = lam / mu
    terms = [a**n / math.factorial(n) if n <= c else a**n / (math.factorial(c) * c ** (n - c)) for n in range(k + 1)]
    return terms[k] / sum(terms)
