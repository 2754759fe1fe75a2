"""The retention page names the true reason a past departure was not measured (none, too recent,
too few attached clients), never "no past departure" when a specialist did leave."""
from __future__ import annotations

import pandas as pd
import pytest

from analysis.pages.words import note_text
from analysis.sections import retention as r

START = pd.Timestamp("2024-01-01")


def salon(k_attached: int, left_day: int, days: int = 400):
    """k clients attached to S1 (three visits each before S1 leaves on ``left_day``), 12 with S2."""
    rows = []
    for i in range(k_attached):
        for j in range(3):
            rows.append(("a%d" % i, START + pd.Timedelta(days=10 + 20 * j + i % 5), "S1", 1000.0))
    for i in range(12):
        for j in range(3):
            rows.append(("b%d" % i, START + pd.Timedelta(days=12 + 20 * j + i % 5), "S2", 1000.0))
    rows.append(("b0", START + pd.Timedelta(days=days), "S2", 1000.0))   # the data end
    v = pd.DataFrame(rows, columns=["client_id", "date", "specialist_id", "amount"]).assign(status="done")
    staff = pd.DataFrame({"specialist_id": ["S1", "S2"],
                          "left": [START + pd.Timedelta(days=left_day), pd.NaT]})
    return v, staff


@pytest.mark.parametrize("k", [1, 6, 9])
def test_a_leaver_with_too_few_attached_clients_is_said_so(k):
    v, staff = salon(k, left_day=100)
    assert r.attached_leave_share(v, staff) is None          # what the page had called "no past departure"
    loose = r.attached_leave_share(v, staff, min_attached=1)
    n = r.departure_gap(v, staff)
    assert n.code == "models.departures_too_few_attached"
    assert n.n == 1 and n.fields == {"attached": loose.attached, "min": 10} and loose.attached == k
    assert f"only {k} of her clients" in note_text(n, "en") and "(at least 10 needed)" in note_text(n, "en")
    assert f"только {k} клиент" in note_text(n, "ru")


def test_enough_attached_clients_are_measured_and_need_no_gap_note():
    v, staff = salon(10, left_day=100)
    assert r.attached_leave_share(v, staff) is not None


def test_a_leaver_without_followup_is_too_recent_not_absent():
    v, staff = salon(12, left_day=300)   # 100 days of data after leaving, 180 needed
    assert r.attached_leave_share(v, staff) is None
    n = r.departure_gap(v, staff, followup_days=180)
    assert n.code == "models.departures_too_recent" and n.n == 1 and n.fields == {"days": 180}


@pytest.mark.parametrize("left_day", [None, 500])   # nobody left, or left after the data end
def test_no_leaver_inside_the_data_is_no_past_departure(left_day):
    v, staff = salon(12, left_day=100)
    staff["left"] = pd.NaT if left_day is None else START + pd.Timedelta(days=left_day)
    assert r.departure_gap(v, staff).code == "models.departures_no_past_departure"
    assert r.departure_gap(v, None).code == "models.departures_no_past_departure"
    assert r.departure_gap(v, staff.drop(columns="left")).code == "models.departures_no_past_departure"
