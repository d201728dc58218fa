"""Provider option ``incident_model``: draw random incidents from a fitted preset or explicit parameters.

>>> m = IncidentModelConfig.model_validate({"preset": "openai-api-2024", "rate_factor": 2})
>>> round(m.build().rate_per_month, 2)
18.26
>>> IncidentModelConfig.model_validate({"rate_per_month": 4, "duration": {"median": "1h", "p95": "6h"}}).build().n
0
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Annotated, Optional

from pydantic import Field, model_validator

from llmsim.config.base import Config, Duration
from llmsim.core.samplers import Z95

__all__ = ["IncidentModelConfig", "IncidentDuration", "IncidentModel", "PRESETS"]


@dataclass(frozen=True)
class IncidentModel:
    """Rate, duration and impact of one provider's incidents."""

    name: str
    rate_per_month: float
    duration_median_h: float
    duration_sigma: float  # sd of log(hours)
    impact_shares: tuple[float, float, float, float]  # classes 0..3
    latency_share: float
    n: int = 0  # incidents the fit used

    def scaled(self, rate_factor: float = 1.0) -> IncidentModel:
        return replace(self, rate_per_month=self.rate_per_month * rate_factor)


#: fitted by llmsim.provider.incidents.fit_incident_model on the status-page data (its docstring gives the
#: derivation); numbers rounded to 3 digits
PRESETS: dict[str, IncidentModel] = {
    "openai-api-2024": IncidentModel("openai-api-2024", 9.131, 1.249, 1.193, (0.139, 0.461, 0.321, 0.079),
                                     0.055, 165),
    "anthropic-api-2024": IncidentModel("anthropic-api-2024", 5.852, 0.838, 1.398, (0.224, 0.382, 0.395, 0.0),
                                        0.013, 76),
    "character-ai-2024": IncidentModel("character-ai-2024", 3.511, 1.383, 1.346, (0.056, 0.111, 0.306, 0.528),
                                       0.056, 36),
}


class IncidentDuration(Config):
    """Log-normal incident duration by its median and 95th percentile."""

    median: Annotated[Duration, Field(gt=0)]
    p95: Annotated[Duration, Field(gt=0)]


class IncidentModelConfig(Config):
    """Random incidents (drawn by llmsim.provider.incidents): a named ``preset`` (openai-api-2024,
    anthropic-api-2024, character-ai-2024) or explicit ``rate_per_month`` and ``duration``; optional
    ``impact_shares`` (classes 0..3) and ``latency_share``; ``rate_factor`` scales the rate."""

    preset: Optional[str] = None
    rate_per_month: Optional[Annotated[float, Field(ge=0)]] = None
    duration: Optional[IncidentDuration] = None
    impact_shares: Optional[tuple[float, float, float, float]] = None
    latency_share: Optional[Annotated[float, Field(ge=0, le=1)]] = None
    rate_factor: Annotated[float, Field(ge=0)] = 1.0

    @model_validator(mode="after")
    def _check(self):
        self._check_source()
        if self.duration is not None and self.duration.p95 < self.duration.median:
            raise ValueError("duration.p95 must be >= duration.median")
        if self.impact_shares is not None and (min(self.impact_shares) < 0 or sum(self.impact_shares) <= 0):
            raise ValueError("impact_shares must be >= 0 with a positive sum")
        return self

    def _check_source(self) -> None:
        """A known preset, or both a rate and a duration."""
        if self.preset is not None and self.preset not in PRESETS:
            raise ValueError(f"unknown incident preset '{self.preset}' (known: {', '.join(PRESETS)})")
        if self.preset is None and (self.rate_per_month is None or self.duration is None):
            raise ValueError("give a 'preset', or both 'rate_per_month' and 'duration'")

    def build(self) -> IncidentModel:
        """The IncidentModel this config describes."""
        base = PRESETS[self.preset] if self.preset else IncidentModel("custom", 0.0, 1.0, 1.0, (0, 1, 0, 0), 0.0)
        fields = {}
        if self.rate_per_month is not None:
            fields["rate_per_month"] = self.rate_per_month
        if self.duration is not None:
            fields["duration_median_h"] = self.duration.median / 3600.0
            fields["duration_sigma"] = math.log(self.duration.p95 / self.duration.median) / Z95
        if self.impact_shares is not None:
            fields["impact_shares"] = tuple(self.impact_shares)
        if self.latency_share is not None:
            fields["latency_share"] = self.latency_share
        return replace(base, **fields).scaled(self.rate_factor)
