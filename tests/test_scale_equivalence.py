"""The faster paths of a big study give what the plain computation gave.

* ``staffing.client_profile`` counts on integer codes of clients and blocks: compared, on random
  visit tables (blocks missing, statuses, cancelled rows, covered blocks, no block column), with the
  computation on the names it replaced (kept below as the reference);
* ``kpi.completed(visits, columns)`` is ``completed(visits)[columns]``: the same rows;
* ``data.read_cache(..., categories=True)``: the same values as written, ids and names as
  categoricals with sorted categories.
"""
import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from analysis.errors import InputError
from analysis.inputs import data
from analysis.inputs.data import Tables
from analysis.sections import kpi, staffing


def _reference_profile_counts(visits, covers="all", window_months=3):
    """The counting of ``client_profile`` as it was written on the names (before the codes)."""
    v = visits
    if "status" in v.columns:
        v = v[v["status"].fillna("done").astype(str) == "done"]
    has_blocks = "block" in v.columns and v["block"].notna().any()
    cols = ["client_id", "date"] + (["block"] if has_blocks else [])
    v = v[cols].dropna()
    if not has_blocks:
        v = v.assign(block=staffing.SALON_BLOCK)
    v = v.assign(block=v["block"].astype(str), client_id=v["client_id"].astype(str))
    if has_blocks and covers != "all":
        v = v[v["block"].isin([str(b) for b in covers])]
    dates = pd.to_datetime(v["date"])
    m = (dates.dt.year * 12 + dates.dt.month - 1).to_numpy()
    base = pd.DataFrame({"client_id": v["client_id"].to_numpy(), "block": v["block"].to_numpy(),
                         "m": m}).drop_duplicates()
    w = max(int(window_months), 1)
    expanded = pd.concat([base.assign(m=base["m"] + i) for i in range(w)], ignore_index=True)
    m_first, m_last = int(m.min()), int(m.max())
    lo = m_first + w - 1 if m_last - m_first + 1 >= w else m_first
    expanded = expanded[(expanded["m"] >= lo) & (expanded["m"] <= m_last)].drop_duplicates()
    months = np.arange(lo, m_last + 1)
    blocks_all = sorted(expanded["block"].unique())
    by_block = (expanded.groupby(["m", "block"]).size()
                .unstack("block").reindex(index=months, columns=blocks_all).fillna(0.0))
    per_client = expanded.groupby(["m", "client_id"]).size()
    distinct = per_client.groupby(level="m").size().reindex(months, fill_value=0).astype(float)
    first = base.groupby("client_id")["m"].min()
    first_block = base.groupby(["client_id", "block"])["m"].min().reset_index()
    new = first.value_counts().reindex(months, fill_value=0).astype(float)
    new_block = (first_block.groupby(["m", "block"]).size().unstack("block")
                 .reindex(index=months, columns=blocks_all).fillna(0.0))
    return by_block, distinct, new, new_block, per_client


def _random_visits(seed, n, with_status=True, with_block=True, block_nan=0.0):
    rng = np.random.default_rng(seed)
    blocks = np.array(["spa", "hair", "nails", "Cosmetology", "ёлка"])
    df = pd.DataFrame({
        "client_id": pd.array([f"c{i}" for i in rng.integers(0, max(2, n // 3), n)], dtype="str"),
        "date": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 400, n), unit="D"),
        "amount": rng.integers(1, 50, n) * 100.0,
    })
    if with_block:
        b = pd.array(blocks[rng.integers(0, len(blocks), n)], dtype="str")
        b[rng.random(n) < block_nan] = pd.NA
        df["block"] = b
    if with_status:
        df["status"] = pd.array(np.array(["done", "done", "done", "cancelled", "no_show"])[rng.integers(0, 5, n)],
                                dtype="str")
    return df


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 400), with_status=st.booleans(), with_block=st.booleans(),
       block_nan=st.sampled_from([0.0, 0.2]), covers=st.sampled_from(["all", ["spa"], ["hair", "ёлка", "gone"]]),
       window=st.integers(1, 4))
# the one completed visit has no block; a block shows only on a no-show row: the salon counts as one block
@example(seed=28, n=2, with_status=True, with_block=True, block_nan=0.2, covers="all", window=1)
@example(seed=28, n=2, with_status=True, with_block=True, block_nan=0.2, covers=["spa"], window=1)
def test_client_profile_counts_as_on_the_names(seed, n, with_status, with_block, block_nan, covers, window):
    v = _random_visits(seed, n, with_status, with_block, block_nan)
    try:
        ref = _reference_profile_counts(v, covers, window)
    except (ValueError, KeyError):  # nothing left to count: the new code must refuse too
        with pytest.raises(InputError):
            staffing.client_profile(v, covers, window)
        return
    got = staffing.client_profile(v, covers, window)  # visits to count: never refused
    by_block, distinct, new, new_block, per_client = ref
    typical = by_block.index[-3:]
    mean = by_block.loc[typical].mean(axis=0)
    kept = [b for b in by_block.columns if mean[b] > 0]
    assert got.blocks == tuple(kept)
    assert got.dropped_blocks == tuple(b for b in by_block.columns if mean[b] <= 0)
    np.testing.assert_array_equal(got.block_clients_month, mean[kept].to_numpy(float))
    assert got.clients_month == float(distinct.loc[typical].mean())
    assert got.new_clients_month == float(new.loc[typical].mean())
    np.testing.assert_array_equal(got.block_new_clients_month, new_block.loc[typical, kept].mean(axis=0).to_numpy(float))
    np.testing.assert_array_equal(got.monthly_clients["active_clients"].to_numpy(), distinct.to_numpy())
    np.testing.assert_array_equal(got.monthly_clients["new_clients"].to_numpy(), new.to_numpy())
    wide = got.monthly.pivot(index="month", columns="block", values="active_clients")
    assert list(wide.columns) == list(by_block.columns)
    np.testing.assert_array_equal(wide.to_numpy(), by_block.to_numpy())


def test_client_profile_known_answer_with_codes():
    # two clients; c1 in hair and spa in January, c2 in hair in February; window of one month
    v = pd.DataFrame({"client_id": ["c1", "c1", "c2", "c2"], "block": ["spa", "hair", "hair", "hair"],
                      "date": pd.to_datetime(["2024-01-05", "2024-01-09", "2024-02-03", "2024-02-04"]),
                      "status": ["done", "done", "done", "cancelled"]})
    p = staffing.client_profile(v, window_months=1, typical_months=2)
    assert p.blocks == ("hair", "spa")
    np.testing.assert_array_equal(p.block_clients_month, [1.0, 0.5])
    assert p.clients_month == 1.0 and p.new_clients_month == 1.0
    np.testing.assert_array_equal(p.blocks_per_client, [0.5, 0.5])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 200), with_status=st.booleans(),
       cols=st.sampled_from([("client_id", "date", "amount"), ("date",), ("block", "amount"), ("status", "date")]))
def test_completed_with_columns_is_a_selection_of_completed(seed, n, with_status, cols):
    v = _random_visits(seed, n, with_status)
    want = kpi.completed(v)
    got = kpi.completed(v, cols)
    pd.testing.assert_frame_equal(got, want[[c for c in v.columns if c in cols]])


def test_read_cache_categories_keep_the_values(tmp_path):
    v = _random_visits(5, 300, block_nan=0.1)
    v["visit_id"] = pd.array([f"v{i}" for i in range(len(v))], dtype="str")
    v["specialist_id"] = pd.array(np.where(np.arange(len(v)) % 7 == 0, None, "S10"), dtype="str")
    staff = pd.DataFrame({"specialist_id": pd.array(["S10", "S02"], dtype="str"),
                          "block": pd.array(["spa", "hair"], dtype="str")})
    t = Tables(visits=v, staff=staff)
    data.write_cache(t, tmp_path)
    plain = data.read_cache(tmp_path)
    cat = data.read_cache(tmp_path, categories=True)
    pd.testing.assert_frame_equal(plain.visits, v)
    for name in ("visits", "staff"):
        a, b = getattr(plain, name), getattr(cat, name)
        assert list(a.columns) == list(b.columns)
        for c in a.columns:
            if c in ("client_id", "block", "status", "specialist_id"):
                assert isinstance(b[c].dtype, pd.CategoricalDtype), c
                cats = list(b[c].cat.categories)
                assert cats == sorted(cats)
            else:
                assert b[c].dtype == a[c].dtype, c
            assert a[c].astype(object).where(a[c].notna(), None).tolist() == \
                b[c].astype(object).where(b[c].notna(), None).tolist(), c
    # grouping by a sorted categorical orders the groups as the text does
    g1 = plain.visits.groupby("block", observed=True)["amount"].sum()
    g2 = cat.visits.groupby("block", observed=True)["amount"].sum()
    assert list(g1.index) == list(g2.index) and np.array_equal(g1.to_numpy(), g2.to_numpy())


# --------------------------------------------------------------------------- late notebooks go where their fits are


def test_memo_names_are_read_from_the_notebooks():
    from analysis.run.report import memo_names, project_root

    nbs = {p.stem: memo_names(p) for p in (project_root() / "notebooks").glob("*.ipynb")}
    assert "staffing_analysis" in nbs["02_staffing"] and "retention_analysis" in nbs["03_retention"]
    assert {"retention_analysis", "staffing_analysis", "pilot_analysis"} <= nbs["05_summary"]
    assert "staffing_analysis" in nbs["06_role_profile"] and not nbs["01_data_check"]


def test_a_late_notebook_goes_to_the_kernel_holding_its_fits():
    from collections import deque
    from pathlib import Path

    from analysis.run import report
    from analysis.run.scheduler import _Memos

    summary, role = Path("05_summary.ipynb"), Path("06_role_profile.ipynb")
    names = {summary: frozenset({"retention_analysis", "pilot_analysis", "staffing_analysis"}),
             role: frozenset({"staffing_analysis", "role_cost"})}
    old = dict(report._MEMO_NAMES)
    report._MEMO_NAMES.update({str(k): v for k, v in names.items()})
    try:
        m, a, b = _Memos(), object(), object()
        m.ran(a, 0, {"staffing_analysis"}, 4.0)
        m.ran(a, 0, {"pilot_analysis"}, 9.0)
        m.ran(b, 0, {"retention_analysis"}, 30.0)
        # kernel a is free first: the summary would reuse 13 s here but 30 s on b, so a takes the role profile
        q = deque([summary, role])
        assert m.pick(a, 0, q) == role and list(q) == [summary]
        assert m.pick(b, 0, q) == summary and not q and m.pick(b, 0, q) is None
        # another study's fits do not count; ties keep the queue's order
        q = deque([summary, role])
        assert m.gain(a, 1, names[summary]) == 0.0 and m.pick(a, 1, q) == summary
        # a kernel that runs another study's notebook with fits holds that study's only
        m.ran(a, 1, {"staffing_analysis"}, 2.0)
        assert m.gain(a, 0, names[role]) == 0.0 and m.gain(a, 1, names[role]) == 2.0
    finally:
        report._MEMO_NAMES.clear()
        report._MEMO_NAMES.update(old)


# --------------------------------------------------------------------------- P&L baseline in one pass


def test_baseline_sources_as_from_their_own_passes():
    from analysis.inputs.study import load_study
    from analysis.run.report import project_root
    from analysis.sections import pnl
    import dataclasses

    study = load_study(project_root() / "data" / "sample")
    tables = data.load_tables(study)
    study = pnl.localise(study, tables)
    for t in (tables, dataclasses.replace(tables, memberships=None, staff=None)):
        b = pnl.baseline(t, study)
        _, sources = pnl._visit_costs(t, study)
        months = pd.PeriodIndex(b.monthly["month"], freq="M")
        assert b.sources == {**sources, "fixed_pay": "staff" if t.has("staff", "monthly_fixed_pay") else "none",
                             "memberships": pnl.membership_fees(t, months)[1] or "none"}
        pd.testing.assert_frame_equal(pnl.monthly_pnl(t, study), pnl._monthly_pnl(t, study)[0])


# --------------------------------------------------------------------------- memory given back between notebooks


def test_release_keeps_every_value_and_the_reset_cell_binds_nothing():
    import pyarrow as pa

    from analysis.run import memory
    from analysis.run.report import RESET_SOURCE

    df = pd.DataFrame({"a": np.arange(100_000, dtype=float), "b": pd.array(["x", "y"] * 50_000, dtype="str")})
    arr = pa.array(np.arange(10))
    before = df.copy()
    for _ in range(2):
        memory.release()
    pd.testing.assert_frame_equal(df, before)
    assert arr.to_pylist() == list(range(10))
    first, second = RESET_SOURCE.splitlines()
    assert first == "get_ipython().run_line_magic('reset', '-f')"
    namespace: dict = {}
    exec(second, namespace)  # what the kernel runs after the reset: no name left behind
    assert set(namespace) == {"__builtins__"}


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.sampled_from(["c1", "c2", "ё3", "", "c10"])), max_size=30),
       wanted=st.lists(st.one_of(st.none(), st.sampled_from(["c1", "ё3", "", "x"])), max_size=10))
def test_isin_of_text_as_pandas(values, wanted):
    from analysis.sections import pnl

    v = pd.Series(values, dtype="str")
    w = pd.Series(wanted, dtype="str")
    want = v.isin(set(w.dropna())).to_numpy(dtype=bool)
    np.testing.assert_array_equal(pnl._isin(v, w), want)
    np.testing.assert_array_equal(pnl._isin(v.astype(object), w.astype(object).dropna()), want)
