"""Distribution configs: ``{dist: fixed|exponential|lognormal|gamma|empirical, ...}``.

Numbers may be written with duration units ("600ms") where the quantity is a time.

>>> from pydantic import TypeAdapter
>>> d = TypeAdapter(Distribution).validate_python({"dist": "lognormal", "median": "600ms", "p95": "2s"})
>>> round(d.mean, 3)
0.784
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BeforeValidator, Field, model_validator

from llmsim.config.base import Config, Quantity
from llmsim.core import samplers as D

__all__ = ["Distribution", "DistributionOrDuration", "FixedDist", "ExponentialDist", "LogNormalDist",
           "GammaDist", "EmpiricalDist"]


class FixedDist(Config):
    """Always the same value."""

    dist: Literal["fixed"]
    value: Quantity

    def sampler(self) -> D.Sampler:
        return D.Fixed(self.value)

    @property
    def mean(self) -> float:
        return self.value


class ExponentialDist(Config):
    """Exponential with the given mean."""

    dist: Literal["exponential"]
    mean: Annotated[Quantity, Field(gt=0)]

    def sampler(self) -> D.Sampler:
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

    def sampler(self) -> D.Sampler:
        return D.LogNormal(self.median, self.p95)

    @property
    def mean(self) -> float:
        return self.sampler().mean


class GammaDist(Config):
    """Gamma given by its mean and coefficient of variation (std / mean)."""

    dist: Literal["gamma"]
    mean: Annotated[Quantity, Field(gt=0)]
    cv: Annotated[float, Field(gt=0)]

    def sampler(self) -> D.Sampler:
        return D.Gamma(self.mean, self.cv)


class EmpiricalDist(Config):
    """Resamples the listed values uniformly."""

    dist: Literal["empirical"]
    values: Annotated[list[Quantity], Field(min_length=1)]

    def sampler(self) -> D.Sampler:
        return D.Empirical(tuple(self.values))

    @property
    def mean(self) -> float:
        return self.sampler().mean


Distribution = Annotated[
    Union[FixedDist, ExponentialDist, LogNormalDist, GammaDist, EmpiricalDist],
    Field(discriminator="dist"),
]


def _plain_to_fixed(value: Any) -> Any:
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return {"dist": "fixed", "value": value}
    return value


#: A distribution, or a plain duration/number meaning ``{dist: fixed, value: ...}``.
DistributionOrDuration = Annotated[Distribution, BeforeValidator(_plain_to_fixed)]
