"""Distribution configs: ``{dist: fixed|exponential|lognormal|gamma|empirical, ...}``, or a plain value
meaning ``{dist: fixed, value: ...}``.

``.build()`` gives the sampler (``llmsim.core.samplers``). Times (``DurationDistribution``) may carry
units ("600ms"); token counts (``TokenDistribution``) are plain numbers, so a unit there is an error
rather than a silent conversion.

>>> from pydantic import TypeAdapter
>>> d = TypeAdapter(DurationDistribution).validate_python({"dist": "lognormal", "median": "600ms", "p95": "2s"})
>>> round(d.mean, 3)
0.784
>>> TypeAdapter(TokenDistribution).validate_python(1200).value
1200.0
>>> TypeAdapter(TokenDistribution).validate_python({"dist": "fixed", "value": "250ms"})
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for ...
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BeforeValidator, Field, model_validator

from llmsim.config.base import Config, Quantity
from llmsim.core import samplers as D

__all__ = ["Distribution", "DurationDistribution", "TokenDistribution", "FixedDist", "ExponentialDist", "LogNormalDist",
           "GammaDist", "EmpiricalDist"]


class FixedDist(Config):
    """Always the same value."""

    dist: Literal["fixed"]
    value: Quantity

    def build(self) -> D.Sampler:
        return D.Fixed(self.value)

    @property
    def mean(self) -> float:
        return self.value


class ExponentialDist(Config):
    """Exponential with the given mean."""

    dist: Literal["exponential"]
    mean: Annotated[Quantity, Field(gt=0)]

    def build(self) -> D.Sampler:
        return D.Exponential(self.mean)


class LogNormalDist(Config):
    """Log-normal given by its median and 95th percentile."""

    dist: Literal["lognormal"]
    median: Annotated[Quantity, Field(gt=0)]
    p95: Annotated[Quantity, Field(gt=0)]

    @model_validator(mode="after")
    def _order(self):
        if self.p95 < self.median:
            raise ValueError(f"p95 ({self.p95:g}) must be >= median ({self.median:g})")
        return self

    def build(self) -> D.Sampler:
        return D.LogNormal(self.median, self.p95)

    @property
    def mean(self) -> float:
        return self.build().mean


class GammaDist(Config):
    """Gamma given by its mean and coefficient of variation (std / mean)."""

    dist: Literal["gamma"]
    mean: Annotated[Quantity, Field(gt=0)]
    cv: Annotated[float, Field(gt=0)]

    def build(self) -> D.Sampler:
        return D.Gamma(self.mean, self.cv)


class EmpiricalDist(Config):
    """Resamples the listed values uniformly."""

    dist: Literal["empirical"]
    values: Annotated[list[Quantity], Field(min_length=1)]

    def build(self) -> D.Sampler:
        return D.Empirical(tuple(self.values))

    @property
    def mean(self) -> float:
        return self.build().mean


Distribution = Annotated[
    Union[FixedDist, ExponentialDist, LogNormalDist, GammaDist, EmpiricalDist],
    Field(discriminator="dist"),
]


def _plain_to_fixed(value: Any) -> Any:
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return {"dist": "fixed", "value": value}
    return value


_COUNT_FIELDS = ("value", "mean", "median", "p95")


def _token_counts(value: Any) -> Any:
    """A token-count distribution: like a duration one, but every number must be a plain number."""
    plain = not isinstance(value, dict)
    value = _plain_to_fixed(value)
    if isinstance(value, dict):
        for key, v in _count_fields(value):
            if isinstance(v, str) and not _numeric_text(v):
                where = "" if plain else f"{key}: "
                raise ValueError(f"{where}a token count is a plain number, not {v!r}")
    return value


def _count_fields(value: dict) -> list[tuple[str, Any]]:
    """(key, number) of every count a distribution spec gives, ``values`` entries included."""
    numbers = [(k, value[k]) for k in _COUNT_FIELDS if k in value]
    return numbers + [("values", v) for v in value.get("values") or [] if isinstance(value.get("values"), list)]


def _numeric_text(text: str) -> bool:
    """``text`` reads as a number (``"250"``, not ``"250ms"``)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


#: A distribution of times, or a plain duration meaning ``{dist: fixed, value: ...}``.
DurationDistribution = Annotated[Distribution, BeforeValidator(_plain_to_fixed)]
#: A distribution of token counts (plain numbers, no units), or a plain count.
TokenDistribution = Annotated[Distribution, BeforeValidator(_token_counts)]
