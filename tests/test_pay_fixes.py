"""Pay page fixes (tester findings F2, F3): the recommendation never leaves the owner at a loss, and the
page's two "with payroll tax" figures say which is gross and which is net."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.pages.words import catalogue, say
from analysis.sections.compensation import recommend, recommendation_code


def _summary(rows):
    """Made-up scheme results: (scheme, owner_profit_median, prob_below_floor, revenue_slope, profit_slope)."""
    return pd.DataFrame(rows, columns=["scheme", "owner_profit_median", "prob_below_floor",
                                       "revenue_slope", "profit_slope"])


def test_a_scheme_at_a_loss_is_not_recommended_while_another_is_not():
    # F2's salon: the fixed salary passes every old check (market pay, no over-selling reward) but
    # leaves the owner -34,814 a month; the profit share leaves a profit but pays below market more often.
    s = _summary([("fixed", -34_814.0, 0.0, 0.0, 0.0),
                  ("profit_share", 2_000.0, 0.2, 0.0, 0.3),
                  ("greater_of", -60_000.0, 0.0, 0.05, 0.1)])
    t, name = recommend(s, max_prob_below_floor=0.25, max_revenue_slope=0.005)
    assert name == "profit_share"
    assert list(t["owner_not_at_loss"]) == [False, True, False]
    assert list(t["recommended"]) == [False, True, False]
    assert recommendation_code(t) is None


def test_every_scheme_at_a_loss_recommends_none_with_a_code():
    # F2's second instance: the blocks lose money, every scheme leaves the owner at a loss
    s = _summary([("fixed", -163_000.0, 0.0, 0.0, 0.0),
                  ("greater_of", -162_603.0, 0.0, 0.05, 0.1)])
    t, name = recommend(s)
    assert name is None
    assert not t["recommended"].any()
    assert recommendation_code(t) == "all_at_loss"


def test_schemes_keeping_the_manager_all_at_a_loss():
    s = _summary([("fixed", -10.0, 0.0, 0.0, 0.0), ("profit_share", 5.0, 0.9, 0.0, 0.3)])
    t, name = recommend(s)
    assert name is None and recommendation_code(t) == "keeping_at_loss"


def test_no_scheme_keeps_the_manager():
    s = _summary([("a", 10.0, 0.9, 0.0, 0.3), ("b", 20.0, 0.5, 0.0, 0.0)])
    t, name = recommend(s)
    assert name is None and recommendation_code(t) == "none_keeps_manager"


def test_nan_owner_result_counts_as_a_loss():
    s = _summary([("a", np.nan, 0.0, 0.0, 0.3), ("b", 0.0, 0.0, 0.0, 0.3)])
    t, name = recommend(s)
    assert name == "b"     # zero is not a loss


def _old_recommend(summary, max_prob_below_floor=0.25, max_revenue_slope=0.005):
    """The rule before the fix (no owner's-loss check), for the equivalence test."""
    keeps = (summary["prob_below_floor"] <= max_prob_below_floor).to_numpy()
    no_over = (summary["revenue_slope"] <= max_revenue_slope).to_numpy()
    linked = (summary["profit_slope"] > 1e-9).to_numpy()
    profit = summary["owner_profit_median"].to_numpy()
    for ok in (keeps & no_over & linked, keeps & no_over, keeps):
        if ok.any():
            return str(summary["scheme"].iloc[np.flatnonzero(ok)[np.argmax(profit[ok])]])
    return None


@pytest.mark.parametrize("seed", range(200))
def test_random_schemes_property(seed):
    """Never recommends a scheme at a loss while one without a loss keeps the manager; equals the old
    rule whenever every scheme leaves the owner a profit; otherwise the chosen scheme passes the old
    checks among the schemes without a loss."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 6))
    s = _summary([(f"s{i}", float(rng.normal(0, 50_000)), float(rng.choice([0.0, 0.1, 0.3, 0.8])),
                   float(rng.choice([0.0, 0.01])), float(rng.choice([0.0, 0.2]))) for i in range(n)])
    t, name = recommend(s)
    profit = s["owner_profit_median"].to_numpy()
    if name is not None:
        assert s.set_index("scheme").loc[name, "owner_profit_median"] >= 0
        assert name == _old_recommend(s[profit >= 0].reset_index(drop=True))
    else:
        assert _old_recommend(s[profit >= 0].reset_index(drop=True)) is None
        assert recommendation_code(t) in {"all_at_loss", "keeping_at_loss", "none_keeps_manager"}
    if (profit >= 0).all():
        assert name == _old_recommend(s)
    if (profit < 0).all():
        assert name is None and recommendation_code(t) == "all_at_loss"


KEYS = ["compensation.recommend.all_at_loss", "compensation.recommend.keeping_at_loss",
        "compensation.pay.text_gross", "compensation.col.owner_not_at_loss", "xlsx.col.owner_not_at_loss"]


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_new_words_exist_in_both_languages(lang):
    for k in KEYS:
        assert k in catalogue(lang)


def test_all_at_loss_words():
    fields = dict(scheme="Fixed salary", loss="34,814 ₽", profit="89,333 ₽")
    en = say("compensation.recommend.all_at_loss", "en", **fields)
    assert "No scheme pays at this size" in en and "none is recommended" in en
    assert "34,814 ₽" in en and "89,333 ₽" in en and "Fixed salary" in en
    ru = say("compensation.recommend.all_at_loss", "ru", **{**fields, "scheme": "Фиксированный оклад"})
    assert "ни одна схема не окупается" in ru and "«Фиксированный оклад»" in ru and "34,814 ₽" in ru
    assert "Рекомендуется" not in ru


def test_gross_and_net_cost_words_say_which_is_which():
    """F3: 54,904 (the role, net) beside 87,551 (one manager on the scheme, gross) must not read as a
    contradiction: the gross one says nothing is taken off, the net one what is.  "The role's cost" is
    the figure every other page gives (60,310 here); what it adds net of what it replaces is said
    apart (``compensation.net.*``), as a saving when it replaces more than it costs."""
    net = say("compensation.net.adds", "en", value="54,904 ₽")
    fields = dict(median="67,207 ₽", p10="60,000 ₽", p90="75,000 ₽", share="75%", cost="87,551 ₽",
                  gross="60,310 ₽", net=net, managers="1", scheme="Source scheme")
    en = say("compensation.pay.text_gross", "en", **fields)
    assert "87,551 ₽ a month for one manager on this scheme, before anything is taken off" in en
    assert "The role's cost, 60,310 ₽ a month" in en and "is a different figure" in en
    assert "less the commission saved on their own services" in en
    assert "it adds **54,904 ₽** a month" in en
    net_ru = say("compensation.net.saves", "ru", saving="5,031 €")
    ru = say("compensation.pay.text_gross", "ru", **{**fields, "net": net_ru})
    assert "87,551 ₽ в месяц за одного менеджера по этой схеме, ничего не вычитая" in ru
    assert "Стоимость должности, 60,310 ₽ в месяц" in ru and "— другая величина" in ru
    assert "за вычетом комиссии, сэкономленной на их собственных услугах" in ru
    assert "**экономит 5,031 €** в месяц" in ru and "−" not in ru
