"""The pilot: estimand, generator, structural estimate, model-free comparison, design, summary hook.

Validation on known truth uses the sample generator with a pilot of known effect and its default
specialists' departures (40 % of a leaver's attached clients leave with her; departures in hair,
nails and cosmetology at 30 %, 55 % and 78 % of the period):

* coverage (slow): E = 0.4 in hair and nails from 2024-03-01, 3 000 clients over 24 months, seeds
  1–10, the estimator of the page (leavers' clients censored at the departure, baseline fitted before
  ``since``, 400 bootstrap draws).  Measured (``benchmarks/RESULTS.md``, "Pilot: recovery"): the
  P10…P90 interval covers 0.4 in 8 of 10 seeds (7 of 10 without the censoring); the test asks for
  at least 6.
* false positives (slow): the same set with E = 0: the P10 above zero in 0 of 10 seeds (1 of 10
  without the censoring; nominal 10 %); the test allows 3 (P(X >= 4) = 1.3 % at the nominal rate).
* the issue's case (slow): 2 500 clients, seed 11, pilot from 2024-07-01 with E = 0: on an older
  generator the structural estimate read a gain there (0.69, z about 3.5); on this one (fewer
  specialists in a centre under 3 000 clients: another salon for the same seed) it is -0.27 (SE 0.67),
  and over 20 seeds of that setting the null z-scores have SD 0.99 (``benchmarks/RESULTS.md``,
  "Pilot: a conclusion rule with power").  The test keeps asking that it is not concluded a gain.
* the page's conclusion (slow): seeds 1–10 of the coverage setting through ``pilot.analyse``: E = 0
  concluded a gain in 0 of 10, E = 0.4 in 6 of 10 (the structural estimate leads, the model-free DiD
  blocks only a contradiction).
* power: the design's detectable effect for a 6-month pilot (sample seed 11, 2 500 clients, assumed
  effect 0.3: "half the blocks") is found by fitting the estimator on simulated pilots
  (:func:`analysis.sections.pilot.power.simulated_power`); at that effect 40 further simulated pilots
  (seed 2), each measured with the page's rule (bootstrap P10 above zero), show it in 34 of 40
  (0.85; 0.825 with check seed 3; 0.875 and 0.825 with sample seed 12).  Before the calibration the
  design claimed 80 % where 60–70 % was found.  The binomial SD at 40 pilots is 6 points; the test
  allows 0.6–0.97.
"""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.sections import pilot

from analysis.inputs import sample

from analysis.models import simulate
from analysis.models import bgnbd
from analysis.pages import words
from analysis.sections.pilot import did, power, structural
from analysis.run.report import RunOptions, prepare

SINCE = "2024-03-01"
BLOCKS = ["hair", "nails"]


# ----------------------------------------------------------------------------- estimand


def test_home_block_is_the_block_of_most_visits_before_since_else_the_first():
    v = pd.DataFrame({
        "client_id": ["a", "a", "a", "a", "b", "b", "c", "c", "d"],
        "date": pd.to_datetime(["2024-01-01", "2024-01-10", "2024-02-01", "2024-03-05",
                                "2024-01-01", "2024-02-01", "2024-03-02", "2024-03-09", "2024-01-05"]),
        "block": ["hair", "hair", "nails", "nails", "nails", "hair", "spa", "hair", "spa"],
    })
    home = pilot.home_block(v, "2024-03-01")
    assert home["a"] == "hair"            # two hair visits against one nails before `since`
    assert home["b"] == "hair"            # a tie goes to the block visited last before `since`
    assert home["c"] == "spa"             # new after `since`: her first visit's block
    assert home["d"] == "spa"


def test_home_block_ignores_cancelled_rows():
    v = pd.DataFrame({"client_id": ["a", "a", "a"], "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
                      "block": ["hair", "nails", "nails"], "status": ["done", "cancelled", "no_show"]})
    assert pilot.home_block(v, "2024-03-01")["a"] == "hair"


def test_home_block_with_ids_read_as_categories_counts_only_clients_with_a_completed_visit():
    # the runner's cached tables carry ids as categories of the whole file: a client whose only
    # row is cancelled is a category with no completed visit (the page had failed on it)
    v = pd.DataFrame({"client_id": pd.Categorical(["a", "a", "b"], categories=["a", "b", "z"]),
                      "date": pd.to_datetime(["2024-01-01", "2024-03-05", "2024-03-06"]),
                      "block": pd.Categorical(["hair", "nails", "spa"]), "status": ["done", "done", "cancelled"]})
    home = pilot.home_block(v, "2024-03-01")
    assert home.to_dict() == {"a": "hair"}


# ----------------------------------------------------------------------------- generator


def _gen(effect, seed=3, clients=1500, blocks=BLOCKS, **truth):
    return sample.generate(clients=clients, months=24, seed=seed, pilot_since=SINCE, pilot_blocks=blocks,
                           pilot_effect=effect, truth={"attached_leave_share": 0.0, **truth})


def test_generator_writes_the_pilot_truth_and_keeps_visit_days_before_since():
    a, b = _gen(0.0), _gen(0.6)
    assert b.truth["pilot"]["effect"] == 0.6 and b.truth["pilot"]["blocks"] == BLOCKS
    assert b.truth["pilot"]["pilot_group_clients"] + b.truth["pilot"]["control_group_clients"] == 1500

    def before(d):
        v = d.visits[(d.visits["status"] == "done") & (d.visits["date"] < SINCE)]
        return v[["client_id", "date"]].reset_index(drop=True)

    pd.testing.assert_frame_equal(before(a), before(b))


def test_generator_effect_is_the_estimand():
    # with the true baseline, the likelihood of the estimand finds the generator's effect: strong
    # effect found, none when there is none (3 000 clients, one seed; SE about 0.15)
    found = {}
    for effect in (0.0, 0.8):
        d = _gen(effect, clients=3000)
        rows = _rows(d)
        p = d.truth["bgnbd"]
        lik = structural.EffectLikelihood(rows["x0"], rows["x1"], rows["tx"], rows["T"], rows["pilot"], [p, p])
        found[effect] = structural.fit_effect(lik, control=True).effect
    assert found[0.8] > 0.45 and abs(found[0.0]) < 0.45, found


def test_sample_without_pilot_arguments_has_no_pilot(tmp_path):
    out = sample.write_sample(tmp_path / "s", clients=300, months=6, seed=1)
    assert "pilot" not in yaml.safe_load((out / "ground_truth.yaml").read_text(encoding="utf-8"))
    assert "care_manager" not in yaml.safe_load((out / "study.yaml").read_text(encoding="utf-8"))


def test_cli_pilot_options(run_cli, tmp_path):
    ok = run_cli("sample", tmp_path / "p", "--clients", "300", "--months", "12", "--pilot-since", "2023-07-01",
                 "--pilot-blocks", "hair,nails", "--pilot-effect", "0.3")
    assert ok.returncode == 0, ok.stderr
    truth = yaml.safe_load((tmp_path / "p" / "ground_truth.yaml").read_text(encoding="utf-8"))
    assert truth["pilot"]["effect"] == 0.3 and truth["pilot"]["since"] == "2023-07-01"
    cfg = yaml.safe_load((tmp_path / "p" / "study.yaml").read_text(encoding="utf-8"))
    assert cfg["care_manager"] == {"since": "2023-07-01", "pilot_blocks": ["hair", "nails"]}
    outside = run_cli("sample", tmp_path / "q", "--clients", "300", "--months", "12", "--pilot-since", "2025-03-01")
    assert outside.returncode == 2 and "--pilot-since" in outside.stderr and "Traceback" not in outside.stderr
    assert not (tmp_path / "q").exists()
    alone = run_cli("sample", tmp_path / "r", "--clients", "300", "--pilot-effect", "0.3")
    assert alone.returncode == 2 and "--pilot-since" in alone.stderr


# ----------------------------------------------------------------------------- structural model


def _rows(d, blocks=BLOCKS):
    v = d.visits
    home = pilot.home_block(v, SINCE)
    ids = home.index[home.isin(blocks)] if blocks else home.index
    return structural.client_rows(v, SINCE, pd.to_datetime(v["date"]).max(), 7.0, ids)


def test_likelihood_without_effect_is_the_bgnbd_likelihood():
    d = _gen(0.3)
    rows = _rows(d)
    p = d.truth["bgnbd"]
    lik = structural.EffectLikelihood(rows["x0"], rows["x1"], rows["tx"], rows["T"], rows["pilot"], [p, p])
    data = bgnbd._Data(rows["x0"] + rows["x1"], rows["tx"], rows["T"])
    ref = -data.negll_grad(np.array([p[k] for k in ("r", "alpha", "a", "b")]))[0]
    assert lik((0.0, 0.0, 0.0)) == pytest.approx(ref, rel=1e-10)
    # the effect only touches the pilot group after `since`: control-only clients are unchanged
    ctl = ~rows["pilot"].to_numpy()
    assert np.allclose(lik.per_client(0.0, 0.0, 0.5)[ctl], lik.per_client(0.0, 0.0, 0.0)[ctl])


def test_clients_of_a_leaving_specialist_are_observed_until_the_day_before():
    v = pd.DataFrame({
        "client_id": ["a", "a", "a", "b", "b", "b", "c", "c"],
        "date": pd.to_datetime(["2024-01-10", "2024-02-10", "2024-05-01", "2024-01-05", "2024-02-01",
                                "2024-04-20", "2022-01-01", "2024-05-02"]),
        "specialist_id": ["S1", "S1", "S2", "S2", "S2", "S2", "S1", "S2"],
        "block": "hair",
    })
    staff = pd.DataFrame({"specialist_id": ["S1", "S2"], "block": ["hair", "hair"],
                          "left": pd.to_datetime(["2024-03-01", None])})
    cen = structural.leaver_censoring(v, staff)
    # a: served by S1 in the year before S1 left; c: served by S1, but more than a year before
    assert list(cen.index) == ["a"] and cen["a"] == pd.Timestamp("2024-02-29")
    rows = structural.client_rows(v, "2024-04-01", "2024-06-30", 1.0, ["a"], censor=cen)
    a = rows.loc["a"]
    assert (a["x0"], a["x1"], a["tx"], a["T"]) == (1.0, 0.0, 31.0, 50.0)        # the May visit is dropped
    assert (a["x_pre"], a["T_pre"]) == (1.0, 50.0)
    b = rows.loc["b"]
    assert (b["x0"], b["x1"], b["T"], b["T_pre"]) == (1.0, 1.0, 177.0, 86.0)     # untouched


def test_score_bootstrap_spread_matches_the_standard_error():
    d = _gen(0.4, clients=3000)
    rows = _rows(d)
    base = structural.fit_baseline(rows)
    lik = structural.EffectLikelihood(rows["x0"], rows["x1"], rows["tx"], rows["T"], rows["pilot"], [base, base])
    fit = structural.fit_effect(lik, control=True)
    draws = structural.bootstrap_effect(lik, fit, True, 400, np.random.default_rng(0))
    assert np.median(draws) == pytest.approx(fit.effect, abs=0.05)
    # bootstrap by client gives the robust (sandwich) SD, close to the model's when the model is right
    assert 0.6 < np.std(draws) / fit.se < 1.6


# ----------------------------------------------------------------------------- model-free


def test_difference_in_differences_of_a_known_shift():
    # two groups, one visit a month each; after `since` the pilot group comes every month, the control
    # group every other month: the lapse rate is unchanged (no gap > 90 days) but visits per month differ
    rows = []
    for c in range(40):
        piloted = c < 20
        for m in range(24):
            after = m >= 12
            if after and not piloted and m % 2:
                continue
            rows.append({"client_id": f"c{c}", "date": pd.Timestamp("2023-01-05") + pd.DateOffset(months=m),
                         "amount": 1000.0 * (1.1 if piloted and after else 1.0), "block": "hair" if piloted else "spa"})
    v = pd.DataFrame(rows)
    vd = did.visit_days(v, "2024-01-01", [f"c{c}" for c in range(20)])
    cmp = did.compare(vd, control=True, n_boot=50)
    t = cmp.table.set_index("outcome")
    assert t.loc["ticket", "change"] == pytest.approx(0.1, abs=1e-9)
    assert t.loc["visits_per_client_month", "change"] == pytest.approx(0.5, abs=0.1)
    assert t.loc["lapse_rate", "change"] == pytest.approx(0.0, abs=1e-9)
    assert t.loc["services_per_visit", "change"] == pytest.approx(0.0, abs=1e-12)


def test_resampling_keeps_group_sizes_in_every_chunk():
    from analysis.sections.pilot.resample import resampled_sums

    groups = np.r_[np.zeros(250, bool), np.ones(130, bool)]
    A = np.stack([np.ones(380), groups.astype(float), np.arange(380.0)], 1)
    s = resampled_sums(groups, A, 200, seed=1, chunk=37)
    assert np.all(s[:, 0] == 380) and np.all(s[:, 1] == 130)
    assert s[:, 2].mean() == pytest.approx(A[:, 2].sum(), rel=0.01)
    np.testing.assert_array_equal(s, resampled_sums(groups, A, 200, seed=1, chunk=37))


def test_gini():
    assert did.gini([5, 5, 5, 5]) == pytest.approx(0.0)
    assert did.gini([0, 0, 0, 10]) == pytest.approx(0.75)


# ----------------------------------------------------------------------------- the section


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    root = tmp_path_factory.mktemp("pilot")
    kw = dict(clients=1200, months=24, seed=5)
    return {
        "none": sample.write_sample(root / "none", **kw),
        "pilot": sample.write_sample(root / "pilot", pilot_since=SINCE, pilot_blocks=BLOCKS, pilot_effect=0.4,
                                     **{**kw, "clients": 3000}),
        "all": sample.write_sample(root / "all", pilot_since=SINCE, pilot_effect=0.4, **kw),
        "recent": sample.write_sample(root / "recent", pilot_since="2024-12-01", pilot_blocks=BLOCKS,
                                      pilot_effect=0.4, **kw),
    }


def _analyse(path, overrides=None):
    study, tables = prepare(path, RunOptions(overrides=overrides or {}))
    return study, tables, pilot.analyse(study, tables, n_boot=100)


def test_study_without_pilot_gets_the_design_and_no_effect_keys(studies):
    _, _, pa = _analyse(studies["none"])
    fig = pilot.figures(pa)
    assert not pa.measured and "effect_median" not in fig and "pretrend_ok" not in fig
    assert {"detectable_effect", "months_needed"} <= set(fig)
    t = pa.design.table
    assert set(t["option"]) >= {"one_block", "everyone"} and pa.design.recommended != "everyone"
    assert (t["detectable_effect"] > 0).all()
    assert fig["detectable_effect"] is not None or fig["detectable_effect_note"] == "pilot.headline.over_all"
    if fig["months_needed"] is None:
        assert fig["months_needed_note"] == "pilot.note.not_within"


def test_study_with_pilot_measures_it(studies):
    study, tables, pa = _analyse(studies["pilot"])
    fig = pilot.figures(pa)
    assert pa.control and pa.measured
    for key in ("effect_p10", "effect_median", "effect_p90", "new_client_return_change", "ticket_change",
                "pretrend_ok", "months_needed", "detectable_effect"):
        assert key in fig
    assert fig["effect_p10"] <= fig["effect_median"] <= fig["effect_p90"]
    assert isinstance(fig["pretrend_ok"], bool)
    # the measurement stands in for the assumption whenever the page concludes
    wide = pilot.decision_note(study, pa)
    assert (pilot.effect_for_decision(study, tables, pa) is None) == (wide is not None)
    study2, tables2, pa2 = _analyse(studies["pilot"], {"retention": {"care_manager_effect":
                                                                     {"low": 0.0, "mode": 0.2, "high": 1.0}}})
    m = pilot.effect_for_decision(study2, tables2, pa2)
    assert fig["conclusion"] in pilot.study.CONCLUSIONS
    # the measurement reaches the summary unless the model-free DiD contradicts the structural estimate
    assert (m is None) == (pa2.conclusion == "disagree"), pa2.conclusion
    if m is not None:
        d = pilot.use_measured_effect(simulate.draws(study2, n=500), m)
        e = d["retention.care_manager_effect"]
        assert e.shape == (500,) and np.all(np.isin(e, np.clip(pa2.effect_draws, -1, 1)))
        assert words.note_text(pilot.summary_note(m), "ru")


def test_every_block_piloted_is_before_after_against_a_year_earlier(studies):
    study, tables, pa = _analyse(studies["all"])
    fig = pilot.figures(pa)
    assert not pa.control and fig["pretrend_ok"] is None
    assert pa.comparison.year_earlier
    assert "pilot.note.before_after_only" in {n.code for n in pa.notes}
    # the design's own error: the same estimate at made-up starts before the real one, on data
    # that end before it, and the range widened by its spread
    pl = pa.placebo
    assert pl.available and "pilot.note.placebo" in {n.code for n in pa.notes}
    assert all(s < e < pa.since for s, e in zip(pl.starts, pl.ends))
    p10, _, p90 = pa.effect_quantiles()
    # at least about the placebo spread's own range, or the whole range E can take (E_BOUNDS … 100%)
    from analysis.sections.pilot import structural
    full = 1.0 - structural.E_BOUNDS[0]
    assert p90 - p10 >= min(2 * 1.28 * pl.spread * 0.8, 0.8 * full), (p10, p90, pl.spread)
    # a before/after range whose placebo spread is not small does not reach the summary
    assert pl.small or pilot.effect_for_decision(study, tables, pa) is None, (pl.spread, p10, p90)
    for note in pa.notes:                                       # every note words in both languages
        assert words.note_text(note, "en") and words.note_text(note, "ru")


def test_recent_pilot_says_how_many_more_months(studies):
    # an assumed effect large enough to be shown within the 36 months simulated
    big = {"retention": {"care_manager_effect": {"low": 0.5, "mode": 0.7, "high": 0.9}}}
    _, _, pa = _analyse(studies["recent"], big)
    codes = {n.code: n for n in pa.notes}
    assert "pilot.note.too_recent" in codes, (codes, pa.design.table)
    assert codes["pilot.note.too_recent"].n == pilot.figures(pa)["more_months_needed"] >= 1
    # with the default assumption the pilot is told it cannot show the effect within 36 months
    _, _, pa = _analyse(studies["recent"])
    fig = pilot.figures(pa)
    assert fig["months_needed"] is not None or "pilot.note.not_within" in {n.code for n in pa.notes}


def test_months_since_the_start_are_calendar_months():
    cm = pilot.study.calendar_months
    assert cm("2024-06-01", "2024-06-30") == 1.0          # all of June: one month, not 30 / 30.44
    assert cm("2024-02-01", "2024-02-29") == 1.0
    assert cm("2024-01-15", "2024-03-14") == 2.0
    assert cm("2024-06-01", "2024-06-15") == pytest.approx(15 / 30)
    assert cm("2024-06-01", "2024-05-31") == 0.0


def test_a_one_month_pilot_is_a_month_and_its_months_needed_are_always_given(studies):
    from analysis.sections import summary

    # the data end on 2024-12-31; a pilot from 1 December has one full calendar month, 2 December less
    _, _, pa = _analyse(studies["recent"])
    assert pa.elapsed_months == 1.0 and "pilot.note.too_short" not in {n.code for n in pa.notes}
    _, _, pa2 = _analyse(studies["recent"], {"care_manager": {"since": "2024-12-02"}})
    assert pa2.elapsed_months < 1 and "pilot.note.too_short" in {n.code for n in pa2.notes}
    for p in (pa, pa2):
        fig = pilot.figures(p)
        assert "more_months_needed" in fig
        if fig["more_months_needed"] is None:       # a code saying why, never a silent gap
            assert fig["more_months_needed_note"] in ("pilot.note.not_within", "pilot.note.design_failed")
        else:
            assert isinstance(fig["more_months_needed"], int) and fig["more_months_needed"] >= 0
    # the summary's sentence for a running pilot never prints a dash for the months
    study, _ = prepare(studies["recent"], RunOptions())
    for months in (None, 4):
        adv = summary.PilotAdvice("running", ["hair"], ["nails"], months=months, since=pd.Timestamp("2024-12-01"))
        for lang in ("en", "ru"):
            text = " ".join(summary.pilot_advice_text(adv, study, lang))
            assert "–" not in text, text
            assert (str(power.MAX_MONTHS) if months is None else "4") in text, text


def test_bare_visits_design_before_after_only(tmp_path, studies):
    v = pd.read_csv(studies["none"] / "visits.csv")
    d = tmp_path / "bare"
    d.mkdir()
    v[["client_id", "date", "amount"]].to_csv(d / "visits.csv", index=False)
    (d / "study.yaml").write_text("name: Bare\n", encoding="utf-8")
    _, _, pa = _analyse(d)
    assert list(pa.design.table["option"]) == ["everyone"]
    (d / "study.yaml").write_text("name: Bare\ncare_manager:\n  since: 2024-03-01\n  pilot_blocks: [hair]\n",
                                  encoding="utf-8")
    _, _, pa = _analyse(d)
    assert "pilot.note.no_blocks" in {n.code for n in pa.notes} and not pa.control
    # a before/after pilot with too little data before it to check at made-up starts: no range is
    # given (the summary keeps the assumption), rather than one the salon's trends could make up
    (d / "study.yaml").write_text("name: Bare\ncare_manager:\n  since: 2023-07-01\n", encoding="utf-8")
    study, tables, pa = _analyse(d)
    # (here the before/after estimate also runs to the model's bound, -300 %: the salon's own trend)
    assert not pa.measured and {"pilot.note.placebo_unavailable", "pilot.note.on_bound"} & {n.code for n in pa.notes}
    assert all(words.note_text(n, "ru") for n in pa.notes)
    assert "effect_median" not in pilot.figures(pa)
    assert pilot.effect_for_decision(study, tables, pa) is None


def test_pilot_start_outside_the_data_is_noted_and_the_design_shown(studies):
    # the runner refuses such a date (exit 2, see test_hardening); the page's own guard, called directly
    from analysis.inputs import data
    from analysis.inputs.study import load_study

    study = load_study(studies["none"], {"care_manager": {"since": "2030-01-01", "pilot_blocks": ["spa"]}})
    pa = pilot.analyse(study, data.load_tables(study), n_boot=100)
    assert "pilot.note.since_outside" in {n.code for n in pa.notes}
    assert not pa.measured and pa.design is not None


def test_without_pilot_the_summary_keeps_the_assumption(studies):
    study, tables = prepare(studies["none"], RunOptions())
    assert pilot.effect_for_decision(study, tables, lambda: 1 / 0) is None
    d = simulate.draws(study, n=10)
    assert pilot.use_measured_effect(d, None) is d


def test_every_note_code_is_in_the_catalogues():
    import re
    from pathlib import Path

    src = "".join(p.read_text(encoding="utf-8") for p in Path(pilot.__file__).parent.glob("*.py"))
    codes = set(re.findall(r'Note\("(pilot\.[a-z_.]+)"', src))
    assert codes and all(words.has(c) for c in codes), codes - {c for c in codes if words.has(c)}


# ----------------------------------------------------------------------------- validation (slow)


def _measure(effect, seed):
    d = sample.generate(clients=3000, months=24, seed=seed, pilot_since=SINCE, pilot_blocks=BLOCKS,
                        pilot_effect=effect)          # with the specialists' departures
    v = d.visits
    home = pilot.home_block(v, SINCE)
    rows = structural.client_rows(v, SINCE, pd.to_datetime(v["date"]).max(), 7.0, home.index[home.isin(BLOCKS)],
                                  censor=structural.leaver_censoring(v, d.staff))
    base = structural.fit_baseline(rows)
    lik = structural.EffectLikelihood(rows["x0"], rows["x1"], rows["tx"], rows["T"], rows["pilot"], [base, base])
    fit = structural.fit_effect(lik, control=True)
    draws = structural.bootstrap_effect(lik, fit, True, 400, np.random.default_rng(seed))
    return np.quantile(draws, [0.1, 0.9])


@pytest.mark.slow
def test_interval_covers_the_true_effect_in_most_seeds():
    hits = [lo <= 0.4 <= hi for lo, hi in (_measure(0.4, s) for s in range(1, 11))]
    assert sum(hits) >= 6, hits


@pytest.mark.slow
def test_no_effect_is_rarely_reported_as_a_gain():
    gains = [lo > 0 for lo, _ in (_measure(0.0, s) for s in range(1, 11))]
    assert sum(gains) <= 3, gains


def test_power_agrees_with_the_detection_rate_by_simulation():
    # the claimed 80 % power at the detectable effect against 40 simulated pilots measured with the
    # page's own estimator and rule (see the module docstring for the figures)
    d = sample.generate(clients=2500, months=24, seed=11)
    inp = pilot.study.design_inputs(d.visits, pd.to_datetime(d.visits["date"]).max(), "W")
    dz = power.design(**inp, assumed_effect=0.3, seed=1)
    row = dz.row()
    option = power.Option(dz.recommended, row["blocks"], row["share"])
    effect = float(row["detectable_effect"])
    assert 0 < effect < 1 and dz.calibration > 0
    rate = power.detection_rate(**inp, option=option, effect=effect, months=6, reps=40, seed=2)
    assert 0.6 <= rate <= 0.97, (effect, rate)


@pytest.mark.slow
def test_the_issues_null_case_is_not_concluded_a_gain(tmp_path):
    out = sample.write_sample(tmp_path / "s", clients=2500, months=24, seed=11, pilot_since="2024-07-01",
                              pilot_blocks=BLOCKS, pilot_effect=0.0)
    study, tables = prepare(out, RunOptions())
    pa = pilot.analyse(study, tables, n_boot=200)
    assert pa.conclusion != "gain", pa.effect_quantiles()
    assert pilot.figures(pa)["conclusion"] == pa.conclusion
    if pa.conclusion == "disagree":
        assert pilot.decision_note(study, pa) is not None
        assert pilot.effect_for_decision(study, tables, pa) is None


@pytest.mark.slow
def test_pilot_notebook_records_the_measured_effect(tmp_path, studies):
    import papermill as pm
    from pathlib import Path

    nbf = Path(__file__).resolve().parents[1] / "notebooks" / "07_pilot.ipynb"
    for name, lang in (("pilot", "ru"), ("none", "en")):
        res = tmp_path / f"{name}.json"
        pm.execute_notebook(str(nbf), str(tmp_path / f"{name}.ipynb"), kernel_name="python3", progress_bar=False,
                            parameters={"study_dir": str(studies[name]), "lang": lang, "results_path": str(res)})
        fig = json.loads(res.read_text(encoding="utf-8"))["figures"]["pilot"]
        assert ("effect_median" in fig) == (name == "pilot")
        assert "detectable_effect" in fig


# ----------------------------------------------------------------------------- the decision's guard


def _measured(p10, p50, p90, control=True, pretrend_ok=True, lapse=None, placebo_small=None):
    """A measured pilot; ``lapse`` is the (P10, P90) of the model-free DiD of the lapse rate (by
    default the one that agrees with the structural range: minus it, in points); ``placebo_small``
    whether its placebo spread is small (None: no placebo computed)."""
    from types import SimpleNamespace

    lo, hi = lapse if lapse is not None else (-p90 / 10, -p10 / 10)
    table = pd.DataFrame({"outcome": ["lapse_rate"], "change": [(lo + hi) / 2], "change_p10": [lo],
                          "change_p90": [hi]})
    pl = None if placebo_small is None else SimpleNamespace(small=placebo_small)
    return SimpleNamespace(measured=True, effect_quantiles=lambda: (p10, p50, p90), control=control,
                           event=SimpleNamespace(pretrend_ok=pretrend_ok), comparison=SimpleNamespace(table=table),
                           placebo=pl)


def test_the_structural_estimate_leads_and_the_did_blocks_only_a_contradiction():
    c = pilot.study.conclusion
    assert c(_measured(0.1, 0.2, 0.3)) == "gain"                              # both: gain
    assert c(_measured(0.1, 0.2, 0.3, lapse=(-0.02, 0.01))) == "gain"         # the DiD includes 0: no veto
    assert c(_measured(0.1, 0.2, 0.3, lapse=(0.01, 0.03))) == "disagree"      # the DiD points the other way
    assert c(_measured(-0.1, 0.2, 0.5, lapse=(-0.03, -0.01))) == "no_change"  # the model shows nothing
    assert c(_measured(-0.1, 0.1, 0.3, lapse=(-0.02, 0.01))) == "no_change"
    assert c(_measured(-0.5, -0.3, -0.1, lapse=(-0.01, 0.03))) == "loss"
    assert c(_measured(-0.5, -0.3, -0.1, lapse=(-0.03, -0.01))) == "disagree"
    assert c(_measured(0.1, 0.2, 0.3, lapse=(float("nan"), float("nan")))) == "gain"
    assert c(SimpleNamespace(measured=False)) is None
    # a contradiction is not fed to the summary as a gain, and is said in words
    from analysis.inputs.study import load_study
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "study.yaml").write_text("retention: {care_manager_effect: {low: 0.0, mode: 0.15, high: 0.6}}\n")
        study = load_study(Path(d))
    note = pilot.decision_note(study, _measured(0.1, 0.2, 0.3, lapse=(0.01, 0.03)))
    assert note.code == "pilot.summary.not_used_disagree" and words.has(note.code)
    assert pilot.decision_note(study, _measured(0.1, 0.2, 0.3)) is None
    assert pilot.decision_note(study, _measured(0.1, 0.2, 0.3, lapse=(-0.02, 0.01))) is None
    for code in pilot.study.CONCLUSIONS + ("rule",):
        assert words.has(f"pilot.conclusion.{code}")
    for code in pilot.study.CONCLUSIONS:
        assert words.has(f"pilot.conclusion_short.{code}")


def test_a_measured_effect_replaces_the_assumption_whenever_the_page_concludes(tmp_path):
    from analysis.inputs.study import load_study

    (tmp_path / "study.yaml").write_text("retention: {care_manager_effect: {low: 0.05, mode: 0.15, high: 0.30}}\n")
    study = load_study(tmp_path)
    # the page concludes a gain: used, even when its range is wider than the kit's assumed one
    assert pilot.decision_note(study, _measured(0.10, 0.20, 0.30)) is None
    assert pilot.decision_note(study, _measured(0.12, 0.42, 0.73)) is None
    # the page says the estimates contradict each other: kept out, with the page's reason
    note = pilot.decision_note(study, _measured(0.1, 0.2, 0.3, lapse=(0.01, 0.03)))
    assert note.code == "pilot.summary.not_used_disagree"


def test_without_a_control_group_only_a_small_placebo_spread_reaches_the_summary(tmp_path):
    # before/after (every block piloted) always carries a comparison against a year earlier: that is
    # not a control group, so the gate is the placebo spread whatever the comparison holds
    from analysis.inputs.study import load_study

    (tmp_path / "study.yaml").write_text("retention: {care_manager_effect: {low: 0.05, mode: 0.15, high: 0.30}}\n")
    study = load_study(tmp_path)
    for lapse in (None, (-0.02, 0.01)):
        for p in ((0.1, 0.2, 0.3), (-0.3, 0.0, 0.3)):
            wide = pilot.decision_note(study, _measured(*p, control=False, pretrend_ok=None, lapse=lapse,
                                                        placebo_small=False))
            none = pilot.decision_note(study, _measured(*p, control=False, pretrend_ok=None, lapse=lapse))
            assert wide.code == none.code == "pilot.summary.not_used_no_control" and words.has(wide.code)
            assert pilot.decision_note(study, _measured(*p, control=False, pretrend_ok=None, lapse=lapse,
                                                        placebo_small=True)) is None
    # with a control group the placebo spread does not gate (it widens the range instead)
    assert pilot.decision_note(study, _measured(0.1, 0.2, 0.3, placebo_small=False)) is None


def test_placebo_excess_is_the_scatter_beyond_the_placebos_own_errors():
    from analysis.sections.pilot import placebo

    def pl(est, se):
        return placebo.Placebo([None] * len(est), [None] * len(est), np.asarray(est, float), np.asarray(se, float))

    # estimates within their own errors: no design error, the draws are left as they are
    calm = pl([0.3, -0.2, 0.1, -0.4], [0.5, 0.4, 0.3, 0.6])
    assert calm.excess == 0.0 and calm.n_excess == 4
    d = np.random.default_rng(0).normal(0.3, 0.1, 2000)
    assert np.array_equal(placebo.design_error(d, calm, np.random.default_rng(1)), d)
    # placebos scattered far beyond their errors (blocks trending apart): tau^2 = mean(est^2 - se^2)
    drift = pl([0.6, -0.5, 0.7, -0.6, np.nan], [0.1, 0.1, 0.1, 0.1, np.nan])
    tau = np.sqrt(np.mean(np.array([0.6, 0.5, 0.7, 0.6]) ** 2 - 0.01))
    assert drift.n_excess == 4 and drift.excess == pytest.approx(tau)
    w = placebo.design_error(d, drift, np.random.default_rng(1))
    assert np.std(w) > 3 * np.std(d) and abs(np.median(w) - np.median(d)) < 0.1
    # fewer than MIN_EXCESS placebo estimates: not trusted, the draws unchanged
    few = pl([0.9, -0.9, np.nan], [0.1, 0.1, np.nan])
    assert few.n_excess < placebo.MIN_EXCESS
    assert np.array_equal(placebo.design_error(d, few, np.random.default_rng(1)), d)


def test_every_pilot_word_is_used():
    # every key of the catalogue's pilot region is said somewhere: literally in the pilot code, the
    # page, the notebook or the summary, or built from a prefix the code fills in
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    cat = (root / "src/analysis/pages/catalogue/en.yaml").read_text(encoding="utf-8")
    region = cat[cat.index("# --- pilot:"):]
    region = region[:region.index("\n# --- ", 1)]
    keys = re.findall(r"^(pilot\.[a-z0-9_.]+):", region, flags=re.M)
    src = "".join(p.read_text(encoding="utf-8") for p in list((root / "src/analysis").rglob("*.py"))
                  + [root / "notebooks/07_pilot.ipynb"])
    dynamic = ("pilot.col.", "pilot.outcome.", "pilot.design.option.", "pilot.conclusion.", "pilot.conclusion_short.")
    unused = [k for k in keys if k not in src and not k.startswith(dynamic)]
    assert keys and not unused, unused


def test_pilot_blocks_absent_from_the_data_are_an_input_error(tmp_path):
    from analysis.errors import InputError
    from analysis.run.report import RunOptions, prepare

    out = sample.write_sample(tmp_path / "s", clients=300, months=6, seed=1)
    with open(out / "study.yaml", "a", encoding="utf-8") as fh:
        fh.write("care_manager: {since: 2023-05-01, pilot_blocks: [hair, massagee]}\n")
    with pytest.raises(InputError, match=r"care_manager.pilot_blocks.*massagee"):
        prepare(out, RunOptions())


def _before_after(seed, effect=0.0):
    """The page's before/after estimate (every client in the pilot group) on a generated salon: 1 500
    clients over 30 months, "pilot" from 2024-06-01 with the given true effect; the computation of
    :func:`pilot.analyse` without a control group (score bootstrap, baseline refits, placebo)."""
    from analysis.sections.pilot import placebo

    since = "2024-06-01"
    d = sample.generate(clients=1500, months=30, seed=seed, pilot_since=since, pilot_effect=effect)
    v = d.visits
    end = pd.to_datetime(v["date"]).max().normalize()
    cens = structural.leaver_censoring(v, d.staff)
    rows = structural.client_rows(v, since, end, 7.0, pd.Index(pd.unique(v["client_id"])), censor=cens)
    base = structural.fit_baseline(rows)
    lik = structural.EffectLikelihood(rows["x0"], rows["x1"], rows["tx"], rows["T"], rows["pilot"], [base, base])
    fit = structural.fit_effect(lik, control=False)
    rng = simulate.key_rng(seed, "pilot:bootstrap")
    draws = structural.bootstrap_effect(lik, fit, False, 200, rng)
    pl = placebo.placebo(v, since, end, 7.0, censor=cens)
    return np.quantile(draws, [0.1, 0.9]), np.quantile(pilot.study.before_after_draws(rows, fit, draws, pl, rng), [0.1, 0.9])


@pytest.mark.slow
def test_before_after_range_covers_a_null_effect_and_never_claims_a_gain():
    # documented set: seeds 1..10 (benchmarks/RESULTS.md, "Pilot: before/after without a control
    # group"); the score bootstrap alone covered 0 in 4 of 10 and claimed a gain (P10 > 0) in 3
    plain, wide = zip(*(_before_after(s) for s in range(1, 11)))
    covers = sum(lo <= 0 <= hi for lo, hi in wide)
    gains = sum(lo > 0 for lo, _ in wide)
    assert covers >= 8 and gains <= 1, (wide, plain)
    assert all(w[1] - w[0] >= p[1] - p[0] - 1e-9 for w, p in zip(wide, plain))


# ----------------------------------------------------------------------------- the page's conclusion (slow)


def _page_conclusion(effect, seed, tmp_path, n_boot=200):
    """The page's measurement (``pilot.analyse`` without the design, which the conclusion does not
    use) on a generated study: 3 000 clients over 24 months, pilot in hair and nails from 2024-03-01
    (ten months of pilot), default departures."""
    out = sample.write_sample(tmp_path / f"s{seed}_{effect}", clients=3000, months=24, seed=seed, pilot_since=SINCE,
                              pilot_blocks=BLOCKS, pilot_effect=effect)
    study, tables = prepare(out, RunOptions())
    pa = pilot.analyse(study, tables, n_boot=n_boot)
    return pa.effect_quantiles(), pa.conclusion


@pytest.mark.slow
def test_the_page_concludes_a_real_gain_in_most_seeds_and_a_null_one_rarely(tmp_path, monkeypatch):
    # documented set: seeds 1..10 (benchmarks/RESULTS.md, "Pilot: a conclusion rule with power"; 400
    # draws there, 200 here to keep the sweep near a CPU-minute).  Measured: E = 0 concluded a gain in
    # 0 of 10 (a loss in 2: the nominal rate of a P10 or P90 is 1 in 10 each way), E = 0.4 a gain in 6
    # of 10 (was 1 of 10 when the DiD had to show the change too); P10…P90 covers the truth in 8 of 10
    # for both.
    def no_design(*a, **k):
        raise ValueError("the conclusion does not use the design")

    monkeypatch.setattr(pilot.study, "_design", no_design)
    res = {e: [_page_conclusion(e, s, tmp_path) for s in range(1, 11)] for e in (0.0, 0.4)}
    gains = {e: sum(c == "gain" for _, c in r) for e, r in res.items()}
    covers = {e: sum(q[0] <= e <= q[2] for q, _ in r) for e, r in res.items()}
    assert gains[0.0] <= 2 and gains[0.4] >= 6, (gains, res)
    assert covers[0.0] >= 7 and covers[0.4] >= 7, (covers, res)
