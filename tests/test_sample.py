"""The sample centre: deterministic, in the data contract, calibrated to the facts file."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.inputs import sample

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "data" / "sample"
FILES = ["study.yaml", "visits.csv", "services.csv", "staff.csv", "clients.csv", "memberships.csv",
         "ground_truth.yaml"]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_bundled_sample_is_byte_identical_to_a_regeneration(tmp_path):
    out = sample.write_sample(tmp_path / "s")
    for name in FILES:
        assert _sha(out / name) == _sha(BUNDLED / name), f"{name} differs from a regeneration"


def test_same_seed_same_tables_other_seed_other_tables():
    a = sample.generate(clients=300, months=6, seed=1)
    b = sample.generate(clients=300, months=6, seed=1)
    c = sample.generate(clients=300, months=6, seed=2)
    pd.testing.assert_frame_equal(a.visits, b.visits)
    assert not a.visits["amount"].equals(c.visits["amount"])


def test_ground_truth_keys_and_units():
    truth = yaml.safe_load((BUNDLED / "ground_truth.yaml").read_text(encoding="utf-8"))
    assert truth["time_unit"] == "week"
    assert set(truth["bgnbd"]) == {"r", "alpha", "a", "b"}
    assert set(truth["gamma_gamma"]) == {"p", "q", "gamma"}
    assert set(truth["sbg"]) == {"alpha", "beta"}
    assert 0 < truth["attached_leave_share"] < 1
    assert 2 <= len(truth["departures"]) <= 3
    assert all(0.08 <= s <= 0.15 for s in truth["consumables_share"].values())
    assert all(0.35 <= c <= 0.50 for c in truth["commission_rate"].values())


def test_sample_tables_follow_the_contract():
    d = sample.generate(clients=500, months=12, seed=3)
    v = d.visits
    assert {"client_id", "date", "amount", "visit_id", "service", "block", "specialist_id",
            "consumables_cost", "status"} <= set(v.columns)
    assert set(v["block"]) == set(sample.BLOCKS)
    assert v["visit_id"].is_unique
    assert set(v["status"]) == {"done", "cancelled", "no_show"}
    assert (v.loc[v["status"] != "done", "amount"] == 0).all()
    assert (v.loc[v["status"] == "done", "amount"] > 0).all()
    # every visit is with a specialist of the visit's block who was employed that day
    s = d.staff.set_index("specialist_id")
    blk = s.loc[v["specialist_id"], "block"].to_numpy()
    assert (blk == v["block"].to_numpy()).all()
    hired = s.loc[v["specialist_id"], "hired"].to_numpy()
    left = s.loc[v["specialist_id"], "left"].to_numpy()
    done = (v["status"] == "done").to_numpy()
    day = v["date"].to_numpy()
    assert (hired[done] <= day[done]).all()
    assert not ((~pd.isna(left[done])) & (left[done] <= day[done])).any()
    # consumables are the service's share of the amount (8–15 %)
    share = (v.loc[done, "consumables_cost"] / v.loc[done, "amount"]).to_numpy()
    assert share.min() >= 0.07 and share.max() <= 0.16
    assert d.staff["left"].notna().sum() in (2, 3)
    assert 2 * len(sample.BLOCKS) <= len(d.staff) <= 30   # staff for its size (a 500-client centre)
    m = d.memberships
    assert (m["end"].isna() | (m["end"] > m["start"])).all()


def test_clients_carry_fake_personal_data():
    c = pd.read_csv(BUNDLED / "clients.csv", dtype=str)
    assert {"name", "phone"} <= set(c.columns)
    assert c["phone"].str.match(r"^\+7 9\d\d \d{3}-\d\d-\d\d$").all()


def test_spend_truth_is_recovered_by_moments():
    """Mean spend per completed visit = p * gamma / (q - 1) (Gamma-Gamma), within 5 %."""
    d = sample.generate(clients=20000, months=24, seed=5)
    g = d.truth["gamma_gamma"]
    done = d.visits[d.visits["status"] == "done"]
    per_client = done.groupby("client_id")["amount"].mean()
    expected = g["p"] * g["gamma"] / (g["q"] - 1)
    assert per_client.mean() == pytest.approx(expected, rel=0.05)


def test_new_client_90_day_return_matches_bgnbd_truth():
    """BG/NBD: no dropout before the first repeat visit, so P(return within t weeks) =
    1 - (alpha / (alpha + t))^r for clients whose window is fully observed."""
    d = sample.generate(clients=20000, months=24, seed=6, truth={"attached_leave_share": 0.0})
    bg = d.truth["bgnbd"]
    v = d.visits[d.visits["status"] == "done"].sort_values(["client_id", "date"])
    g = v.groupby("client_id")["date"]
    first, second = g.nth(0), g.nth(1)
    firsts = v.loc[first.index, ["client_id", "date"]].set_index("client_id")["date"]
    seconds = v.loc[second.index, ["client_id", "date"]].set_index("client_id")["date"]
    end = pd.Timestamp(d.truth["end"])
    ok = firsts[firsts + pd.Timedelta(days=90) <= end]
    back = (seconds.reindex(ok.index) - ok).dt.days <= 90
    t = 90 / 7
    expected = 1 - (bg["alpha"] / (bg["alpha"] + t)) ** bg["r"]
    assert back.mean() == pytest.approx(expected, abs=0.02)


@pytest.mark.parametrize("frame", [
    pd.DataFrame({"id": ["V1", "V2", "V3"], "day": pd.to_datetime(["2024-01-01", None, "2024-03-05"]),
                  "amount": [1500, 0, 25], "who": ["Анна Смирнова", "", None]}),
    pd.DataFrame({"id": ["a,b", 'say "hi"', "plain"], "n": [1, 2, 3]}),          # needs quotes: pandas writes
    pd.DataFrame({"rate": [0.35, 0.1 + 0.2, 1e-12], "k": [1, 2, 3]}),            # fractions: pandas writes
    pd.DataFrame({"when": pd.to_datetime(["2024-01-01 10:30", "2024-01-02 00:00"])}),  # a time of day: pandas writes
], ids=["arrow", "quotes", "fractions", "times"])
def test_csv_writer_writes_the_bytes_of_to_csv(tmp_path, frame):
    path = tmp_path / "t.csv"
    sample._write_csv(frame, path)
    want = frame.to_csv(index=False, lineterminator="\n", date_format="%Y-%m-%d", float_format="%.10g")
    assert path.read_bytes() == want.encode("utf-8")


def test_generated_studies_are_named_apart_in_both_languages(tmp_path):
    """The bundled sample keeps its name; any other generated study says what sets it apart, so the
    studies of one portfolio page can be told apart, with a Russian name for Russian pages."""
    import yaml

    from analysis.inputs.sample import write_sample

    def names(folder, **kw):
        write_sample(tmp_path / folder, **kw)
        s = yaml.safe_load((tmp_path / folder / "study.yaml").read_text(encoding="utf-8"))
        return s["name"], s["name_ru"]

    bundled = yaml.safe_load((Path(__file__).resolve().parents[1] / "data/sample/study.yaml").read_text(encoding="utf-8"))
    a = names("a", clients=60, months=8, seed=1)
    b = names("b", clients=60, months=8, seed=2)
    assert a != b and a[0] != bundled["name"]
    assert "60 clients" in a[0] and "8 months" in a[0] and "60 клиентов" in a[1]
    assert bundled["name_ru"] and bundled["name"] == "Sample beauty & fitness centre"


@pytest.mark.parametrize("clients", [45, 300, 800, 1500])
def test_a_small_generated_salon_has_staff_for_its_size(clients):
    """A small centre used to get the full staff of a 3,000-client one (28 people on fixed pay);
    now its specialists follow its clients (each on the same full-time pay), with at least one per
    block and two where a specialist leaves."""
    full = sample.generate(clients=3000, months=6, seed=3).staff
    d = sample.generate(clients=clients, months=18, seed=3)
    working = lambda s: s[s["left"].isna()].groupby("block").size()  # noqa: E731
    expected = {b: max(sample._STAFF_MIN_PER_BLOCK.get(b, 1), round(n * clients / 3000))
                for b, n in working(full).items()}
    assert working(d.staff).to_dict() == expected
    assert set(d.staff["monthly_fixed_pay"]) <= set(full["monthly_fixed_pay"])


@pytest.mark.parametrize("clients", [800, 1500])
def test_a_generated_salon_of_some_size_earns_before_the_role(tmp_path, clients):
    """With the full staff an 800-client centre lost money in every block; now its blocks earn."""
    from analysis.inputs.data import Tables
    from analysis.inputs.study import load_study
    from analysis.sections import pnl

    d = sample.generate(clients=clients, months=18, seed=3)
    base = pnl.baseline(Tables(visits=d.visits, staff=d.staff, services=d.services), load_study(tmp_path))
    assert base.profit_month > 0
