"""staff.csv: staff who serve the whole salon may leave ``block`` empty; specialists may not (trial 3 F9).

An administrator row ``A1,,administrator,2022-05-01,,1800,0`` used to stop ``check`` with "empty
block."; the owner had to guess ``all``.  Now an empty block is accepted for roles not tied to a block
(administrators, managers, care managers, directors, owners … — any word of ``data.ROLE_WORDS``); a
specialist's empty block is still refused, and the message says what to put there.
"""
from pathlib import Path

import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.inputs import data
from analysis.inputs.study import load_study

VISITS = ("visit_id,client_id,date,amount,block,specialist_id\n"
          "v1,c1,2024-01-03,1500,hair,S1\nv2,c2,2024-01-05,900,nails,S2\n")
HEAD = "specialist_id,block,role,hired,left,monthly_fixed_pay,commission_rate\n"


def _load(tmp_path: Path, staff: str):
    d = tmp_path / "study"
    d.mkdir()
    (d / "study.yaml").write_text("name: T\n", encoding="utf-8")
    (d / "visits.csv").write_text(VISITS, encoding="utf-8")
    (d / "staff.csv").write_text(HEAD + staff, encoding="utf-8")
    return data.load_tables(load_study(d))


def test_an_administrator_and_a_salon_manager_may_leave_the_block_empty(tmp_path):
    t = _load(tmp_path, "S1,hair,stylist,2022-01-01,,,0.4\nS2,nails,,2022-01-01,,,0.4\n"
                        "A1,,administrator,2022-05-01,,1800,0\nM1,,Управляющий салоном,2021-01-01,,2500,0\n"
                        "C1,  ,Менеджер сопровождения,2024-01-01,,2000,0\n")
    staff = t.staff.set_index("specialist_id")
    assert staff.loc[["A1", "M1", "C1"], "block"].isna().all()
    assert list(staff.loc[["S1", "S2"], "block"]) == ["hair", "nails"]


@pytest.mark.parametrize("role", ["stylist", "", "nail master"])
def test_a_specialist_still_needs_a_block_and_is_told_what_to_put(tmp_path, role):
    with pytest.raises(InputError) as exc:
        _load(tmp_path, f"S1,hair,stylist,2022-01-01,,,0.4\nS2,,{role},2022-01-01,,,0.4\nA1,,admin,2022-05-01,,1800,0\n")
    (p,) = [p for p in exc.value.problems if p.column == "block"]
    assert p.rows == (3,) and p.count == 1          # the specialist's row only, not the administrator's
    assert "empty block" in p.message and "as visits.csv names it" in p.message and "role column" in p.message


def test_which_roles_are_not_tied_to_a_block():
    roles = pd.Series(["Administrator", "reception", "manager", "Care manager", "Director", "владелец",
                       "stylist", "мастер маникюра", None, "", "colorist"])
    assert data.blockless_role(roles).tolist() == [True] * 6 + [False] * 5


def test_the_template_and_the_data_contract_say_which_rows_may_leave_the_block_empty():
    from analysis.inputs.template import study_yaml_text

    text = study_yaml_text("Salon")
    assert "block may be empty for administrators" in text and "block можно оставить пустым" in text
    contract = (Path(__file__).resolve().parents[1] / "data" / "README.md").read_text(encoding="utf-8")
    assert "| `block` | yes, for specialists |" in contract
