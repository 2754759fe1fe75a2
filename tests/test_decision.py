"""The decision layer: NPV is the discounted sum of its parts (hand-checked), payback, verdict."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from analysis.sections import decision


def test_npv_hand_checked_case():
    # 3 months; staff saving 10/month, role cost 20/month, retention 1,200 a year reached over
    # 2 months (ramp 0.5, 1, 1 -> 50, 100, 100), no departures effect, setup 30 in month 1.
    # Cash flows: 10+50-20-30 = 10, 10+100-20 = 90, 90.
    flows = decision.monthly_flows(10, 20, 1200, 0, 30, horizon_months=3, ramp_months=2)
    undiscounted = decision.npv(flows, 0.0)
    assert undiscounted.npv[0] == pytest.approx(10 + 90 + 90)
    # at 10% a year, month m is discounted by 1.1 ** (-m / 12): 0.992089, 0.984240, 0.976454
    r = decision.npv(flows, 0.10)
    assert r.npv[0] == pytest.approx(10 * 0.992089 + 90 * 0.984240 + 90 * 0.976454, abs=1e-3)
    assert r.npv[0] == pytest.approx(186.3834, abs=1e-3)
    # the parts add up to the whole
    assert sum(v[0] for v in r.parts.values()) == pytest.approx(r.npv[0])
    assert r.parts["staff_saving"][0] == pytest.approx(10 * (0.992089 + 0.984240 + 0.976454), abs=1e-4)
    assert r.parts["setup"][0] == pytest.approx(-30 * 0.992089, abs=1e-4)
    assert r.payback_month == 1


def test_payback_month():
    assert decision.payback_month([-5, -2, 1, 3]) == 3
    assert decision.payback_month([-5, 1, -1, 2]) == 4  # must stay non-negative
    assert decision.payback_month([1, 2]) == 1
    assert decision.payback_month([-3, -2, -1]) == -1


def test_payback_with_setup_cost():
    flows = decision.monthly_flows(0, 0, 1200, 0, 250, horizon_months=12, ramp_months=0)
    r = decision.npv(flows, 0.0)  # 100 a month against 250 up front: positive from month 3
    assert r.payback_month == 3
    assert r.cumulative_median[-1] == pytest.approx(1200 - 250)


def test_ramp():
    np.testing.assert_allclose(decision.ramp(4, [0, 2, 8])[:, :4],
                               [[1, 1, 1, 1], [0.5, 1, 1, 1], [0.125, 0.25, 0.375, 0.5]])


def test_verdict_thresholds():
    assert decision.verdict(0.8) == "create"
    assert decision.verdict(0.5) == "pilot"
    assert decision.verdict(0.1) == "do_not_create"


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=5, max_size=5), st.floats(0, 0.5), st.integers(1, 60))
def test_parts_always_add_up_and_discounting_shrinks(values, rate, horizon):
    save, cost, ret, dep, setup = values
    flows = decision.monthly_flows(save, abs(cost), ret, dep, abs(setup), horizon, 3)
    r = decision.npv(flows, rate)
    assert sum(r.parts.values())[0] == pytest.approx(r.npv[0], rel=1e-9, abs=1e-6)
    plain = decision.npv(flows, 0.0)
    for k in decision.PARTS:
        assert abs(r.parts[k][0]) <= abs(plain.parts[k][0]) + 1e-6


def test_retention_gain_follows_the_model_profile_and_the_ramp_once():
    H = 12
    even = np.full(H, 1.0 / H)
    rm = np.array([0.0, 4.0])
    # an even profile gives back the plain ramp
    np.testing.assert_allclose(decision.ramped_profile(np.array([12.0, 12.0]), decision.ramp(H, rm), even),
                               decision.ramp(H, rm))
    # a building-up profile: no ramp gives the profile itself; the ramp delays it by superposition
    w = np.arange(1, H + 1, dtype=float)
    w /= w.sum()
    flows = decision.monthly_flows(0, 0, [12.0, 12.0], 0, 0, H, rm, retention_profile=w)["retention"]
    np.testing.assert_allclose(flows[0], 12.0 * w)
    ramp = decision.ramp(H, [4.0])[0]
    steps = np.diff(np.r_[0.0, ramp])
    hand = [sum(steps[k] * w[m - k] for k in range(m + 1)) * 12.0 for m in range(H)]
    np.testing.assert_allclose(flows[1], hand)
    assert flows[1].sum() < flows[0].sum()          # the ramp only delays, applied once


def test_part_npvs_equal_the_discounted_monthly_flows():
    rng = np.random.default_rng(3)
    n, H = 50, 36
    args = (rng.uniform(0, 1e5, n), rng.uniform(0, 1e5, n), rng.uniform(0, 1e6, n), rng.uniform(0, 1e5, n),
            rng.uniform(0, 2e5, n))
    ramp_months = rng.choice([0.0, 3.0, 6.5, 12.0], n)
    profile = rng.uniform(0, 1, H)
    profile /= profile.sum()
    per_scenario = rng.uniform(0, 1, (n, H))          # one timing profile per scenario (its own effect)
    per_scenario /= per_scenario.sum(axis=1, keepdims=True)
    for prof in (None, profile, per_scenario):
        full = decision.npv(decision.monthly_flows(*args, H, ramp_months, prof), 0.12)
        fast = decision.part_npvs(*args, H, ramp_months, 0.12, prof)
        assert set(fast) == set(decision.PARTS)
        for k in decision.PARTS:
            np.testing.assert_allclose(fast[k], full.parts[k], rtol=1e-10, atol=1e-6)
    only = decision.part_npvs(*args, H, ramp_months, 0.12, profile, only=["retention"])
    assert set(only) == {"retention"}


def test_one_profile_per_scenario_is_that_scenarios_own_timing():
    # scenario s of a per-scenario profile gives exactly what the single profile w[s] gives alone
    rng = np.random.default_rng(11)
    n, H = 6, 18
    w = rng.uniform(0, 1, (n, H))
    w /= w.sum(axis=1, keepdims=True)
    total = rng.uniform(1, 5, n)
    rm = rng.choice([0.0, 2.0, 5.5], n)
    both = decision.ramped_profile(total, decision.ramp(H, rm), w)
    for s in range(n):
        alone = decision.ramped_profile(total[s:s + 1], decision.ramp(H, rm[s:s + 1]), w[s])
        np.testing.assert_allclose(both[s], alone[0], rtol=1e-12)
    # one row repeated is the single profile; a scalar ramp broadcasts against the profiles
    same = decision.part_npvs(0, 0, total, 0, 0, H, 3.0, 0.1, np.tile(w[0], (n, 1)))["retention"]
    np.testing.assert_allclose(same, decision.part_npvs(0, 0, total, 0, 0, H, 3.0, 0.1, w[0])["retention"],
                               rtol=1e-12)
