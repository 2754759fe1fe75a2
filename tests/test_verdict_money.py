"""A salon in another currency whose exports give no pay level to convert the kit's rouble defaults by
(no specialists, no paid visit) gets no money answer: not enough data, and it says why."""
import pandas as pd
import yaml

from analysis.inputs import data, sample
from analysis.inputs.study import load_study
from analysis.models import simulate
from analysis.sections import summary


def test_unconvertible_money_defaults_leave_no_npv(tmp_path):
    d = sample.write_sample(tmp_path / "usd0", clients=400, months=12, seed=5)
    v = pd.read_csv(d / "visits.csv")
    v = v.drop(columns=[c for c in ("specialist_id", "consumables_cost") if c in v]).assign(amount=0)
    v.to_csv(d / "visits.csv", index=False)
    for name in ("staff.csv", "services.csv"):
        (d / name).unlink(missing_ok=True)
    cfg = yaml.safe_load((d / "study.yaml").read_text(encoding="utf-8"))
    cfg.update(currency="USD", simulation={"n_draws": 300})
    cfg.setdefault("staffing", {})["current_setup"] = "none"
    (d / "study.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    study = load_study(d)
    prep = summary.prepare(study, data.load_tables(study))
    assert prep.study.money_scale_source == "unknown"
    dr = simulate.draws(prep.study)
    ev = summary.evaluate(prep, dr)
    v = summary.verdict(prep, ev, summary.tornado(prep, simulate.draws(prep.study, n=200)), dr)
    assert v.level == "not_enough_data"
    assert "money_not_in_currency" in v.reasons
    assert any(s.code == "verdict.next.check.money_not_in_currency" for s in v.next_steps)


def test_a_firm_answer_on_the_kits_pay_scheme_says_so(tmp_path, monkeypatch):
    """create / do_not_create on the kit's default pay scheme names it first among the next steps,
    with the role's monthly cost; a stated scheme does not."""
    from analysis.sections import decision

    d = sample.write_sample(tmp_path / "s", clients=300, months=12, seed=2)
    cfg = yaml.safe_load((d / "study.yaml").read_text(encoding="utf-8"))
    cfg.update(simulation={"n_draws": 300})
    cfg.setdefault("staffing", {})["current_setup"] = "none"
    (d / "study.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(decision, "verdict_level", lambda **kw: "do_not_create")
    study = load_study(d)
    prep = summary.prepare(study, data.load_tables(study))
    dr = simulate.draws(prep.study)
    ev = summary.evaluate(prep, dr)
    tor = summary.tornado(prep, simulate.draws(prep.study, n=200))
    v = summary.verdict(prep, ev, tor, dr)
    assert v.next_steps[0].code == "verdict.next.state_pay"
    assert v.next_steps[0].fields["value"] > 0
    for lang in ("en", "ru"):
        assert "compensation.schemes" in summary.next_step_text(v.next_steps[0], prep.study, lang)
    schemes = [{"name": "own", "components": [{"type": "fixed", "amount": 50000}]}]
    stated = load_study(d, {"compensation": {"schemes": schemes}, "care_manager": {"scheme": "own"}})
    prep2 = summary.prepare(stated, data.load_tables(stated))
    ev2 = summary.evaluate(prep2, dr)
    v2 = summary.verdict(prep2, ev2, tor, dr)
    assert all(s.code != "verdict.next.state_pay" for s in v2.next_steps)
