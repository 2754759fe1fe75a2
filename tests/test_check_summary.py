"""What `check` prints counts clients the way the reports do (those with a completed visit) and says
how many more appear only in cancelled, no-show or pending rows."""
from analysis.inputs import data
from analysis.inputs.study import load_study


def test_clients_counted_as_the_reports_count_them(tmp_path):
    d = tmp_path / "s"
    d.mkdir()
    (d / "visits.csv").write_text(
        "client_id,date,amount,status,\n"
        "c1,2024-01-03,1500,done,\nc1,2024-02-10,1800,done,\nc2,2024-01-05,900,cancelled,\n"
        "c3,2024-03-01,2500,done,\nc4,2024-03-20,0,no_show,\n", encoding="utf-8")
    (d / "study.yaml").write_text("name: T\ncurrency: RUB\n", encoding="utf-8")
    study = load_study(d)
    s = data.summarize(data.load_tables(study))
    assert s["clients"] == 2 and s["visits"] == 3
    assert s["clients without a completed visit"] == 2
    assert all(str(c).strip() for c in s.get("columns left out", []))


def test_no_extra_line_when_every_client_came(tiny_study):
    s = data.summarize(data.load_tables(load_study(tiny_study)))
    assert s["clients"] == 3 and "clients without a completed visit" not in s
