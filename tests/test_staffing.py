"""Staffing: active clients from visits, cost and workload arithmetic by hand, hand-offs,
break-even client counts, Monte Carlo scenarios and bare data."""
import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.models import simulate

from analysis.sections import staffing
from analysis.inputs.data import Tables
from analysis.errors import InputError
from analysis.pages import words
from analysis.sections.staffing import ClientProfile, client_profile, evaluate, handoffs
from analysis.inputs.study import Uncertain, load_study, schema


# ---------------------------------------------------------------------------- fixtures

def visits(rows):
    """rows: (client, block, 'YYYY-MM-DD')."""
    return pd.DataFrame({"client_id": [r[0] for r in rows], "block": [r[1] for r in rows],
                         "date": pd.to_datetime([r[2] for r in rows]), "amount": 1000.0})


def salon(n_clients=300, months=14, seed=3):
    """Every client visits their home block every month; every third client also visits a
    second block every month: per month 300 active clients, 400 client-block pairs."""
    rng = np.random.default_rng(seed)
    blocks = ["hair", "nails", "spa"]
    rows = []
    for m in range(months):
        month = pd.Timestamp("2024-01-01") + pd.DateOffset(months=m)
        for c in range(n_clients):
            day = month + pd.Timedelta(days=int(rng.integers(0, 28)))
            rows.append((f"c{c}", blocks[c % 3], day))
            if c % 3 == 0:
                rows.append((f"c{c}", blocks[(c + 1) % 3], day))
    return pd.DataFrame({"client_id": [r[0] for r in rows], "block": [r[1] for r in rows],
                         "date": [r[2] for r in rows], "amount": 500.0})


HAND = {  # assumptions for the hand-checked case
    "salary_specialist": 50_000.0, "salary_care": 80_000.0, "tax": 0.30, "hours": 160.0,
    "productive": 0.75,
    "rate_welcome": 1.0, "min_welcome": 10.0,          # 10 min per new client
    "rate_follow_up": 0.5, "min_follow_up": 4.0,       # 2
    "rate_programme_review": 0.2, "min_programme_review": 10.0,  # 2
    "rate_feedback": 0.2, "min_feedback": 5.0,          # 1   -> T = 5 min, 0.9 contacts
    "requests": 0.5, "request_min": 6.0,                # R = 3 min per client
    "loss": 0.1, "records_min": 2.0, "sales_min": 2.0,
    "staff_h": 2.0, "quality_h": 2.0, "marketing_h": 2.0,   # F = 6 h per block
}


def hand_profile():
    """100 active clients, 2 blocks with 60 each: 20 clients use both (k=2), 80 use one.
    10 clients are new to the salon, 6 new to each block (2 existing clients tried a new block)."""
    return ClientProfile(blocks=("a", "b"), clients_month=100.0,
                         block_clients_month=np.array([60.0, 60.0]),
                         new_clients_month=10.0, block_new_clients_month=np.array([6.0, 6.0]),
                         blocks_per_client=np.array([0.8, 0.2]),
                         monthly=pd.DataFrame(), monthly_clients=pd.DataFrame())


def hand_params(**change):
    p = dict(HAND, **change)
    return {k: np.array([v]) for k, v in p.items()}


# ---------------------------------------------------------------------------- schema

def test_defaults_have_the_shared_keys_and_sources():
    sch = schema()["staffing"]
    for key in ("specialist_manager_salary_month", "care_manager_salary_month", "payroll_tax_rate",
                "current_setup"):
        assert key in sch
    assert sch["payroll_tax_rate"]["default"] == 0.30
    assert sch["current_setup"]["choices"] == ["specialist_managers", "administrators", "none"]
    assert sch["current_setup"]["default"] is None      # unknown unless staff.csv or study.yaml say it
    assert sch["working_hours_month"]["default"] == 164

    def leaves(tree):
        for v in tree.values():
            if "default" in v:
                yield v
            else:
                yield from leaves(v)

    for leaf in leaves(sch):
        assert leaf["source"] and leaf["en"] and leaf["ru"]


def test_every_param_key_resolves(tmp_path):
    study = load_study(tmp_path)
    p = staffing.params_from(study)
    assert set(p) == set(staffing.PARAMS)
    assert all(np.isfinite(v).all() and v.shape == (1,) for v in p.values())
    assert isinstance(study["staffing.specialist_manager_salary_month"], Uncertain)
    assert set(staffing.SHORT_LABEL_KEYS) == set(staffing.PARAMS.values())
    assert all(words.has(k) for k in staffing.SHORT_LABEL_KEYS.values())


# ---------------------------------------------------------------------------- profile

def test_profile_counts_by_hand():
    v = visits([("1", "hair", "2024-01-05"), ("1", "nails", "2024-01-20"),
                ("2", "hair", "2024-01-07"), ("2", "hair", "2024-02-07"),
                ("3", "spa", "2024-02-11")])
    p = client_profile(v, window_months=1)
    assert p.blocks == ("hair", "nails", "spa")
    m = p.monthly.pivot(index="month", columns="block", values="active_clients")
    assert m.loc["2024-01-01"].tolist() == [2, 1, 0]
    assert m.loc["2024-02-01"].tolist() == [1, 0, 1]
    assert p.monthly_clients["active_clients"].tolist() == [2, 2]
    assert p.monthly_clients["client_blocks"].tolist() == [3, 2]
    assert p.clients_month == 2.0
    np.testing.assert_allclose(p.block_clients_month, [1.5, 0.5, 0.5])
    np.testing.assert_allclose(p.blocks_per_client, [3 / 4, 1 / 4])   # client 1 in Jan uses 2
    assert p.mean_blocks_per_client == pytest.approx(1.25)


def test_profile_window_carries_clients_forward():
    v = visits([("1", "hair", "2024-01-05"), ("2", "hair", "2024-03-05"), ("3", "hair", "2024-05-05")])
    p = client_profile(v, window_months=3)
    # warm-up: months before March are dropped; Mar: 1,2  Apr: 2  May: 2,3
    assert p.monthly_clients["active_clients"].tolist() == [2, 1, 2]
    assert p.clients_month == pytest.approx(5 / 3)


def test_profile_recovers_a_known_salon():
    p = client_profile(salon(), window_months=1)
    assert p.clients_month == pytest.approx(300)
    assert p.client_blocks_month == pytest.approx(400)
    np.testing.assert_allclose(p.blocks_per_client, [2 / 3, 1 / 3])
    assert p.months_used == 3


def test_profile_ignores_cancelled_visits():
    v = visits([("1", "hair", "2024-01-05"), ("2", "nails", "2024-01-06")])
    v["status"] = ["done", "cancelled"]
    p = client_profile(v, window_months=1)
    assert p.blocks == ("hair",) and p.clients_month == 1.0


def test_profile_covers_a_subset_and_reports_missing_blocks():
    v = visits([("1", "hair", "2024-01-05"), ("1", "nails", "2024-01-06"), ("2", "spa", "2024-01-07")])
    p = client_profile(v, covers=["hair", "nails", "barber"], window_months=1)
    assert p.blocks == ("hair", "nails")
    assert p.missing_blocks == ("barber",)
    assert p.clients_month == 1.0
    with pytest.raises(InputError, match="care_manager.covers"):
        client_profile(v, covers=["barber"], window_months=1)


def test_bare_visits_are_one_block():
    v = visits([("1", "x", "2024-01-05"), ("2", "y", "2024-01-06")]).drop(columns="block")
    p = client_profile(v, covers=["hair"], window_months=1)
    assert p.blocks == (staffing.SALON_BLOCK,) and not p.has_blocks
    assert p.clients_month == 2.0
    np.testing.assert_allclose(p.blocks_per_client, [1.0])


# ---------------------------------------------------------------------------- arithmetic

def test_workload_and_cost_by_hand():
    e = evaluate(hand_profile(), hand_params(), target_answer_min=15.0)
    # per block: (60 clients * (6 + 2 + 2) min + 100 * 3 min * 1/2) / 60 + 6 h = 18.5 h
    np.testing.assert_allclose(e.workload_block_h, [[18.5, 18.5]])
    # care: 100 * (6 + 2 + 2 + 3) / 60 + 2 blocks * 6 h = 33.667 h
    assert e.workload_care_h[0] == pytest.approx(1300 / 60 + 12)
    assert e.capacity_person_h[0] == pytest.approx(120.0)
    assert e.people_specialists[0] == 2 and e.care_managers_needed[0] == 1
    assert e.cost_specialists_option_month[0] == pytest.approx(2 * 50_000 * 1.3)   # 130,000
    assert e.cost_care_managers_month[0] == pytest.approx(80_000 * 1.3)            # 104,000
    assert e.saving_month[0] == pytest.approx(26_000)
    assert e.cost_per_client_care[0] == pytest.approx(1_040)
    assert e.cost_per_client_specialists[0] == pytest.approx(1_300)
    # 20 clients are contacted twice; 1.0 contact and 10 min (contacts, card, sales) each
    assert e.duplicate_contacts_month[0] == pytest.approx(20.0)
    assert e.duplicate_hours_month[0] == pytest.approx(20 * 10 / 60)
    # the care manager's month: 120 h capacity - 33.667 h work = 86.333 h own services of 160
    assert e.own_services_h[0] == pytest.approx(120 - 1300 / 60 - 12)
    assert e.own_services_share[0] == pytest.approx((120 - 1300 / 60 - 12) / 160)
    assert sum(v[0] for v in e.function_hours.values()) + e.own_services_h[0] + e.nonproductive_h[0] \
        == pytest.approx(160.0)
    assert e.function_hours["clients"][0] == pytest.approx(100 * (6 + 2 + 3) / 60)  # contacts, card, requests
    assert e.function_hours["sales"][0] == pytest.approx(100 * 2 / 60)
    # one care manager carries (120 - 12) / (13 / 60) = 498.46 clients
    assert e.clients_per_care_manager_max[0] == pytest.approx(108 * 60 / 13)


def test_no_managers_today_costs_nothing():
    e = evaluate(hand_profile(), hand_params(), current_setup="none")
    assert e.cost_current_month[0] == 0.0
    assert e.saving_month[0] == pytest.approx(-104_000)
    assert e.cost_specialists_option_month[0] == pytest.approx(130_000)


def test_people_are_whole_and_at_least_one_per_block():
    # no clients: still one manager per block and one care manager
    e = evaluate(hand_profile(), hand_params(), scale=0.0)
    assert e.people_specialists[0] == 2 and e.care_managers_needed[0] == 1
    # workload exactly at capacity is one person; a little more needs two
    at = 108 * 60 / 13 / 100          # scale at which the care workload is exactly 120 h
    assert evaluate(hand_profile(), hand_params(), scale=at).care_managers_needed[0] == 1
    assert evaluate(hand_profile(), hand_params(), scale=at * 1.001).care_managers_needed[0] == 2


def test_handoffs_by_hand():
    h = handoffs([0.8, 0.2], 0.1)
    assert h["handoffs_specialists"] == pytest.approx(0.8 * 2 + 0.2 * 4)
    assert h["handoffs_care"] == pytest.approx(0.8 * 2 + 0.2 * 3)
    assert h["p_loss_specialists"] == pytest.approx(0.8 * (1 - 0.9 ** 2) + 0.2 * (1 - 0.9 ** 4))
    assert h["p_loss_care"] == pytest.approx(0.8 * (1 - 0.9 ** 2) + 0.2 * (1 - 0.9 ** 3))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=6).filter(lambda q: sum(q) > 0),
       st.floats(0.0, 0.99))
def test_a_care_manager_never_adds_handoffs(q, p):
    q = np.array(q) / sum(q)
    h = handoffs(q, p)
    assert h["handoffs_care"] <= h["handoffs_specialists"] + 1e-12
    assert h["p_loss_care"] <= h["p_loss_specialists"] + 1e-12
    if q[0] == 1.0:  # everyone uses one block: nothing to gain
        assert h["p_loss_care"] == pytest.approx(h["p_loss_specialists"])


def test_queues_by_hand():
    e = evaluate(hand_profile(), hand_params(), target_answer_min=15.0)
    lam = 100 * 0.5 / (160 * 60)          # requests per working minute
    # a block manager: 120 h capacity, 18.5 h work of which 2.5 h requests -> free (120 - 16) / 160
    a_block = (120 - 16) / 160
    mu = a_block / 6
    assert e.queue_separate["availability"][0] == pytest.approx(a_block)
    # separate: two M/M/1 queues with lam / 2 each: Wq = rho / (mu - lam/2)
    rho = lam / 2 / mu
    assert e.queue_separate["wait"][0] == pytest.approx(rho / (mu - lam / 2))
    assert e.queue_pooled["wait"][0] == pytest.approx(staffing.mean_wait(lam, mu, 2))
    # the care manager: 33.667 h work of which 5 h requests
    a_care = (120 - (1300 / 60 + 12 - 5)) / 160
    mu_c = a_care / 6
    assert e.queue_care["availability"][0] == pytest.approx(a_care)
    assert e.queue_care["wait"][0] == pytest.approx(lam / mu_c / (mu_c - lam))
    assert e.queue_care["within_target"][0] == pytest.approx(1 - lam / mu_c * np.exp(-(mu_c - lam) * 15))
    assert e.queue_pooled["wait"][0] < e.queue_separate["wait"][0]


def test_cheaper_ranges_and_breakeven_by_hand():
    prof, p = hand_profile(), hand_params()
    r = staffing.cheaper_ranges(prof, p, 1000.0, detail=False)
    # care is cheaper until it needs a second manager at 498.46 clients; specialists need a
    # second manager in a block when 0.125 h * N + 6 h > 120 h, at N = 912
    assert r["cheaper"].tolist() == ["care_manager", "specialists", "care_manager"]
    np.testing.assert_allclose(r["to_clients"].iloc[:2], [108 * 60 / 13, 912.0])
    assert staffing._breakeven(r, 100.0) == pytest.approx(108 * 60 / 13)
    detail = staffing.cheaper_ranges(prof, p, 1000.0)
    assert detail["from_clients"].iloc[0] == 0 and detail["to_clients"].iloc[-1] == 1000
    assert (detail["from_clients"].iloc[1:].to_numpy() == detail["to_clients"].iloc[:-1].to_numpy()).all()


def test_growth_is_monotone():
    g = staffing.growth(hand_profile(), hand_params(), 2000.0, points=101)
    assert g["clients"].iloc[0] == 0 and g["clients"].iloc[-1] == 2000
    for col in ("workload_care_h", "workload_specialists_h", "care_managers_needed", "cost_care_month"):
        assert (np.diff(g[col]) >= -1e-9).all()
    assert (g["capacity_care_h"] >= g["workload_care_h"] - 1e-9).all()


# ---------------------------------------------------------------------------- the section

def test_analyse_and_scenarios_on_a_salon(tmp_path):
    study = load_study(tmp_path, {"simulation": {"n_draws": 500},
                                  "staffing": {"current_setup": "specialist_managers"}})
    tables = Tables(visits=salon())
    d = simulate.draws(study)
    a = staffing.analyse(study, tables, d)
    f = a.figures()
    for name in ("cost_specialists_month", "cost_care_manager_month", "care_managers_needed",
                 "saving_month_p10", "saving_month_median", "saving_month_p90", "wait_separate_min",
                 "wait_pooled_min", "handoffs_per_client_specialists", "handoffs_per_client_care",
                 "p_info_loss_specialists", "p_info_loss_care", "own_services_share",
                 "clients_per_care_manager_max", "breakeven_clients"):
        assert name in f and isinstance(f[name], float)
    assert f["saving_month_p10"] <= f["saving_month_median"] <= f["saving_month_p90"]
    assert f["wait_pooled_min"] <= f["wait_separate_min"]
    assert f["handoffs_per_client_care"] < f["handoffs_per_client_specialists"]
    assert a.profile.blocks == ("hair", "nails", "spa")
    assert f["active_clients_month"] == pytest.approx(300)
    assert set(a.time_split["part"]) == set(staffing.FUNCTIONS) | {"own_services", "nonproductive"}
    assert a.time_split["share"].sum() == pytest.approx(1.0)
    # the loss chance moves no cost; the care managers are paid by the pay scheme in force, so the
    # management salary assumption moves nothing either; the administrators' pay and share count
    # only when today's setup is administrators
    assert len(a.tornado) == len(d.uncertain_keys("staffing.")) - 4
    assert "staffing.care_manager_salary_month" not in set(a.tornado["key"])
    assert (np.diff(a.tornado["swing"]) <= 0).all()
    row = a.tornado.set_index("key").loc["staffing.specialist_manager_salary_month"]
    assert row["saving_high"] > row["saving_low"]          # dearer managers today: more saved
    # the page words what the analysis returns: labels are catalogue keys, parts / options / queues codes
    assert all(words.has(k) for k in a.tornado["label"])
    assert all(words.has(f"staffing.part.{p}") for p in a.time_split["part"])
    assert all(words.has(f"staffing.option.{o}") for o in a.options["option"])
    assert all(words.has(f"staffing.queue.{q}") for q in a.queues["queue"])

    s = staffing.scenarios(study, tables, d)
    for arr in (s.cost_specialists_month, s.cost_care_managers_month, s.care_managers_needed):
        assert arr.shape == (500,)
    np.testing.assert_allclose(s.saving_month, a.mc.saving_month)
    assert (s.care_managers_needed >= 1).all() and (s.care_managers_needed == np.round(s.care_managers_needed)).all()

    none = load_study(tmp_path, {"simulation": {"n_draws": 500}, "staffing": {"current_setup": "none"}})
    s0 = staffing.scenarios(none, tables, simulate.draws(none))
    assert (s0.cost_specialists_month == 0).all()
    np.testing.assert_allclose(s0.cost_care_managers_month, s.cost_care_managers_month)  # same draws


def test_fixed_assumptions_give_a_degenerate_range(tmp_path):
    fixed = {k.split(".", 1)[1]: None for k in staffing.PARAMS.values()}
    study0 = load_study(tmp_path)
    over: dict = {}
    for key in staffing.PARAMS.values():
        v = study0[key]
        mode = v.mode if isinstance(v, Uncertain) else v
        node = over.setdefault("staffing", {})
        parts = key.split(".")[1:]
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = mode
    assert fixed  # every key was overridden
    study = load_study(tmp_path, {**over, "simulation": {"n_draws": 200}})
    a = staffing.analyse(study, Tables(visits=salon()), with_tornado=False)
    # the workload side is fixed; the role's cost follows the pay scheme's own simulation
    for name in ("care_managers_needed", "people_specialists", "workload_care_h", "cost_current_month"):
        mc, central = np.asarray(getattr(a.mc, name)), float(np.asarray(getattr(a.central, name))[0])
        assert mc.min() == pytest.approx(central) and mc.max() == pytest.approx(central), name


def test_bare_data_runs(tmp_path):
    study = load_study(tmp_path, {"simulation": {"n_draws": 200}})
    bare = salon(n_clients=60, months=6).drop(columns="block")
    a = staffing.analyse(study, Tables(visits=bare))
    f = a.figures()
    assert not a.profile.has_blocks and a.profile.n_blocks == 1
    assert f["handoffs_per_client_specialists"] == f["handoffs_per_client_care"] == 2.0
    assert f["wait_separate_min"] == pytest.approx(f["wait_pooled_min"])
    assert f["specialist_managers_needed"] >= 1


def test_config_file_round_trip(tmp_path):
    (tmp_path / "study.yaml").write_text(yaml.safe_dump({"staffing": {
        "care_manager_salary_month": {"low": 1, "mode": 2, "high": 3},
        "touches_per_client_month": {"feedback": 0.5}}}), encoding="utf-8")
    study = load_study(tmp_path)
    assert study["staffing.care_manager_salary_month"] == Uncertain(1, 2, 3)
    assert study["staffing.touches_per_client_month.feedback"] == Uncertain(0.5, 0.5, 0.5)


# ---------------------------------------------------------------------------- notebook

NOTEBOOK = __import__("pathlib").Path(__file__).resolve().parents[1] / "notebooks" / "02_staffing.ipynb"


def test_notebook_follows_the_house_rules():
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "code" and first.metadata.get("tags") == ["parameters"]
    assert [line.split("=")[0].strip() for line in first.source.splitlines()] == \
        ["study_dir", "lang", "results_path", "data_dir", "overrides"]
    md = [c for c in nb.cells if c.cell_type == "markdown"]
    en = [c for c in md if "lang-en" in c.metadata.get("tags", [])]
    ru = [c for c in md if "lang-ru" in c.metadata.get("tags", [])]
    assert len(en) == len(ru) and len(en) + len(ru) == len(md)
    for c in nb.cells:
        if c.cell_type == "code":
            assert not c.outputs and c.execution_count is None
            assert "def " not in c.source and "class " not in c.source
    assert 'ctx.assumptions("staffing"' in "".join(c.source for c in nb.cells)
    assert 'ctx.record("staffing"' in nb.cells[-1].source


@pytest.mark.slow
@pytest.mark.parametrize("bare,lang", [(True, "ru"), (False, "en")])
def test_notebook_runs(tmp_path, bare, lang):
    """The report runs on bare visits (client_id, date, amount) and on visits with blocks, with no
    managers today, and records every figure the summary reads."""
    import json

    import papermill as pm

    d = tmp_path / "study"
    d.mkdir()
    v = salon(n_clients=90, months=6)
    if bare:
        v = v.drop(columns="block")
    v.assign(date=v["date"].dt.strftime("%Y-%m-%d")).to_csv(d / "visits.csv", index=False)
    (d / "study.yaml").write_text("name: Test\nsimulation:\n  n_draws: 200\n"
                                  "staffing:\n  current_setup: none\n", encoding="utf-8")
    results = tmp_path / "results.json"
    pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"), kernel_name="python3", progress_bar=False,
                        parameters={"study_dir": str(d), "lang": lang, "results_path": str(results)})
    f = json.loads(results.read_text(encoding="utf-8"))["figures"]["staffing"]
    for name in ("cost_specialists_month", "cost_care_manager_month", "care_managers_needed", "saving_month_p10",
                 "saving_month_median", "saving_month_p90", "wait_separate_min", "wait_pooled_min",
                 "handoffs_per_client_specialists", "handoffs_per_client_care", "p_info_loss_specialists",
                 "p_info_loss_care", "own_services_share", "clients_per_care_manager_max", "breakeven_clients"):
        assert name in f
    assert f["cost_specialists_month"] == 0                      # no managers today
    assert f["saving_month_median"] == pytest.approx(-f["cost_care_manager_month"])
    assert f["active_clients_month"] == pytest.approx(90)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.floats(1.0, 800.0), min_size=1, max_size=6), st.floats(0.0, 1.0),
       st.floats(0.0, 0.3), st.floats(0.5, 0.95), st.floats(0.0, 2.0), st.floats(0.5, 20.0),
       st.floats(0.0, 10.0))
def test_model_invariants(block_clients, overlap, new_share, productive, requests, request_min, fixed_h):
    """In the staffing model: a care manager never has more work than the block managers together;
    the pooled queue never waits longer than the separate ones (same staff, same free time)."""
    P = np.array(block_clients)
    N = max(P.max(), P.sum() * (1 - overlap))           # clients using several blocks
    M_b = P * new_share
    M = max(M_b.max(), M_b.sum() * (1 - overlap))       # new to the salon <= new to some block
    prof = ClientProfile(blocks=tuple(str(i) for i in range(len(P))), clients_month=float(N),
                         block_clients_month=P, new_clients_month=float(M), block_new_clients_month=M_b,
                         blocks_per_client=np.array([1.0]),
                         monthly=pd.DataFrame(), monthly_clients=pd.DataFrame())
    p = hand_params(productive=productive, requests=requests, request_min=request_min,
                    staff_h=fixed_h, quality_h=fixed_h, marketing_h=fixed_h)
    e = evaluate(prof, p)
    assert e.workload_care_h[0] <= e.workload_specialists_h[0] * (1 + 1e-12)
    assert e.duplicate_contacts_month[0] >= 0
    assert e.queue_pooled["wait"][0] <= e.queue_separate["wait"][0] * (1 + 1e-9) + 1e-12
    assert 0 <= e.own_services_share[0] <= 1


def test_new_clients_by_hand():
    # c1 new in Jan (hair) and new to nails in Feb; c2 new in Feb; c3 new in Mar
    v = visits([("1", "hair", "2024-01-05"), ("1", "nails", "2024-02-06"), ("2", "hair", "2024-02-07"),
                ("1", "hair", "2024-03-05"), ("3", "nails", "2024-03-08")])
    p = client_profile(v, window_months=1, typical_months=2)
    assert p.monthly_clients["new_clients"].tolist() == [1, 1, 1]
    assert p.new_clients_month == 1.0
    np.testing.assert_allclose(p.block_new_clients_month, [0.5, 1.0])   # hair: Feb c2; nails: Feb c1, Mar c3


def test_welcomes_are_duplicated_only_for_clients_new_to_a_block():
    e = evaluate(hand_profile(), hand_params())
    base = e.duplicate_contacts_month[0]
    # two more existing clients try a second block: two more block-manager welcomes
    prof = hand_profile()
    more = ClientProfile(**{**prof.__dict__, "block_new_clients_month": np.array([7.0, 7.0])})
    e2 = evaluate(more, hand_params())
    assert e2.duplicate_contacts_month[0] == pytest.approx(base + 2 * 1.0)
    assert e2.workload_care_h[0] == pytest.approx(e.workload_care_h[0])
    assert e2.workload_specialists_h[0] == pytest.approx(e.workload_specialists_h[0] + 2 * 10 / 60)


# ---------------------------------------------------------------------------- answer time (Erlang C)


def test_size_for_answer_adds_people_until_the_target_is_met_by_hand():
    # lambda = 2 requests a minute, 1 minute each, nothing else to do (A = 1), target 0.5 min, 80%.
    # c = 3: C = 4/9, P(W <= 0.5) = 1 - 4/9 e^-0.5 = 0.7304 < 0.8
    # c = 4: B = (2^4/4!) / (1 + 2 + 2 + 4/3 + 2/3) = 2/21, C = 4B / (4 - 2(1 - B)) = 4/23,
    #        P = 1 - 4/23 e^-1 = 0.9360 >= 0.8
    people, bound = staffing.size_for_answer(np.array([3.0]), 2.0, 100.0, 0.0, 100.0, 1.0, 0.5, 0.8)
    assert people[0] == 4 and bound[0] == "answer_time"
    assert 1 - 4 / 9 * np.exp(-0.5) == pytest.approx(staffing.share_within(2.0, 1.0, 3, 0.5))
    assert 1 - 4 / 23 * np.exp(-1.0) == pytest.approx(staffing.share_within(2.0, 1.0, 4, 0.5))
    # a looser target is met by the hours bound
    people, bound = staffing.size_for_answer(np.array([3.0]), 2.0, 100.0, 0.0, 100.0, 1.0, 0.5, 0.7)
    assert people[0] == 3 and bound[0] == "hours"
    # without a service level the hours alone decide
    people, bound = staffing.size_for_answer(np.array([1.0]), 2.0, 100.0, 0.0, 100.0, 1.0, 0.5, None)
    assert people[0] == 1 and bound[0] == "hours"


def test_care_managers_meet_the_answer_target_in_every_scenario(tmp_path):
    from analysis.inputs import sample
    from analysis.models import simulate
    from analysis.inputs.data import load_tables

    d = sample.write_sample(tmp_path / "s", clients=400, months=12, seed=5)
    # many requests that take long: the answer time, not the hours, sets the count
    study = load_study(d, {"staffing": {"current_setup": "specialist_managers", "requests_per_client_month": 2.0,
                                        "request_minutes": 20, "target_answer_min": 2},
                           "simulation": {"n_draws": 200}})
    tables = load_tables(study)
    a = staffing.analyse(study, tables, simulate.draws(study), with_tornado=False)
    mc = a.mc
    assert (mc.care_managers_needed >= mc.care_managers_for_hours).all()
    assert (mc.care_managers_bound == "answer_time").any()
    assert a.figures()["care_managers_bound"] in ("hours", "answer_time")
    # the count is the smallest that meets the target: one fewer misses it where the target decided
    p = staffing.params_from(simulate.draws(study))
    share = float(study["staffing.target_answer_share"])
    e = staffing.evaluate(a.profile, p, 2.0, "specialist_managers",
                          queues=False, answer_share=share)
    n = e.care_managers_needed
    assert (e.care_managers_bound == "answer_time").any()
    lam = a.profile.clients_month * p["requests"] / (p["hours"] * 60.0)
    cap = p["hours"] * p["productive"]
    planned = e.workload_care_h - a.profile.clients_month * p["requests"] * p["request_min"] / 60.0
    for c, ok_expected in ((n, True), (n - 1, False)):
        avail = np.clip((c * cap - planned) / (c * p["hours"]), 1e-9, 1.0)
        within = staffing.share_within(lam, avail / p["request_min"], c, 2.0)
        mask = e.care_managers_bound == "answer_time"
        assert ((within[mask] >= share) == ok_expected).all()


# ---------------------------------------------------------------------------- today's setup from staff.csv

@pytest.mark.parametrize("role, kind", [
    ("Управляющая салоном", None), ("General manager", None), ("Director", None), ("Владелец", None),
    ("Sales manager", None), ("Менеджер по закупкам", None), ("Care manager", None),
    ("Менеджер сопровождения", None), ("stylist", None),
    ("Block manager", "manager"), ("Менеджер по работе с клиентами", "manager"), ("менеджер", "manager"),
    ("Client manager", "manager"),
    ("Администратор", "administrator"), ("Reception", "administrator"), ("front desk", "administrator"),
])
def test_role_kind_counts_only_client_managers(role, kind):
    assert staffing.role_kind(role) == kind


def _staff(roles, pays):
    n = len(roles)
    return pd.DataFrame({"specialist_id": [f"S{i}" for i in range(n)], "block": ["management"] * n,
                         "role": roles, "monthly_fixed_pay": pays, "left": pd.NaT})


def test_a_director_is_not_a_block_manager_and_a_conflict_is_named(tmp_path):
    """The trial's salon: a salon director and two administrators in staff.csv; a setup stated
    otherwise is overridden by staff.csv with a note naming both."""
    staff = _staff(["Управляющая салоном", "Администратор", "Администратор"], [90000, 45000, 45000])
    t = Tables(visits=salon(30, 6), staff=staff)
    agree = staffing.today_setup(load_study(tmp_path, {"staffing": {"current_setup": "administrators"}}), t)
    assert (agree.setup, agree.source, agree.people, agree.payroll_month) == ("administrators", "staff", 2, 90000.0)
    assert agree.notes() == []
    other = staffing.today_setup(load_study(tmp_path, {"staffing": {"current_setup": "specialist_managers"}}), t)
    assert other.setup == "administrators" and other.conflict
    (note,) = other.notes()
    assert note.fields["staff"] == "administrators" and note.fields["stated"] == "specialist_managers"
    for lang in ("en", "ru"):
        assert words.has(note.code) and "{" not in words.say(note.code, lang, 2, count="2", staff="a", stated="b")
    # only the director: nobody manages clients in staff.csv, the stated setup stands
    alone = staffing.today_setup(load_study(tmp_path, {"staffing": {"current_setup": "none"}}),
                                 Tables(visits=t.visits, staff=staff.iloc[:1]))
    assert (alone.setup, alone.source) == ("none", "study")


def test_stated_administrators_scale_with_the_salon(tmp_path):
    """Administrators stated but not in staff.csv: their number is active clients a month /
    clients_per_administrator, so the replaced pay grows with the salon (it was one person whatever
    the size)."""
    study = load_study(tmp_path, {"simulation": {"n_draws": 200},
                                  "staffing": {"current_setup": "administrators", "clients_per_administrator": 150}})
    small, big = Tables(visits=salon(30)), Tables(visits=salon(300))
    ts, tb = staffing.today_setup(study, small), staffing.today_setup(study, big)
    assert ts.people == pytest.approx(30 / 150) and tb.people == pytest.approx(300 / 150)
    d = simulate.draws(study)
    cs = staffing.scenarios(study, small, d).cost_specialists_month
    cb = staffing.scenarios(study, big, d).cost_specialists_month
    np.testing.assert_allclose(cb, 10 * cs)  # admin_share x salary x people x (1 + tax), people x 10
