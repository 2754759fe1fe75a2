"""Settings checked against the data and shown in the assumption tables: a refused date suggests a range
whose every end is accepted; an amount defined in another currency is shown in that currency."""
import re

import pytest

from analysis.inputs import data
from analysis.inputs.study import load_study


@pytest.mark.parametrize("when", ["2023-12-01", "2024-01-03", "2024-05-01"])
def test_suggested_range_is_accepted(tiny_study, when):
    study = load_study(tiny_study, {"retention": {"calibration_end": when}})
    tables = data.load_tables(study)
    (p,) = data.check_settings(study, tables)
    first, last = re.search(r"Give a date from (\S+) to (\S+?),", p.message).groups()
    assert first == "2024-01-04" and last == "2024-03-20"
    for day in (first, last):
        ok = load_study(tiny_study, {"retention": {"calibration_end": day}})
        assert data.check_settings(ok, tables) == [], day


def test_reference_amounts_shown_in_the_defaults_currency(tiny_study):
    """The kit's reference pay and visit amount are defined in roubles (money_defaults_currency): an EUR
    salon's assumption table shows them in roubles, while its own money settings stay in euros."""
    from analysis.inputs.study import schema
    from analysis.pages.labels import setting_text

    study = load_study(tiny_study, {"currency": "EUR"})
    leaf = schema()["economics"]["reference_specialist_pay_month"]
    shown = setting_text("economics.reference_specialist_pay_month", 72000, "en", "EUR", leaf, study)
    assert "₽" in shown and "€" not in shown
    own = setting_text("staffing.specialist_manager_salary_month", 60000, "en", "EUR",
                       schema()["staffing"]["specialist_manager_salary_month"], study)
    assert "€" in own
