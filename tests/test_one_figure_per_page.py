"""One figure, one value on every page.

An owner read "extra margin a year from regulars kept longer" as one value on the overview and the
retention page and another on the summary (two computations of one quantity); a membership club's
overview said retention keeps 0 while the summary counted the members' fees kept; the pay page called
"the role's cost" a figure no other page gave (its cost less what it replaces) and wrote a saving as
"adds −x"; and an EUR study lost the minimum-wage check without a word.

The end-to-end tests collect each figure from every page's ``results.json`` (and the pages' words)
on several salons: the bundled sample, CDNOW, a membership club and an EUR salon whose role replaces
more than it costs.
"""
from __future__ import annotations

import html as html_lib
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from analysis import figures as figs
from analysis.inputs import sample
from analysis.pages import pay as pay_words
from analysis.pages.words import say

from conftest import ROOT, SAMPLE_DRAWS


# ------------------------------------------------------------------ known answers, no run


@pytest.mark.parametrize("net, key, fields", [
    (1200.0, "compensation.net.adds", {"value": 1200.0}),
    (-5030.6, "compensation.net.saves", {"saving": 5030.6}),
    (0.3, "compensation.net.even", {}),
    (-0.4, "compensation.net.even", {}),
])
def test_net_cost_words_never_write_a_saving_as_a_negative_addition(net, key, fields):
    got_key, got = pay_words.net_cost_words(net)
    assert got_key == key
    assert got == pytest.approx(fields)
    assert all(v > 0 for v in got.values())
    for lang in ("en", "ru"):
        assert "−" not in say(key, lang, **{k: f"{v:,.0f}" for k, v in got.items()})


def _study(tmp_path, currency, extra=None):
    from analysis.inputs.study import load_study

    d = sample.write_sample(tmp_path / currency, clients=60, months=6, seed=1)
    cfg = yaml.safe_load((d / "study.yaml").read_text(encoding="utf-8"))
    cfg["currency"] = currency
    cfg.pop("compensation", None)
    cfg.update(extra or {})
    (d / "study.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return load_study(d)


def test_minimum_wage_check_not_run_is_named_for_a_currency_without_one(tmp_path):
    from analysis.sections import summary

    assert summary.checks_not_run(_study(tmp_path, "RUB")) == []
    assert summary.checks_not_run(_study(tmp_path, "EUR")) == ["pay_vs_minimum_wage"]
    stated = _study(tmp_path, "EUR", {"summary": {"checks": {"minimum_wage_month": {"EUR": 1500}}}})
    assert summary.checks_not_run(stated) == []
    for lang in ("en", "ru"):
        text = say("summary.check_not_run.pay_vs_minimum_wage", lang, check="x", currency="EUR")
        assert "minimum_wage_month" in text and "EUR" in text and "{" in text   # the key and its shape


# ------------------------------------------------------------------ every page of several salons


@pytest.fixture(scope="module")
def club_and_eur(tmp_path_factory):
    """A membership club (visits free, fees only) and an EUR salon with specialist managers today and
    no pay stated (the role replaces more than it costs; the kit holds no EUR minimum wage)."""
    base = tmp_path_factory.mktemp("onefig")
    club = sample.write_sample(base / "club", clients=300, months=12, seed=4,
                               hard=["memberships_only", "zero_amounts"])
    eur = sample.write_sample(base / "eur", clients=400, months=12, seed=5)
    cfg = yaml.safe_load((eur / "study.yaml").read_text(encoding="utf-8"))
    cfg["currency"] = "EUR"
    cfg.setdefault("staffing", {})["current_setup"] = "specialist_managers"
    cfg.pop("compensation", None)
    (eur / "study.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    out = base / "reports"
    r = subprocess.run([sys.executable, "-m", "analysis", "run", str(club), str(eur), "--out", str(out),
                        "--lang", "en", "--jobs", "2", "--set", SAMPLE_DRAWS, "--quiet"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    return out


def _reports(sample_batch, club_and_eur):
    _, out = sample_batch
    folders = [p for p in sorted(out.iterdir()) if (p / "results.json").exists()]
    folders += [club_and_eur / "club", club_and_eur / "eur"]
    assert len(folders) >= 4
    return folders


def _currency(folder) -> str:
    """The study's currency, by the symbol its overview shows."""
    text = (folder / "index.html").read_text(encoding="utf-8")
    return "EUR" if "€" in text else "USD" if "$" in text else "RUB"


def _money(folder, section, key):
    res = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    fig, _ = figs.find(section, key)
    v = res["figures"][section][key]
    return v, figs.format_value(fig, v, "en", _currency(folder))


def _text(html: str) -> str:
    return html_lib.unescape(re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_margin_kept_a_year_is_one_figure_on_every_page(sample_batch, club_and_eur):
    for folder in _reports(sample_batch, club_and_eur):
        res = json.loads((folder / "results.json").read_text(encoding="utf-8"))["figures"]
        ret, summ = res["retention"], res["summary"]
        page_key = "kept_year_with_fees_median" if "kept_year_with_fees_median" in ret else "incremental_margin_year_median"
        stated = summ["retention_kept_year_median"]
        if ret.get(page_key) is None:          # no visit model: the summary counts the part as zero
            assert stated == 0, folder.name
            continue
        assert stated == ret[page_key], (folder.name, stated, ret[page_key])
        _, shown = _money(folder, "retention", page_key)
        assert shown in _text((folder / "index.html").read_text(encoding="utf-8")), (folder.name, shown)
        assert shown in _text((folder / "03_retention.html").read_text(encoding="utf-8")), (folder.name, shown)
        summary_page = _text((folder / "05_summary.html").read_text(encoding="utf-8"))
        assert f"Regular clients kept longer add {shown} of margin" in summary_page, (folder.name, shown)


def test_role_cost_is_one_figure_and_a_saving_is_said_as_one(sample_batch, club_and_eur):
    for folder in _reports(sample_batch, club_and_eur):
        res = json.loads((folder / "results.json").read_text(encoding="utf-8"))["figures"]
        comp, summ = res["compensation"], res["summary"]
        assert math.isclose(comp["role_cost_month_median"], summ["role_cost_month_median"], rel_tol=1e-9), folder.name
        if res.get("staffing", {}).get("cost_care_manager_month") is not None:
            assert math.isclose(res["staffing"]["cost_care_manager_month"], summ["role_cost_month_median"],
                                rel_tol=1e-9), folder.name
        pay = _text((folder / "04_compensation.html").read_text(encoding="utf-8"))
        _, gross = _money(folder, "compensation", "role_cost_month_median")
        assert f"The role's cost, {gross} a month" in pay, folder.name
        assert not re.search(r"adds −", pay) and "cost above" not in pay, folder.name
        net = comp["role_net_cost_month_median"]
        if net <= -0.5:
            fig, _ = figs.find("compensation", "role_net_cost_month_median")
            saving = figs.format_value(fig, -net, "en", _currency(folder))
            assert f"saves {saving} a month" in pay, (folder.name, saving)


def test_membership_club_overview_and_retention_lead_count_the_fees(club_and_eur):
    folder = club_and_eur / "club"
    res = json.loads((folder / "results.json").read_text(encoding="utf-8"))["figures"]
    ret = res["retention"]
    assert ret["kept_year_with_fees_median"] > 0
    assert ret["kept_year_with_fees_median"] == pytest.approx(
        (ret.get("incremental_margin_year_median") or 0.0) + ret["members_fees_kept_year_median"], rel=1e-9)
    _, shown = _money(folder, "retention", "kept_year_with_fees_median")
    index = _text((folder / "index.html").read_text(encoding="utf-8"))
    assert f"{shown} Extra margin and members' fees a year" in index
    page = _text((folder / "03_retention.html").read_text(encoding="utf-8"))
    if ret.get("breakeven_uplift_with_fees") is not None:
        assert "Retention alone does not pay" not in page
        assert "does not pay it at a 100%" not in page


def test_eur_summary_says_the_minimum_wage_check_was_not_run(club_and_eur):
    page = _text((club_and_eur / "eur" / "05_summary.html").read_text(encoding="utf-8"))
    assert "Not checked: A care manager's pay against the minimum wage." in page
    assert "minimum_wage_month: {EUR: amount}" in page
    rub = _text((club_and_eur / "club" / "05_summary.html").read_text(encoding="utf-8"))
    assert "Not checked" not in rub
