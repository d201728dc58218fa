"""The policy library against the real libraries it mirrors, used as oracles.

tenacity's wait strategies, openai-python's ``_calculate_retry_timeout`` / ``_should_retry`` and
botocore's standard-mode backoff and retry quota are called with the same uniform draws as ours.
"""

from __future__ import annotations

import math
import random as _random

import numpy as np
import pytest

from llmsim.config.client import AwsQuota
from llmsim.config.client import Backoff as BackoffConfig
from llmsim.config.loading import resolve_client
from llmsim.policies import budgets
from llmsim.policies.backoff import BackoffPolicy
from llmsim.policies.budgets import AwsRetryQuota
from llmsim.policies.hints import RetryAfterPolicy

tenacity = pytest.importorskip("tenacity")


def Backoff(jitter="full", **kw):
    """The runtime backoff of a config, jitter given as a name or a tuple ("additive", j) /
    ("multiplicative", lo, hi)."""
    if isinstance(jitter, tuple):
        jitter = {"additive": jitter[1]} if jitter[0] == "additive" else {"multiplicative": jitter[1:]}
    return BackoffPolicy(BackoffConfig(jitter=jitter, **kw))
U = np.random.default_rng(2026).random(200).tolist()


class _Fixed:
    """Stands in for the ``random`` module: uniform(a, b) and random() return the next scripted draw."""

    def __init__(self, draws):
        self.draws = list(draws)

    def random(self):
        return self.draws.pop(0)

    def uniform(self, a, b):
        return a + (b - a) * self.draws.pop(0)


def _state(attempt: int):
    rs = tenacity.RetryCallState(None, None, (), {})
    rs.attempt_number = attempt
    return rs


@pytest.mark.parametrize("multiplier,cap,minimum", [(1, 60, 0), (0.5, 8, 0), (2, 100, 3)])
def test_tenacity_wait_exponential(multiplier, cap, minimum):
    w = tenacity.wait_exponential(multiplier=multiplier, max=cap, min=minimum)
    ours = Backoff(base=multiplier, cap=cap, min=minimum, jitter="none")
    for a in range(1, 12):
        assert ours.delay(a - 1, 0.0, None) == pytest.approx(w(_state(a)))


def test_tenacity_wait_random_exponential(monkeypatch):
    w = tenacity.wait_random_exponential(multiplier=1, max=60)
    ours = BackoffPolicy(resolve_client("tenacity-exponential").retry.backoff)
    for a, u in zip(range(1, 10), U):
        monkeypatch.setattr(tenacity.wait, "random", _Fixed([u]))
        assert ours.delay(a - 1, u, None) == pytest.approx(w(_state(a)))


def test_tenacity_wait_exponential_jitter(monkeypatch):
    w = tenacity.wait_exponential_jitter(initial=1, max=30, exp_base=2, jitter=1)
    ours = Backoff(base=1, cap=30, jitter=("additive", 1.0))
    for a, u in zip(range(1, 10), U):
        monkeypatch.setattr(tenacity.wait, "random", _Fixed([u]))
        assert ours.delay(a - 1, u, None) == pytest.approx(w(_state(a)))


def _sdk_delays_match_preset(monkeypatch, base_client, client, options, preset, headers):
    """The SDK's own _calculate_retry_timeout and the preset give the same wait, draw for draw."""
    import httpx

    retry = resolve_client(preset).retry
    backoff, hint = BackoffPolicy(retry.backoff), RetryAfterPolicy(retry.retry_after)
    for n, u in zip(range(2), U):
        for header in headers:
            monkeypatch.setattr(base_client, "random", lambda u=u: u)
            sdk = client._calculate_retry_timeout(2 - n, options, httpx.Headers(
                {"retry-after": header} if header is not None else {}))
            ra = float(header) if header is not None else float("nan")
            assert hint.delay(backoff.delay(n, u, None), ra) == pytest.approx(sdk), (n, header)
    return retry


def test_openai_sdk_retry_timeout(monkeypatch):
    openai = pytest.importorskip("openai")
    import httpx
    from openai import _base_client
    from openai._models import FinalRequestOptions

    client = openai.OpenAI(api_key="x", max_retries=2, base_url="http://127.0.0.1:9")
    options = FinalRequestOptions(method="post", url="/chat/completions")
    retry = _sdk_delays_match_preset(monkeypatch, _base_client, client, options, "openai-sdk",
                                     (None, "30", "0", "119", "200"))
    # above 120 s the SDK does not retry at all: so does the preset
    response = httpx.Response(429, headers={"retry-after": "200"}, request=httpx.Request("POST", "http://x"))
    assert client._should_retry(response) is False
    assert retry.give_up_retry_after_over == 120


def test_anthropic_sdk_retry_timeout(monkeypatch):
    anthropic = pytest.importorskip("anthropic")
    from anthropic import _base_client
    from anthropic._models import FinalRequestOptions

    client = anthropic.Anthropic(api_key="x", max_retries=2, base_url="http://127.0.0.1:9")
    options = FinalRequestOptions(method="post", url="/v1/messages")
    _sdk_delays_match_preset(monkeypatch, _base_client, client, options, "anthropic-sdk", (None, "30", "0", "200"))


class _Detector:
    """botocore's throttling detector, answering what the test says."""

    throttle = False

    def is_throttling_error_from_context(self, context):
        return self.throttle


class _Response:
    def __init__(self, status, headers=None):
        self.status_code = status
        self.headers = headers or {}


def _aws_preset(standard) -> str:
    """The preset mirroring the installed botocore: 2026 retries (always on since 1.44.8) or legacy."""
    return "aws-standard" if getattr(standard, "NEW_RETRIES_ENABLED", True) else "aws-standard-legacy"


def test_botocore_standard_backoff():
    standard = pytest.importorskip("botocore.retries.standard")
    retry = resolve_client(_aws_preset(standard)).retry
    hint = RetryAfterPolicy(retry.retry_after)
    detector = _Detector()
    for throttle in (False, True):
        detector.throttle = throttle
        ours = BackoffPolicy(retry.backoff_for.get("rate_limited", retry.backoff) if throttle else retry.backoff)
        for attempt, u in zip(range(1, 12), U):
            boto = standard.ExponentialBackoff(max_backoff=20, random=lambda u=u: u, throttling_detector=detector)
            for header in (None, "3000", "40000"):  # x-amz-retry-after, milliseconds
                resp = _Response(429 if throttle else 500, {"x-amz-retry-after": header} if header else {})
                ctx = standard.RetryContext(attempt_number=attempt, http_response=resp)
                ra = int(header) / 1000 if header else float("nan")
                assert hint.delay(ours.delay(attempt - 1, u, None), ra) == pytest.approx(boto.delay_amount(ctx))


def test_botocore_retry_quota_sequence():
    """A random sequence of failures (throttles, timeouts, errors), retries and successes: botocore's
    RetryQuotaChecker and ours agree on every decision and on the capacity left."""
    standard = pytest.importorskip("botocore.retries.standard")
    quota_mod = pytest.importorskip("botocore.retries.quota")
    from botocore.exceptions import ReadTimeoutError

    detector = _Detector()
    boto_quota = quota_mod.RetryQuota()
    checker = standard.RetryQuotaChecker(boto_quota, throttling_detector=detector)
    ours = budgets.build(resolve_client(_aws_preset(standard)).retry.budget)
    rng = _random.Random(7)
    for _ in range(3000):
        ctx = standard.RetryContext(attempt_number=1, request_context={})
        retried = False
        taken = 0
        # a request fails a few times (each failure asks for a retry), then succeeds or gives up
        for _ in range(rng.choice([0, 0, 1, 2, 3])):
            kind = rng.choice(["rate_limited", "timeout", "server_error"])
            detector.throttle = kind == "rate_limited"
            ctx.caught_exception = ReadTimeoutError(endpoint_url="x") if kind == "timeout" else None
            boto_ok = checker.acquire_retry_quota(ctx)
            assert boto_ok == ours.allow(0.0, kind)
            if not boto_ok:
                break
            retried = True
            taken = ours.taken
        if rng.random() < 0.8:
            checker.release_retry_quota(ctx.request_context, _Response(200))
            ours.on_success(0.0, retried, taken)
        assert boto_quota.available_capacity == ours.level


def test_aws_quota_with_p_one_allows_100_retries_then_one_per_five_successes():
    q = AwsRetryQuota(AwsQuota(kind="aws"))  # the reference quota: 500 tokens, a retry costs 5
    retries = sum(q.allow(0.0, "server_error") for _ in range(1000))
    assert retries == 100 and q.level == 0
    allowed = []
    for _ in range(50):
        for _ in range(5):
            q.on_success(0.0, retried=False)  # a success without retry refunds 1
        allowed.append(q.allow(0.0, "server_error"))
        allowed.append(q.allow(0.0, "server_error"))
    assert sum(allowed) == 50  # exactly one retry per five successes


def test_polly_decorrelated_jitter_v2_shape():
    """Polly's v2 jitter: mean delay of retry n grows like base * 2**n / 1.4 * (a constant), stays >= 0."""
    b = Backoff(base=1.0, cap=1e9, jitter="polly-v2")
    rng = np.random.default_rng(0)
    means = []
    for n in range(5):
        ds = []
        for _ in range(4000):
            prev = None
            for k in range(n + 1):
                d, prev = b.step(k, rng.random(), prev)
            ds.append(d)
        ds = np.array(ds)
        assert ds.min() >= 0
        means.append(ds.mean())
    ratios = np.array(means[2:]) / np.array(means[1:-1])
    assert np.all(np.abs(ratios - 2.0) < 0.25)  # exponential growth, base 2
    # the first delay's median is close to the median first delay ``base`` (Polly's design goal)
    first = [b.step(0, u, None)[0] for u in np.random.default_rng(1).random(20000)]
    assert 0.6 < np.median(first) < 1.4


@pytest.mark.parametrize("jitter,lo,hi,mean", [
    ("full", 0, 1, 0.5), ("equal", 0.5, 1, 0.75), (("multiplicative", 0.75, 1.0), 0.75, 1, 0.875),
    (("multiplicative", 0.0, 0.75), 0.0, 0.75, 0.375), (("additive", 0.5), 1, 1.5, 1.25),
])
def test_jitter_distributions_match_their_formulas(jitter, lo, hi, mean):
    b = Backoff(base=1.0, cap=100.0, jitter=jitter)
    d = np.array([b.delay(0, u, None) for u in np.random.default_rng(3).random(50_000)])
    assert d.min() >= lo - 1e-12 and d.max() <= hi + 1e-12
    assert abs(d.mean() - mean) < 4 * d.std() / math.sqrt(len(d))
