"""Less memory at a million visits, the same numbers: ``retention.clv`` works on its (rows, months)
arrays in place (bit for bit the former new-array-per-step code, kept here as the reference), and
``pnl.covered_blocks`` / ``kpi.retention`` give the same answers on categorical and text ids."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.sections import kpi, pnl, retention


class _Fit:
    """A stand-in BG/NBD fit: p_alive and expected visits of a known closed form."""

    usable = True

    def __init__(self, a, b):
        self.a, self.b = a, b

    def p_alive(self, x, tx, T):
        return 1.0 / (1.0 + self.a * (T - tx) / (1.0 + x))

    def expected_visits_alive(self, t, x, T):
        return (x + 1.0) * np.log1p(self.b * t / (1.0 + T))


def _reference(rfm, fit, m, H, d, unit):
    """The former body of ``clv`` after the quadrature, one new array per step."""
    x, tx, T = (rfm[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    (xu, txu, Tu), pos = retention._collapse(x, tx, T)
    months = np.arange(1, max(H, 12) + 1)
    t = months * retention.DAYS_PER_MONTH / unit
    with np.errstate(all="ignore"):
        pa_u = fit.p_alive(xu, txu, Tu)
        cum = pa_u[:, None] * retention._alive_visits(fit, t, xu, Tu)
    cum = np.minimum(np.nan_to_num(cum, nan=0.0, posinf=0.0, neginf=0.0), (months * retention.DAYS_PER_MONTH)[None, :])
    cum = np.maximum.accumulate(np.maximum(cum, 0.0), axis=1)
    inc = np.diff(np.concatenate([np.zeros((len(xu), 1)), cum], axis=1), axis=1)[:, :H]
    disc = (1.0 + d) ** (-(months[:H] - 0.5) / 12.0)
    dv = (inc @ disc)[pos]
    cum0 = np.concatenate([np.zeros((len(xu), 1)), cum[:, :H]], axis=1)
    mid = 0.5 * (cum0[:, :-1] + cum0[:, 1:])
    after = (cum0[:, [-1]] - mid).mean(axis=1)[pos]
    return pa_u[pos], cum[pos, H - 1], cum[pos, 11], after, dv, dv * m


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), H=st.integers(1, 60), d=st.floats(0.0, 0.5), seed=st.integers(0, 2**31 - 1),
       a=st.floats(0.0, 3.0), b=st.floats(0.01, 50.0))
def test_clv_in_place_equals_the_former_steps_bit_for_bit(n, H, d, seed, a, b):
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 100, n).astype(float)
    tx = np.floor(T * rng.uniform(0, 1, n))
    x = np.where(tx > 0, rng.integers(1, 20, n), 0).astype(float)
    rfm = pd.DataFrame({"frequency": x, "recency": tx, "T": T})
    m = rng.gamma(2.0, 10.0, n)
    fit = _Fit(a, b)
    got = retention.clv(rfm, fit, m, H, d, 7.0)
    want = _reference(rfm, fit, m, H, d, 7.0)
    for col, w in zip(["p_alive", "expected_visits", "expected_visits_year", "visits_after_departure",
                       "discounted_visits", "clv"], want):
        np.testing.assert_array_equal(got[col].to_numpy(), w, err_msg=col)


class _T:
    def __init__(self, visits):
        self.visits = visits

    def has(self, table, col):
        return table == "visits" and col in self.visits.columns


@pytest.mark.parametrize("covers", ["all", ["b2", "zz"], ["a1"]])
def test_covered_blocks_same_on_categorical_and_text(covers):
    blocks = pd.Series(["b2", None, "a1", "b2", "c3", "a1"] * 50, dtype="str")
    study = {"care_manager.covers": covers}
    text = pnl.covered_blocks(_T(pd.DataFrame({"block": blocks})), study)
    cat = pnl.covered_blocks(_T(pd.DataFrame({"block": blocks.astype("category")})), study)
    assert text == cat
    assert text[0] == (["a1", "b2", "c3"] if covers == "all" else [b for b in covers if b != "zz"])


def test_kpi_retention_same_on_categorical_and_text_ids():
    rng = np.random.default_rng(5)
    n = 3000
    visits = pd.DataFrame({"client_id": pd.Series([f"c{i}" for i in rng.integers(0, 400, n)], dtype="str"),
                           "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 500, n), "D"),
                           "amount": rng.uniform(10, 100, n), "status": "done"})
    text = kpi.retention(visits, 90)
    cat = kpi.retention(visits.assign(client_id=visits["client_id"].astype("category")), 90)
    pd.testing.assert_frame_equal(text.by_month, cat.by_month)
    assert (text.window_days, text.new_rate, text.repeat_rate) == (cat.window_days, cat.new_rate, cat.repeat_rate)
    assert np.isfinite(text.repeat_rate) and text.by_month["repeat_clients"].sum() > 0
