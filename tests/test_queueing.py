"""Erlang B / C: known answers by hand and exact arithmetic, the unstable case, large systems,
and the pooling property (Smith & Whitt 1981)."""
from fractions import Fraction
from math import factorial

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.models import queueing
from analysis.models.queueing import (erlang_b, erlang_b_recursive, erlang_c, mean_wait, queue_summary,
                               share_within)


def erlang_c_exact(a: Fraction, c: int) -> Fraction:
    """Erlang C from its textbook definition in exact rational arithmetic."""
    top = a ** c / factorial(c) * Fraction(c) / (c - a)
    return top / (sum(a ** k / factorial(k) for k in range(c)) + top)


def test_public_api():
    assert set(queueing.__all__) == {"erlang_b", "erlang_b_recursive", "erlang_c", "mean_wait",
                                     "share_within", "queue_summary"}


@pytest.mark.parametrize("lam,mu,c,expected", [
    (0.5, 1.0, 1, 0.5),                     # M/M/1: P(wait) = utilisation
    (0.9, 1.0, 1, 0.9),
    (1.0, 1.0, 2, 1 / 3),                   # a = 1, c = 2: (1/2 * 2) / (1 + 1 + 1) = 1/3
    (2.0, 1.0, 3, 4 / 9),                   # a = 2, c = 3: (8/6 * 3) / (1 + 2 + 2 + 4) = 4/9
    (1.0, 1 / 3, 5, 5.0625 / 21.4375),      # one call a minute, 3-minute calls, 5 agents
])
def test_erlang_c_hand_values(lam, mu, c, expected):
    assert erlang_c(lam, mu, c) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("a,c", [(Fraction(48), 55),          # 360 calls / 30 min, 4-min calls
                                  (Fraction(7, 2), 5), (Fraction(19, 2), 12), (Fraction(1, 10), 1)])
def test_erlang_c_exact_arithmetic(a, c):
    exact = float(erlang_c_exact(a, c))
    assert erlang_c(float(a), 1.0, c) == pytest.approx(exact, rel=1e-10)
    # the rate unit does not matter: same load from other rates
    assert erlang_c(float(a) * 0.25, 0.25, c) == pytest.approx(exact, rel=1e-10)


def test_mm1_wait_and_service_level():
    lam, mu = 0.4, 0.5                     # rho = 0.8
    assert mean_wait(lam, mu, 1) == pytest.approx(0.8 / (mu - lam))      # Wq = rho / (mu - lam)
    t = 3.0
    assert share_within(lam, mu, 1, t) == pytest.approx(1 - 0.8 * np.exp(-(mu - lam) * t))
    assert share_within(lam, mu, 1, 0.0) == pytest.approx(0.2)             # answered at once


def test_mmc_wait_by_hand():
    # a = 2, c = 3, mu = 1: C = 4/9, Wq = C / (3 - 2) = 4/9 minutes
    assert mean_wait(2.0, 1.0, 3) == pytest.approx(4 / 9)
    assert share_within(2.0, 1.0, 3, 1.0) == pytest.approx(1 - 4 / 9 * np.exp(-1.0))


@pytest.mark.parametrize("lam,mu,c", [(3.0, 1.0, 3), (5.0, 1.0, 3), (1.0, 0.5, 1), (2.0, 1.0, 0)])
def test_unstable_queue(lam, mu, c):
    assert erlang_c(lam, mu, c) == 1.0
    assert mean_wait(lam, mu, c) == np.inf
    assert share_within(lam, mu, c, 60.0) == 0.0


def test_no_arrivals():
    assert erlang_c(0.0, 1.0, 2) == 0.0
    assert mean_wait(0.0, 1.0, 2) == 0.0
    assert share_within(0.0, 1.0, 1, 0.0) == 1.0


def test_erlang_b_matches_recursion():
    for a in (0.01, 0.5, 3.0, 17.3, 80.0):
        for c in (1, 2, 5, 20, 100):
            assert erlang_b(a, c) == pytest.approx(erlang_b_recursive(a, c), rel=1e-9)


def test_large_systems_are_stable():
    # 10,000 servers: factorials would overflow; log-space and the recursion agree
    b = erlang_b(9_900.0, 10_000)
    assert np.isfinite(b) and b == pytest.approx(erlang_b_recursive(9_900.0, 10_000), rel=1e-8)
    cc = erlang_c(9_900.0, 1.0, 10_000)
    assert 0.0 < cc < 1.0
    assert erlang_c(9_999.0, 1.0, 10_000) < 1.0
    # far from saturation the wait probability is negligible
    assert erlang_c(5_000.0, 1.0, 10_000) < 1e-100


def test_vectorised_matches_scalar():
    lam = np.array([0.5, 2.0, 3.0, 48.0])
    c = np.array([1, 3, 3, 55])
    out = erlang_c(lam, 1.0, c)
    assert isinstance(out, np.ndarray) and out.shape == (4,)
    for i in range(4):
        assert out[i] == pytest.approx(erlang_c(float(lam[i]), 1.0, int(c[i])))
    assert isinstance(erlang_c(2.0, 1.0, 3), float)


@pytest.mark.parametrize("args", [(-1.0, 1.0, 1), (1.0, 0.0, 1), (1.0, 1.0, 1.5), (1.0, 1.0, -1),
                                  (float("nan"), 1.0, 1)])
def test_bad_arguments(args):
    with pytest.raises(ValueError):
        erlang_c(*args)


def test_queue_summary_weights_by_arrivals():
    # two queues: one M/M/1 at rho 0.5 (Wq = 1), one idle; the idle one does not count
    q = queue_summary(np.array([0.5, 0.0]), 1.0, np.array([1, 1]), target=0.0)
    assert q["wait"] == pytest.approx(1.0)
    assert q["wait_prob"] == pytest.approx(0.5)
    assert q["within_target"] == pytest.approx(0.5)
    assert q["utilisation"] == pytest.approx(0.25)
    # an unstable queue makes the average wait infinite
    q = queue_summary(np.array([0.5, 2.0]), 1.0, np.array([1, 1]), target=1.0)
    assert q["wait"] == np.inf


queues = st.lists(st.tuples(st.floats(0.0, 20.0), st.integers(1, 12)), min_size=2, max_size=6)


@settings(max_examples=300, deadline=None)
@given(queues, st.floats(0.05, 5.0), st.floats(0.0, 30.0))
def test_pooling_never_waits_longer(qs, mu, target):
    """One pooled queue with the same total requests and staff never waits longer on average
    than separate queues; when every separate queue is stable it also makes fewer requests wait
    and answers at least as many within the target.  (When one separate queue is overloaded,
    pooling may overload all of them: the mean wait is infinite either way, but the healthy
    queue's clients lose their service level, so that case is excluded from the second part.)"""
    lam = np.array([x for x, _ in qs])
    c = np.array([k for _, k in qs])
    sep = queue_summary(lam, mu, c, target)
    pooled = queue_summary(np.array([lam.sum()]), mu, np.array([c.sum()]), target)
    assert pooled["wait"] <= sep["wait"] * (1 + 1e-9) + 1e-12
    if np.all(lam < c * mu):
        assert pooled["within_target"] >= sep["within_target"] - 1e-9
        assert pooled["wait_prob"] <= sep["wait_prob"] + 1e-9


def test_pooling_an_overloaded_queue_is_all_or_nothing():
    # separate: one overloaded, one at rho 0.5; pooled: 2.5 requests on 2 servers -> overloaded
    lam, c = np.array([2.0, 0.5]), np.array([1, 1])
    assert queue_summary(lam, 1.0, c, 0.0)["within_target"] == pytest.approx(0.1)
    assert queue_summary(np.array([2.5]), 1.0, np.array([2]), 0.0)["within_target"] == 0.0


@settings(max_examples=200, deadline=None)
@given(st.floats(0.0, 50.0), st.integers(1, 60))
def test_more_servers_never_wait_longer(load, c):
    assert erlang_c(load, 1.0, c + 1) <= erlang_c(load, 1.0, c) + 1e-12
    assert mean_wait(load, 1.0, c + 1) <= mean_wait(load, 1.0, c)
