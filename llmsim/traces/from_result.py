"""A simulation Result as a canonical trace (one row per attempt sent), e.g. to make sample traces or
to check that fitting recovers a known provider.

>>> import llmsim
>>> res = llmsim.simulate(llmsim.load_scenario("tuesday").with_overrides({"horizon": "2m", "warmup": 0}), seed=1)
>>> tr = trace_from_result(res)
>>> len(tr) == int((~res.attempts["outcome"].isin(["rejected", "spend_blocked"])).sum())
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from llmsim.core.outcomes import LOCAL_OUTCOMES
from llmsim.traces.schema import conform

__all__ = ["trace_from_result"]


def trace_from_result(res) -> pd.DataFrame:
    """Canonical trace of the attempts a simulated client sent (local rejections are not calls)."""
    att = res.attempts
    att = att[~att["outcome"].astype(str).isin(LOCAL_OUTCOMES)]
    req = res.requests.set_index("request_id")
    models = {p.name: p.model or None for p in res.scenario.providers}
    rid = att["request_id"].to_numpy()
    ok = (att["outcome"].astype(str) == "ok").to_numpy()
    sent = att["sent"].to_numpy()
    first = att["first_token"].to_numpy()
    status = att["status"].to_numpy().astype("int64")
    retry = att["retry_after"].to_numpy()
    df = pd.DataFrame({
        "request_id": [f"{r}-{k}" for r, k in zip(rid, att["attempt"].to_numpy(), strict=False)],
        "arrival_s": sent,
        "input_tokens": req.loc[rid, "input_tokens"].to_numpy(),
        "output_tokens": np.where(ok, req.loc[rid, "output_tokens"].to_numpy(), att["billed_output_tokens"].to_numpy()),
        "logical_request_id": rid.astype(str),
        "attempt": att["attempt"].to_numpy().astype("int64"),
        "model": att["provider"].astype(str).map(models).to_numpy(),
        "provider": att["provider"].astype(str).to_numpy(),
        "outcome": att["outcome"].astype(str).to_numpy(),
        "http_status": pd.array(np.where(status > 0, status, 0), dtype="Int64"),
        "latency_s": att["end"].to_numpy() - sent,
        "ttft_s": np.where(np.isfinite(first), first - sent, np.nan),
        "retry_after_s": np.where(np.isfinite(retry), retry, np.nan),
        "cost_usd": att["cost"].to_numpy(),
    })
    df.loc[df["http_status"] == 0, "http_status"] = pd.NA
    for c in ("ttft_s", "retry_after_s", "latency_s"):
        df[c] = pd.array(df[c].to_numpy(), dtype="Float64")
        df.loc[np.isnan(df[c].to_numpy(dtype=float, na_value=np.nan)), c] = pd.NA
    df = df.sort_values("arrival_s", kind="stable", ignore_index=True)
    return conform(df)
