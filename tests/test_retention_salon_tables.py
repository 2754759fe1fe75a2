"""The retention page prices the role on the salon's tables the kernel already holds (``salon=``)
instead of reading the study's exports a second time: the same figures either way, for the whole
salon and for covered blocks, with the runner's cached tables (ids numbered) as the notebook gets them."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.inputs import data, privacy
from analysis.inputs.study import load_study
from analysis.models import simulate
from analysis.sections import retention, summary

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def _fresh():
    """Forget the tables and role-cost inputs a previous call kept, so each path computes its own."""
    summary._TABLES_CACHE.clear()
    summary._ROLE_PREP.clear()


def _page(study, tables, salon):
    """The page's calls as notebooks/03_retention.ipynb makes them, with or without ``salon``."""
    _fresh()
    kw = {} if salon is None else {"salon": salon}
    a = retention.analyse(study, tables, **kw)
    cov = retention.covered_analysis(study, tables, analysis=a)
    d = cov.analysis
    draws = simulate.draws(study)
    sc = retention.scenarios(cov.study, cov.tables, draws, analysis=d, **kw)
    fees = retention.members_fees(cov, sc)
    src = retention.range_sources(cov.study, cov.tables, draws, d, None, **kw)
    return a, d, sc, retention.page_figures(a, d, sc, fees), src


def _runner_tables(tables, folder):
    """The tables a notebook kernel reads: the runner's cache (ids numbered, contract columns only)."""
    data.write_cache(privacy.for_cache(tables), folder)
    return data.read_cache(folder)


def _assert_same(old, new):
    a0, d0, sc0, f0, s0 = old
    a1, d1, sc1, f1, s1 = new
    assert a1.role_cost_year == a0.role_cost_year
    assert d1.role_cost_year == d0.role_cost_year
    np.testing.assert_array_equal(sc1.role_cost_year, sc0.role_cost_year)
    np.testing.assert_array_equal(sc1.incremental_margin_year, sc0.incremental_margin_year)
    assert f1.keys() == f0.keys()
    for k in f0:
        assert f1[k] == f0[k] or (f1[k] != f1[k] and f0[k] != f0[k]), k   # equal, or both NaN
    assert s1.equals(s0)


@pytest.fixture(scope="module")
def salon():
    study = load_study(ROOT / "data" / "sample")
    return study, data.load_tables(study)


def test_whole_salon_same_figures_with_the_kernels_tables(salon, tmp_path):
    study, tables = salon
    old = _page(study, tables, None)
    assert np.isfinite(old[0].role_cost_year)
    _assert_same(old, _page(study, tables, tables))
    # as in the runner's kernel: the page's tables are the cached ones (whose row order can move the
    # models' last digits), the role priced before on the exports read again, now on those tables
    kernel = _runner_tables(tables, tmp_path / "data")
    _assert_same(_page(study, kernel, None), _page(study, kernel, kernel))


def test_covered_blocks_priced_on_the_whole_salon(salon, tmp_path):
    """Two of the sample's five blocks covered: the covered analysis' role cost is still priced on
    the whole salon's tables, not on the covered subset."""
    _, tables = salon
    blocks = sorted(tables.visits["block"].astype(str).unique())
    study = load_study(ROOT / "data" / "sample", {"care_manager": {"covers": blocks[:2]}})
    cov = retention.covered_analysis(study, tables)
    assert cov.narrowed and cov.tables is not tables
    _assert_same(_page(study, tables, None), _page(study, tables, tables))
    kernel = _runner_tables(tables, tmp_path / "data")
    new = _page(study, kernel, kernel)
    _assert_same(_page(study, kernel, None), new)
    assert np.isfinite(new[1].role_cost_year) and new[1] is not new[0]


def test_forgetting_the_role_cost_caches_between_notebooks_changes_no_figure(salon):
    """``memory.release(forget=True)`` (the reset cell between notebooks) empties the role cost's
    per-notebook caches; pricing again gives the same numbers."""
    from analysis.run import memory

    study, tables = salon
    _fresh()
    d = simulate.draws(study)
    first = summary.role_cost(study, tables, d)
    assert summary._ROLE_PREP
    memory.release(forget=True)
    assert not summary._ROLE_PREP and not summary._TABLES_CACHE
    again = summary.role_cost(study, tables, d)
    for k in first:
        np.testing.assert_array_equal(np.asarray(again[k]), np.asarray(first[k]))
