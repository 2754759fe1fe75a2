"""Known answers for the descriptive KPIs on small hand-made tables."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.sections import kpi
from analysis.inputs.data import Tables, load_tables
from analysis.inputs.study import load_study

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"


def V(rows, cols=("client_id", "date", "amount")):
    df = pd.DataFrame(rows, columns=list(cols))
    df["date"] = pd.to_datetime(df["date"])
    if "status" not in df:
        df["status"] = "done"
    return df


class _Study:
    def __init__(self, **kw):
        self.kw = kw

    def get(self, key, default=None):
        return self.kw.get(key, default)


# --------------------------------------------------------------------------- margin


def test_visit_margin_uses_visit_consumables_and_staff_commission():
    v = V([("a", "2024-01-01", 1000, 100, "s1", "done"), ("a", "2024-01-02", 2000, 150, "s2", "done"),
           ("b", "2024-01-03", 500, 50, "s1", "cancelled")],
          ("client_id", "date", "amount", "consumables_cost", "specialist_id", "status"))
    v.loc[2, "amount"] = 0.0
    staff = pd.DataFrame({"specialist_id": ["s1", "s2"], "block": ["hair", "hair"], "commission_rate": [0.4, np.nan]})
    m = kpi.visit_margin(Tables(visits=v, staff=staff), _Study(**{"economics.commission_rate": 0.5}))
    # 1000 - 100 - 0.4*1000 = 500 ; 2000 - 150 - 0.5*2000 (fallback rate) = 850 ; cancelled = 0
    assert m.tolist() == [500.0, 850.0, 0.0]


def test_visit_margin_falls_back_to_services_then_share():
    v = V([("a", "2024-01-01", 1000, "Cut"), ("a", "2024-01-02", 2000, "Colour")],
          ("client_id", "date", "amount", "service"))
    services = pd.DataFrame({"service": ["Cut"], "block": ["hair"], "price": [1000], "consumables_cost": [80.0]})
    m = kpi.visit_margin(Tables(visits=v, services=services),
                         _Study(**{"economics.commission_rate": 0.4, "economics.consumables_share": 0.1}))
    # Cut: 1000 - 80 - 400 = 520 ; Colour (not in services): 2000 - 0.1*2000 - 800 = 1000
    assert m.tolist() == [520.0, 1000.0]


def test_visit_margin_reads_the_study_defaults():
    t = load_tables(load_study(ROOT / "tests" / "fixtures" / "cp1251_export"))
    m = kpi.visit_margin(t, load_study(ROOT / "tests" / "fixtures" / "cp1251_export"))
    # defaults: commission 0.40, consumables 0.10 -> margin = 0.5 * amount
    assert np.allclose(m, 0.5 * t.visits["amount"])


def test_regulars_margin_share_known_answer():
    # a: 3 visit days (regular), b: 2 days (two rows on one day count once), c: 1 day
    v = V([("a", "2024-01-01", 0), ("a", "2024-02-01", 0), ("a", "2024-03-01", 0),
           ("b", "2024-01-05", 0), ("b", "2024-01-05", 0), ("b", "2024-02-05", 0), ("c", "2024-01-09", 0)])
    margin = pd.Series([100, 100, 100, 50, 50, 50, 50], dtype=float)
    r = kpi.regulars_margin_share(v, margin, min_visit_days=3)
    # margins per client: a 300, b 150, c 50 (total 500); only a is regular
    assert r.share == pytest.approx(300 / 500)
    assert r.clients_share == pytest.approx(1 / 3)
    assert r.pareto["margin_share"].tolist() == pytest.approx([0, 300 / 500, 450 / 500, 1.0])
    assert r.pareto["client_share"].tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1.0])
    assert r.top20_share == pytest.approx(300 / 500)  # ceil(0.2 * 3) = 1 client
    r2 = kpi.regulars_margin_share(v, margin, min_visit_days=2)
    assert r2.share == pytest.approx(450 / 500)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 40), st.floats(0, 1000)), min_size=1, max_size=40))
def test_pareto_curve_is_monotone_and_ends_at_one(rows):
    v = V([(f"c{c}", pd.Timestamp("2024-01-01") + pd.Timedelta(days=d), 0) for c, d, _ in rows])
    margin = pd.Series([m for *_, m in rows], dtype=float)
    if margin.sum() <= 0:
        return
    r = kpi.regulars_margin_share(v, margin)
    ms = r.pareto["margin_share"].to_numpy()
    assert np.all(np.diff(ms) >= -1e-12) and ms[-1] == pytest.approx(1.0)
    assert 0 <= r.share <= 1 + 1e-12
    # the top k clients hold at least k/n of the margin
    assert np.all(ms >= r.pareto["client_share"].to_numpy() - 1e-9)


# --------------------------------------------------------------------------- period, volumes


def test_period_and_month_block_volumes():
    v = V([("a", "2024-01-30", 100, "hair"), ("a", "2024-01-30", 50, "nails"), ("b", "2024-01-02", 70, "hair"),
           ("b", "2024-03-01", 30, "hair"), ("c", "2024-03-02", 10, "hair")], ("client_id", "date", "amount", "block"))
    v.loc[4, "status"] = "no_show"
    p = kpi.period(v)
    assert (p.first, p.last, p.months, p.days) == (pd.Timestamp("2024-01-02"), pd.Timestamp("2024-03-01"), 3, 60)
    m = kpi.by_month_block(v).set_index(["month", "block"])
    assert m.loc[(pd.Timestamp("2024-01-01"), "hair")].tolist() == [2, 2, 170]
    assert m.loc[(pd.Timestamp("2024-01-01"), "nails")].tolist() == [1, 1, 50]
    assert m.loc[(pd.Timestamp("2024-03-01"), "hair")].tolist() == [1, 1, 30]


def test_membership_months():
    m = pd.DataFrame({"client_id": ["a", "b", "c"],
                      "start": pd.to_datetime(["2024-01-15", "2024-02-01", "2024-01-01"]),
                      "end": pd.to_datetime(["2024-02-14", None, "2024-01-31"]),
                      "price_per_period": [3000.0, 2000.0, 12000.0], "period": ["month", "month", "year"]})
    out = kpi.membership_months(m, "2024-01-01", "2024-03-31")
    assert out["members"].tolist() == [2, 2, 1]
    assert out["revenue"].tolist() == [3000 + 1000, 3000 + 2000, 2000]


# --------------------------------------------------------------------------- retention


def test_new_and_repeat_retention_known_answer():
    rows = [
        # January new clients: a returns after 20 days, b after 100 days (not within 90), c never
        ("a", "2024-01-05"), ("a", "2024-01-25"), ("a", "2024-03-10"),
        ("b", "2024-01-10"), ("b", "2024-04-19"),
        ("c", "2024-01-20"),
        # d: new in February, back in February (same month) and again 10 days later
        ("d", "2024-02-01"), ("d", "2024-02-20"), ("d", "2024-03-01"),
        ("z", "2024-12-31"),  # data end
    ]
    v = V([(c, d, 100) for c, d in rows])
    r = kpi.retention(v, window_days=90)
    jan, feb, mar = (r.by_month.loc[pd.Timestamp(x)] for x in ("2024-01-01", "2024-02-01", "2024-03-01"))
    assert (jan["new_clients"], jan["new_returned"]) == (3, 1)
    assert (feb["new_clients"], feb["new_returned"]) == (1, 1)
    # repeat clients of January: none (all new). February: a? no visit in Feb. d's Feb 20 is its own
    # first month -> not repeat. March: a (last Mar 10, never back), d (Mar 1, never back).
    assert feb["repeat_clients"] == 0
    assert (mar["repeat_clients"], mar["repeat_returned"]) == (2, 0)
    # b came back on Apr 19 (its last April visit, nothing after) -> April repeat 1, not returned
    assert r.by_month.loc[pd.Timestamp("2024-04-01"), "repeat_clients"] == 1
    assert r.new_rate == pytest.approx(2 / 4)
    assert r.repeat_rate == pytest.approx(0 / 3)
    # December is incomplete (no 90 days after it)
    assert not r.by_month.loc[pd.Timestamp("2024-12-01"), "complete"]
    assert r.by_month.loc[pd.Timestamp("2024-09-01"), "complete"]


def test_retention_window_is_configurable_and_inclusive():
    v = V([("a", "2024-01-01", 1), ("a", "2024-01-31", 1), ("z", "2024-12-31", 1)])
    assert kpi.retention(v, 30).new_rate == 1.0
    assert kpi.retention(v, 29).new_rate == 0.0


def test_repeat_retention_from_the_last_visit_of_the_month():
    v = V([("a", "2023-12-01", 1), ("a", "2024-01-02", 1), ("a", "2024-01-30", 1), ("a", "2024-03-20", 1),
           ("z", "2024-12-31", 1)])
    r = kpi.retention(v, 60)
    jan = r.by_month.loc[pd.Timestamp("2024-01-01")]
    # last January visit Jan 30 -> next Mar 20 = 50 days -> returned
    assert (jan["repeat_clients"], jan["repeat_returned"]) == (1, 1)


def test_clients_first_visit_marks_old_clients_as_repeat():
    v = V([("a", "2024-01-05", 1), ("a", "2024-02-01", 1), ("b", "2024-01-06", 1), ("z", "2024-12-31", 1)])
    fv = pd.Series(pd.to_datetime(["2022-05-01"]), index=["a"])
    r = kpi.retention(v, 90, first_visit=fv)
    jan = r.by_month.loc[pd.Timestamp("2024-01-01")]
    assert (jan["new_clients"], jan["repeat_clients"], jan["repeat_returned"]) == (1, 1, 1)


def test_cancelled_visits_do_not_count_as_returns():
    v = V([("a", "2024-01-05", 1), ("a", "2024-01-20", 0), ("z", "2024-12-31", 1)])
    v.loc[1, "status"] = "cancelled"
    assert kpi.retention(v, 90).new_rate == 0.0


def test_cohort_matrix():
    v = V([("a", "2024-01-05", 1), ("a", "2024-02-05", 1), ("b", "2024-01-09", 1), ("b", "2024-03-01", 1),
           ("c", "2024-02-02", 1)])
    c = kpi.cohort_matrix(v, max_months=2)
    assert c.loc[pd.Timestamp("2024-01-01"), [0, 1, 2]].tolist() == [1.0, 0.5, 0.5]
    assert c.loc[pd.Timestamp("2024-01-01"), "clients"] == 2
    feb = c.loc[pd.Timestamp("2024-02-01")]
    assert feb[0] == 1.0 and feb[1] == 0.0 and np.isnan(feb[2])  # April is after the data end


# --------------------------------------------------------------------------- frequency, ticket, blocks


def test_frequency_and_ticket():
    v = V([("a", "2024-01-01", 100, "hair"), ("a", "2024-01-01", 50, "nails"), ("a", "2024-01-11", 100, "hair"),
           ("b", "2024-01-05", 300, "spa"), ("b", "2024-12-30", 100, "spa")], ("client_id", "date", "amount", "block"))
    f = kpi.frequency(v)
    # last 365 days (2024-01-01 .. 2024-12-30 covers all but none excluded: > 2023-12-31): 4 visit days, 2 clients
    assert f.visits_per_client_year == pytest.approx(2.0)
    assert f.median_days_between == pytest.approx((10 + 360) / 2)
    t = kpi.avg_ticket(v).set_index("block")
    assert t.loc["all", "avg_ticket"] == pytest.approx(650 / 4)  # 150, 100, 300, 100 per visit day
    assert t.loc["hair", "avg_ticket"] == pytest.approx(100)
    b = kpi.blocks_per_client(v).set_index("blocks")
    assert b.loc[2, "clients"] == 1 and b.loc[1, "clients"] == 1


def test_frequency_annualises_short_data():
    v = V([("a", "2024-01-01", 1), ("a", "2024-03-01", 1)])  # 61 days
    assert kpi.frequency(v).visits_per_client_year == pytest.approx(2 * 365 / 61)


# --------------------------------------------------------------------------- specialists


def test_attachment_known_answer():
    v = V([("a", "2024-01-01", 1, "hair", "s1"), ("a", "2024-02-01", 1, "hair", "s1"),
           ("a", "2024-03-01", 1, "hair", "s2"), ("a", "2024-01-05", 1, "nails", "n1"),
           ("b", "2024-01-01", 1, "hair", "s2"), ("b", "2024-02-01", 1, "hair", "s1"),
           ("c", "2024-01-01", 1, "nails", "n1"), ("c", "2024-02-01", 1, "nails", "n1")],
          ("client_id", "date", "amount", "block", "specialist_id"))
    a = kpi.attachment(v, min_visits=2)
    per = a.per_pair.set_index(["client_id", "block"])
    assert per.loc[("a", "hair"), "top_share"] == pytest.approx(2 / 3)
    assert per.loc[("b", "hair"), "top_share"] == pytest.approx(0.5)
    assert ("a", "nails") not in per.index  # one visit only
    assert a.mean == pytest.approx((2 / 3 + 0.5 + 1.0) / 3)
    assert a.attached_share == pytest.approx(2 / 3)  # more than half: a-hair and c-nails


def test_gini_known_answers():
    assert kpi.gini([1, 1, 1, 1]) == pytest.approx(0.0)
    assert kpi.gini([0, 0, 0, 1]) == pytest.approx(0.75)  # (n-1)/n for one taking all
    x = np.array([1.0, 2.0, 3.0, 4.0])
    brute = np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())
    assert kpi.gini(x) == pytest.approx(brute)
    assert np.isnan(kpi.gini([5.0]))


def test_load_spread_with_staff_dates():
    v = V([("a", "2024-01-01", 1, "hair", "s1"), ("b", "2024-01-01", 1, "hair", "s1"),
           ("c", "2024-01-02", 1, "hair", "s1"), ("d", "2024-01-10", 1, "hair", "s2")],
          ("client_id", "date", "amount", "block", "specialist_id"))
    staff = pd.DataFrame({"specialist_id": ["s1", "s2"], "block": ["hair", "hair"],
                          "hired": pd.to_datetime(["2020-01-01", "2024-01-06"]),
                          "left": pd.to_datetime([None, None])})
    ls = kpi.load_spread(v, staff)
    per = ls.per_specialist.set_index("specialist_id")
    # period 2024-01-01..2024-01-10: s1 available 10 days, 3 visits on 2 days; s2 from Jan 6: 5 days
    assert per.loc["s1", "days_available"] == 10 and per.loc["s2", "days_available"] == 5
    assert per.loc["s1", "visits_per_day"] == pytest.approx(1.5)
    assert per.loc["s1", "visits_per_available_day"] == pytest.approx(0.3)
    assert per.loc["s2", "visits_per_available_day"] == pytest.approx(0.2)
    assert ls.gini == pytest.approx(kpi.gini([0.3, 0.2]))


# --------------------------------------------------------------------------- on the sample


@pytest.fixture(scope="module")
def sample_tables():
    return load_tables(load_study(SAMPLE))


def test_sample_retention_is_calibrated(sample_tables):
    """The bundled sample reproduces the industry benchmarks it was calibrated to."""
    r = kpi.retention(sample_tables.visits, 90)
    assert 0.2 <= r.new_rate <= 0.4      # Phorest ~30 %, SalonToday 28–33 %
    assert 0.6 <= r.repeat_rate <= 0.85  # Phorest 68 %, Crystal Focus 79 %


def test_sample_attachment_and_margin(sample_tables):
    import yaml

    truth = yaml.safe_load((SAMPLE / "ground_truth.yaml").read_text(encoding="utf-8"))
    a = kpi.attachment(sample_tables.visits)
    # a visit goes to the favourite with probability `loyalty`; top share is at least that on average
    assert truth["loyalty"] - 0.05 <= a.mean <= 1.0
    m = kpi.visit_margin(sample_tables, load_study(SAMPLE))
    done = sample_tables.visits["status"] == "done"
    ratio = m[done].sum() / sample_tables.visits.loc[done, "amount"].sum()
    # margin = 1 - consumables (8-15 %) - commission (35-50 %)
    assert 0.35 <= ratio <= 0.57


# --------------------------------------------------------------------------- the report notebook

NOTEBOOK = ROOT / "notebooks" / "01_data_check.ipynb"
RECORDED = ["clients", "visits", "revenue", "period_months", "new_client_retention", "repeat_client_retention",
            "avg_ticket", "visits_per_client_year", "blocks_per_client_mean", "attachment_mean", "load_gini",
            "regulars_margin_share"]


def test_notebook_is_stored_clean_and_bilingual():
    import nbformat

    nb = nbformat.read(NOTEBOOK, 4)
    assert nb.cells[0].metadata.get("tags") == ["parameters"]
    for c in nb.cells:
        if c.cell_type == "code":
            assert not c.get("outputs") and c.get("execution_count") is None
            assert "def " not in c.source and "class " not in c.source
    md = [c for c in nb.cells if c.cell_type == "markdown"]
    tags = [c.metadata.get("tags", []) for c in md]
    assert sum(["lang-en"] == t for t in tags) == sum(["lang-ru"] == t for t in tags) == len(md) // 2


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "ru"])
def test_notebook_runs_on_bare_visits_and_records_its_figures(tmp_path, lang):
    import json

    import papermill as pm

    d = tmp_path / "bare"
    d.mkdir()
    (d / "visits.csv").write_text("client_id,date,amount\nc1,2024-01-03,1500\nc1,2024-02-10,1800\n"
                                  "c2,2024-01-05,900\nc3,2024-03-01,2500\nc3,2024-03-20,2100\n"
                                  "c3,2024-04-02,2000\nc4,2024-09-01,1000\n", encoding="utf-8")
    results = tmp_path / "results.json"
    pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"), kernel_name="python3", progress_bar=False,
                        parameters={"study_dir": str(d), "lang": lang, "results_path": str(results)})
    fig = json.loads(results.read_text(encoding="utf-8"))["figures"]["data_check"]
    assert set(RECORDED) <= set(fig)
    assert fig["clients"] == 4 and fig["visits"] == 7 and fig["revenue"] == 11800
    assert fig["new_client_retention"] == pytest.approx(2 / 3)  # c1 and c3 back within 90 days, c2 not
    assert fig["regulars_margin_share"] == pytest.approx(6600 / 11800)  # c3 only; margin ∝ amount here
    assert fig["attachment_mean"] is None and fig["load_gini"] is None  # skipped, not crashed
    text = (tmp_path / "out.ipynb").read_text(encoding="utf-8")
    assert ("Skipped" if lang == "en" else "Пропущено") in text


@pytest.mark.slow
def test_notebook_on_the_sample_shows_no_personal_data(tmp_path):
    """The sample's clients.csv has fake names and phones; none may reach the report."""
    import papermill as pm

    out = tmp_path / "out.ipynb"
    results = tmp_path / "results.json"
    pm.execute_notebook(str(NOTEBOOK), str(out), kernel_name="python3", progress_bar=False,
                        parameters={"lang": "ru", "results_path": str(results)})
    text = out.read_text(encoding="utf-8") + results.read_text(encoding="utf-8")
    clients = pd.read_csv(SAMPLE / "clients.csv", dtype=str)
    leaked = [s for s in pd.concat([clients["name"], clients["phone"], clients["birth_date"]]) if s in text]
    assert not leaked, leaked[:5]
    assert "c-" in text  # pseudonymised ids are shown
    import json

    fig = json.loads(results.read_text(encoding="utf-8"))["figures"]["data_check"]
    assert 0.2 <= fig["new_client_retention"] <= 0.4 and 0.6 <= fig["repeat_client_retention"] <= 0.85
