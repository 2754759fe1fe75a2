"""Every headline figure of ``results.json``, declared once.

A :class:`Figure` says where a figure lives (``section`` and ``key`` under ``figures`` in
``results.json``), what it means (its label in the word catalogues, ``summary.figure.<section>.<key>``),
its unit and how a page formats it.  ``results.json`` (the notebooks' ``ctx.record``), the index cards
(:func:`index_rows`, read by :mod:`analysis.run.report`), the summary's table of the other sections'
figures and the figures sheet of ``tables.xlsx`` (:func:`table`) all read this declaration;
``tests/test_figures.py`` checks that every recorded figure is declared and that every index figure is
present in the sample's ``results.json``.

Units: ``money`` (the study's currency), ``fraction`` (0.05 = 5 %), ``count``, ``months``, ``days``,
``minutes``, ``number`` (a model parameter or a slope), ``text`` (a label already in words), ``code``
(a value from the kit's vocabulary: a verdict, a scheme or setup name, a catalogue key), ``flag``
(true / false) and ``codes`` (a list of codes).

A key may hold a placeholder in angle brackets (``<scheme>_pay_median``): a family of figures, one per
scheme, setup or part.  ``when`` says when a figure may be absent (the pilot's measured effect exists
only with a pilot; ``npv_median_if_<setup>`` only when today's setup is unknown); a figure without
``when`` is recorded on every run.  Distinct quantities have distinct keys: ``retention.breakeven_uplift``
(the cut of dropout at which retention pays the role's cost less what it replaces) is not
``summary.decision_breakeven_effect`` (the cut at which the whole decision breaks even).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

#: ``results.json`` layout version; see CHANGELOG.md for what changed between versions.
SCHEMA_VERSION = 2

UNITS = ("money", "fraction", "count", "months", "days", "minutes", "number", "text", "code", "flag", "codes")
#: How a page writes a value: money, pct (percent), prob (a chance in words), num / num1 / num2
#: (decimals), month (a month number, or "not within the horizon"), verdict (the verdict's words),
#: text, raw (not shown to readers).
FORMATS = ("money", "pct", "prob", "num", "num1", "num2", "month", "verdict", "text", "raw")

__all__ = ["SCHEMA_VERSION", "UNITS", "FORMATS", "Figure", "FIGURES", "find", "is_declared", "undeclared",
           "index_figures", "index_rows", "replaced_on_card", "missing_index_figures", "label", "format_value", "format_as", "table",
           "label_fields"]


@dataclass(frozen=True)
class Figure:
    """One headline figure.

    Attributes
    ----------
    section, key : str
        Where it sits in ``results.json`` (``figures.<section>.<key>``); ``key`` may hold a
        ``<placeholder>`` (a family of figures).
    unit : str
        One of :data:`UNITS`.
    format : str
        One of :data:`FORMATS`.
    index : bool
        Shown on the study's index card of its section (and on the portfolio page).
    when : str or None
        When the figure may be absent (``pilot``, ``pilot_measured``, ``setup_unknown``, ``missing``
        — a note key recorded only when the value is missing, ``decided`` — the NPV figures, left out
        when the verdict is ``not_enough_data``: they would be guesses, not answers); None: recorded
        on every run.
    instead_of : str or None
        On a study's index card, shown in place of the figure ``instead_of`` of the same section
        when both were recorded (the break-even with members' fees stands in for the one from the
        visits' margin alone, as the retention page leads with it); the portfolio shows both, each
        named by its label.
    """

    section: str
    key: str
    unit: str
    format: str = "num"
    index: bool = False
    when: str | None = None
    instead_of: str | None = None

    @property
    def label_key(self) -> str:
        """The label's key in the word catalogues."""
        return f"summary.figure.{self.section}.{re.sub(r'[<>]', '', self.key)}"

    @property
    def pattern(self) -> re.Pattern:
        return re.compile("^" + re.sub(r"<(\w+)>", r"(?P<\1>[a-z0-9_]+?)", re.escape(self.key).replace(r"\<", "<")
                                       .replace(r"\>", ">")) + "$")

    def matches(self, section: str, key: str) -> dict | None:
        """The placeholders' values when ``section.key`` is this figure, else None."""
        if section != self.section:
            return None
        m = self.pattern.match(key)
        return m.groupdict() if m else None


def _f(section, key, unit, fmt="num", index=False, when=None, instead_of=None) -> Figure:
    return Figure(section, key, unit, fmt, index, when, instead_of)


_SCHEME_STATS = ("pay_median", "pay_p10", "pay_p90", "owner_profit_median", "employer_cost_median",
                 "prob_below_floor", "income_cv", "profit_slope", "revenue_slope", "own_revenue_slope")

#: The declaration, in the order the index cards and tables show them within a section.
FIGURES: tuple[Figure, ...] = (
    _f("study", "name", "text", "text"),
    # --- summary (05_summary)
    _f("summary", "verdict", "code", "verdict", index=True),
    _f("summary", "role_cost_month_median", "money", "money", index=True),
    # the retention part a year as the summary's sentence states it: the retention page's figure (one source)
    _f("summary", "retention_kept_year_median", "money", "money"),
    _f("summary", "npv_median", "money", "money", index=True, when="decided"),
    _f("summary", "prob_positive", "fraction", "prob", index=True, when="decided"),
    # null (not -1) when the role does not pay back within the horizon
    _f("summary", "payback_month", "months", "month", index=True, when="decided"),
    _f("summary", "decision_breakeven_effect", "fraction", "pct", index=True, when="decided"),
    _f("summary", "verdict_reasons", "codes", "raw"),
    _f("summary", "checks_failed", "codes", "raw"),
    _f("summary", "decisive_defaults", "codes", "raw"),
    _f("summary", "next_steps", "codes", "raw"),
    _f("summary", "current_setup", "code", "raw"),
    _f("summary", "current_setup_source", "code", "raw"),
    _f("summary", "npv_p10", "money", "money", when="decided"),
    _f("summary", "npv_p90", "money", "money", when="decided"),
    _f("summary", "role_cost_month_p10", "money", "money"),
    _f("summary", "role_cost_month_p90", "money", "money"),
    _f("summary", "care_managers_needed", "count", "num"),
    _f("summary", "money_scale", "number", "num2"),
    _f("summary", "npv_median_if_<setup>", "money", "money", when="setup_unknown"),
    _f("summary", "npv_<part>_mean", "money", "money", when="decided"),
    _f("summary", "npv_mean", "money", "money", when="decided"),
    _f("summary", "effect_source", "code", "raw"),
    _f("summary", "pilot_blocks", "codes", "raw", when="pilot"),
    _f("summary", "extend_to_other_blocks", "code", "raw", when="pilot_measured"),
    # --- data check (01)
    _f("data_check", "clients", "count", "num", index=True),
    _f("data_check", "visits", "count", "num", index=True),
    _f("data_check", "revenue", "money", "money", index=True),
    _f("data_check", "new_client_retention", "fraction", "pct", index=True),
    _f("data_check", "repeat_client_retention", "fraction", "pct", index=True),
    _f("data_check", "service_rows", "count", "num"),
    _f("data_check", "membership_revenue", "money", "money"),
    _f("data_check", "period_months", "months", "num"),
    _f("data_check", "retention_window_days", "days", "num"),
    _f("data_check", "avg_ticket", "money", "money"),
    _f("data_check", "visits_per_client_year", "number", "num1"),
    _f("data_check", "blocks_per_client_mean", "number", "num2"),
    _f("data_check", "attachment_mean", "fraction", "pct"),
    _f("data_check", "load_gini", "number", "num2"),
    _f("data_check", "regulars_margin_share", "fraction", "pct"),
    _f("data_check", "regular_clients_share", "fraction", "pct"),
    _f("data_check", "top20_margin_share", "fraction", "pct"),
    # --- staffing (02)
    _f("staffing", "saving_month_median", "money", "money", index=True),
    _f("staffing", "care_managers_needed", "count", "num", index=True),
    _f("staffing", "wait_care_min", "minutes", "num1", index=True),
    _f("staffing", "cost_specialists_month", "money", "money"),
    _f("staffing", "cost_care_manager_month", "money", "money"),
    _f("staffing", "care_managers_needed_p90", "count", "num"),
    _f("staffing", "care_managers_bound", "code", "raw"),
    _f("staffing", "saving_month_p10", "money", "money"),
    _f("staffing", "saving_month_p90", "money", "money"),
    _f("staffing", "wait_separate_min", "minutes", "num1"),
    _f("staffing", "wait_pooled_min", "minutes", "num1"),
    _f("staffing", "handoffs_per_client_specialists", "number", "num2"),
    _f("staffing", "handoffs_per_client_care", "number", "num2"),
    _f("staffing", "p_info_loss_specialists", "fraction", "pct"),
    _f("staffing", "p_info_loss_care", "fraction", "pct"),
    _f("staffing", "own_services_share", "fraction", "pct"),
    _f("staffing", "clients_per_care_manager_max", "count", "num"),
    _f("staffing", "breakeven_clients", "count", "num"),
    _f("staffing", "active_clients_month", "count", "num"),
    _f("staffing", "blocks_per_client", "number", "num2"),
    _f("staffing", "specialist_managers_needed", "count", "num"),
    _f("staffing", "duplicate_contacts_month", "count", "num"),
    # --- retention (03)
    _f("retention", "regulars_margin_share", "fraction", "pct", index=True),
    _f("retention", "incremental_margin_year_median", "money", "money", index=True),
    _f("retention", "breakeven_uplift", "fraction", "pct", index=True),
    _f("retention", "revenue_at_risk_year_without", "money", "money", index=True),
    _f("retention", "revenue_at_risk_year_with", "money", "money"),
    _f("retention", "incremental_margin_year_p10", "money", "money"),
    _f("retention", "incremental_margin_year_p90", "money", "money"),
    _f("retention", "margin_at_risk_avoided_year", "money", "money"),
    _f("retention", "role_cost_year", "money", "money"),
    # members' fees kept (summary.membership_gain at the page's scenarios): only with priced memberships
    _f("retention", "kept_year_with_fees_median", "money", "money", index=True, when="memberships"),
    _f("retention", "kept_year_with_fees_p10", "money", "money", when="memberships"),
    _f("retention", "kept_year_with_fees_p90", "money", "money", when="memberships"),
    _f("retention", "members_fees_kept_year_median", "money", "money", when="memberships"),
    _f("retention", "members_fees_kept_year_p10", "money", "money", when="memberships"),
    _f("retention", "members_fees_kept_year_p90", "money", "money", when="memberships"),
    _f("retention", "breakeven_uplift_with_fees", "fraction", "pct", index=True, when="memberships",
       instead_of="breakeven_uplift"),
    _f("retention", "bgnbd_r", "number", "num2"),
    _f("retention", "bgnbd_alpha", "number", "num2"),
    _f("retention", "bgnbd_a", "number", "num2"),
    _f("retention", "bgnbd_b", "number", "num2"),
    _f("retention", "bgnbd_loglik", "number", "num"),
    _f("retention", "time_unit_days", "days", "num"),
    _f("retention", "bgnbd_p", "fraction", "pct"),
    _f("retention", "bgnbd_lambda", "number", "num2"),
    _f("retention", "bgnbd_mean_dropout", "fraction", "pct"),
    _f("retention", "bgnbd_limit_case", "flag", "raw"),
    _f("retention", "dropout_measurable", "flag", "raw"),
    _f("retention", "<figure>_reason", "code", "raw", when="missing"),
    # --- compensation (04)
    _f("compensation", "recommended_scheme", "text", "text", index=True),
    _f("compensation", "recommended_scheme_name", "code", "raw"),
    _f("compensation", "recommended_scheme_index", "number", "raw"),
    _f("compensation", "block_revenue_month", "money", "money"),
    _f("compensation", "block_profit_month", "money", "money"),
    _f("compensation", "role_cost_check_passed", "flag", "raw"),
    # the role's cost as the pay page quotes it (the summary's role_cost_month_median) and net of what it replaces
    _f("compensation", "role_cost_month_median", "money", "money"),
    _f("compensation", "role_net_cost_month_median", "money", "money"),
    *(_f("compensation", f"<scheme>_{s}", "number" if s.endswith(("_cv", "_slope")) else
         "fraction" if s.startswith("prob") else "money",
         "num2" if s.endswith(("_cv", "_slope")) else "pct" if s.startswith("prob") else "money")
      for s in _SCHEME_STATS),
    # --- role profile (06)
    # the same figure as staffing.care_managers_needed (the role profile reads it from the staffing
    # analysis): on the portfolio index once, under staffing
    _f("role_profile", "care_managers_needed", "count", "num"),
    _f("role_profile", "own_services_share", "fraction", "pct", index=True),
    _f("role_profile", "scheme_label", "text", "text", index=True),
    _f("role_profile", "scheme", "code", "raw"),
    # --- pilot (07)
    _f("pilot", "effect_median", "fraction", "pct", index=True, when="pilot_measured"),
    _f("pilot", "detectable_effect", "fraction", "pct", index=True),
    _f("pilot", "months_needed", "months", "num", index=True),
    _f("pilot", "design", "code", "raw"),
    _f("pilot", "design_blocks", "codes", "raw"),
    _f("pilot", "effect_p10", "fraction", "pct", when="pilot_measured"),
    _f("pilot", "effect_p90", "fraction", "pct", when="pilot_measured"),
    _f("pilot", "new_client_return_change", "fraction", "pct", when="pilot_measured"),
    _f("pilot", "ticket_change", "fraction", "pct", when="pilot_measured"),
    _f("pilot", "pretrend_ok", "flag", "raw", when="pilot"),
    _f("pilot", "conclusion", "code", "raw", when="pilot_measured"),
    _f("pilot", "more_months_needed", "months", "num", when="pilot"),
    _f("pilot", "months_needed_note", "code", "raw", when="missing"),
    _f("pilot", "detectable_effect_note", "code", "raw", when="missing"),
    _f("pilot", "more_months_needed_note", "code", "raw", when="missing"),
)


def find(section: str, key: str) -> tuple[Figure, dict] | None:
    """The declared figure ``section.key`` and its placeholders' values, or None."""
    for fig in FIGURES:
        m = fig.matches(section, key)
        if m is not None:
            return fig, m
    return None


def is_declared(section: str, key: str) -> bool:
    return find(section, key) is not None


def undeclared(results: dict) -> list[str]:
    """``section.key`` of every figure in a loaded ``results.json`` that is not declared."""
    figs = results.get("figures", results)
    return [f"{s}.{k}" for s, d in figs.items() if isinstance(d, dict) for k in d if not is_declared(s, k)]


def index_figures(section: str | None = None) -> list[Figure]:
    """The figures on the index cards (of ``section``), in card order."""
    return [f for f in FIGURES if f.index and (section is None or f.section == section)]


def missing_index_figures(results: dict, present_when=()) -> list[str]:
    """Index figures absent from ``results`` although they should be there: those without ``when``,
    and those whose ``when`` is in ``present_when``."""
    figs = results.get("figures", results)
    return [f"{f.section}.{f.key}" for f in index_figures()
            if (f.when is None or f.when in present_when) and f.key not in figs.get(f.section, {})]


def label_fields(study=None) -> dict:
    """Values the labels' ``{fields}`` take from the study's settings (the retention window, the
    visit days that make a regular), formatted as plain numbers."""
    if study is None:
        return {"days": "90", "visit_days": "3"}
    return {"days": f"{int(study['data_check.retention_window_days'])}",
            "visit_days": f"{int(study['data_check.regular_min_visit_days'])}"}


def label(fig: Figure, lang: str = "en", study=None, **placeholders) -> str:
    """The figure's label in ``lang`` (its ``{fields}`` from the study's settings and the key's
    placeholders)."""
    from analysis.pages.words import catalogue, fields_of, say

    text = catalogue("en")[fig.label_key]
    fields = {**label_fields(study), **placeholders}
    need = fields_of(text)
    return say(fig.label_key, lang, **{k: v for k, v in fields.items() if k in need})


def format_value(fig: Figure, value, lang: str = "en", currency: str = "RUB") -> str:
    """``value`` as a page shows it (``–`` for a missing value)."""
    return format_as(fig.format, value, lang, currency)


def format_as(f: str, value, lang: str = "en", currency: str = "RUB") -> str:
    """``value`` written in the format ``f`` (one of :data:`FORMATS`; ``text`` and ``raw`` as given)."""
    from analysis.pages import i18n
    from analysis.pages.words import has, say

    if f == "month" and (value is None or value < 0):   # null: no payback within the horizon
        return say("summary.headline.no_payback", lang)
    if value is None:
        return "–"
    if f == "money":
        return i18n.money(value, currency, lang)
    if f == "pct":
        return i18n.percent(value, lang, 0)
    if f == "prob":
        return i18n.probability(value, lang)
    if f in ("num", "num1", "num2"):
        return i18n.number(value, lang, {"num": 0, "num1": 1, "num2": 2}[f])
    if f == "month":
        return say("summary.headline.no_payback", lang) if value < 0 else i18n.number(value, lang, 0)
    if f == "verdict":
        return say(f"verdict.level.{value}", lang) if has(f"verdict.level.{value}") else str(value)
    return str(value)


def replaced_on_card(section: str, recorded: dict) -> set:
    """Keys of ``section``'s index figures that a card leaves out because a figure standing in for
    them (:attr:`Figure.instead_of`) is recorded in ``recorded`` (the section's figures)."""
    return {f.instead_of for f in index_figures(section)
            if f.instead_of is not None and recorded.get(f.key) is not None}


def index_rows(study=None) -> list[tuple]:
    """The index cards' figures as ``(section, key, label_en, label_ru, kind)`` (the shape
    :mod:`analysis.run.report` reads), labels from the catalogues with the study's settings (the kit's
    defaults without a study)."""
    kinds = {"num2": "num1", "raw": "text"}
    return [(f.section, f.key, label(f, "en", study), label(f, "ru", study), kinds.get(f.format, f.format))
            for f in index_figures()]


def table(results: dict, rows, lang: str = "en", currency: str = "RUB", study=None):
    """A table of figures for a page or ``tables.xlsx``: one row per ``(section, key)`` in ``rows``
    that ``results`` holds, with columns ``section``, ``key``, ``figure`` (the label), ``value``
    (as recorded) and ``text`` (formatted).

    Raises
    ------
    KeyError
        For a ``(section, key)`` that is not declared.
    """
    import pandas as pd

    figs = results.get("figures", results)
    out = []
    for section, key in rows:
        found = find(section, key)
        if found is None:
            raise KeyError(f"figure {section}.{key} is not declared in analysis.figures")
        fig, ph = found
        value = figs.get(section, {}).get(key)
        if value is None:
            continue
        out.append({"section": section, "key": key, "figure": label(fig, lang, study, **ph), "value": value,
                    "text": format_value(fig, value, lang, currency)})
    return pd.DataFrame(out, columns=["section", "key", "figure", "value", "text"])
