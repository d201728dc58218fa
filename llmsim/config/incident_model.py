"""Provider option ``incident_model``: draw random incidents from a fitted preset or explicit parameters.

>>> m = IncidentModelConfig.model_validate({"preset": "openai-api-2024", "rate_factor": 2})
>>> round(m.model().rate_per_month, 2)
18.26
>>> IncidentModelConfig.model_validate({"rate_per_month": 4, "duration": {"median": "1h", "p95": "6h"}}).model().n
0
"""

from __future__ import annotations

import math
from typing import Annotated, Optional

from pydantic import Field, model_validator

from llmsim.config.base import Config, Duration
from llmsim.core.samplers import Z95

__all__ = ["IncidentModelConfig", "IncidentDuration"]


class IncidentDuration(Config):
    """Log-normal incident duration by its median and 95th percentile."""

    median: Annotated[Duration, Field(gt=0)]
    p95: Annotated[Duration, Field(gt=0)]


class IncidentModelConfig(Config):
    """Random incidents (see llmsim.provider.incidents): a named ``preset`` (openai-api-2024,
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
        from llmsim.provider.incidents import PRESETS

        if self.preset is not None and self.preset not in PRESETS:
            raise ValueError(f"unknown incident preset '{self.preset}' (known: {', '.join(PRESETS)})")
        if self.preset is None and (self.rate_per_month is None or self.duration is None):
            raise ValueError("give a 'preset', or both 'rate_per_month' and 'duration'")
        if self.duration is not None and self.duration.p95 < self.duration.median:
            raise ValueError("duration.p95 must be >= duration.median")
        if self.impact_shares is not None and (min(self.impact_shares) < 0 or sum(self.impact_shares) <= 0):
            raise ValueError("impact_shares must be >= 0 with a positive sum")
        return self

    def model(self):
        """The llmsim.provider.incidents.IncidentModel this config describes."""
        from llmsim.provider.incidents import PRESETS, IncidentModel

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
        from dataclasses import replace

        return replace(base, **fields).scaled(self.rate_factor)
