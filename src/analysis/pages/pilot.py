"""Words and tables of the pilot page (``notebooks/07_pilot.ipynb``), from the numbers and
:class:`analysis.codes.Note` codes of :mod:`analysis.sections.pilot`; every text comes from the catalogues."""
from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.pages import words
from analysis.pages.labels import block_label

__all__ = ["PilotWords"]


class PilotWords:
    """The pilot page's words for one report: ``PilotWords(ctx)`` with ``ctx`` the notebook context."""

    def __init__(self, ctx):
        self.ctx = ctx

    def __call__(self, key: str, n=None, **fields) -> str:
        return words.say(key, self.ctx.lang, n=n, **fields)

    def block(self, b) -> str:
        """A block's name in the page's language (``study.block_names`` wins)."""
        return block_label(str(b), self.ctx.lang, getattr(self.ctx, "study", None))

    def blocks(self, blocks) -> str:
        """Blocks' names, comma-separated; every block when ``blocks`` is empty or None."""
        return ", ".join(self.block(b) for b in blocks) if blocks else self("pilot.every_block")

    # ------------------------------------------------------------------ notes
    def _fmt(self, lang):
        def fmt(name, value):
            if name in ("blocks", "covers", "known") and isinstance(value, str):   # block names in the reader's words
                study = getattr(self.ctx, "study", None)
                return ", ".join(block_label(b.strip(), lang, study) for b in value.split(",") if b.strip())
            if hasattr(value, "isoformat"):
                return self.ctx.date(value) if lang == self.ctx.lang else str(value)[:10]
            if isinstance(value, (int, np.integer)):
                return str(int(value))
            if isinstance(value, float) and float(value).is_integer():
                return str(int(value))
            return str(value)
        return fmt

    def note_texts(self, note) -> tuple[str, str]:
        """(en, ru) of a Note, for ``ctx.note``."""
        return words.note_text(note, "en", self._fmt("en")), words.note_text(note, "ru", self._fmt("ru"))

    # ------------------------------------------------------------------ tables
    def _value(self, outcome, x):
        if outcome == "ticket":
            return self.ctx.money(x)
        if outcome in ("visits_per_client_month", "services_per_visit"):
            return self.ctx.num(x, 2)
        return self.ctx.pct(x, 1)

    def _change(self, outcome, x):
        """A change in its own unit: visits a month as a number, a rate's difference in percentage
        points, a ratio's change (ticket, services per visit) as a relative change in %."""
        from analysis.sections.pilot.did import OUTCOMES

        if outcome == "visits_per_client_month":
            return self.ctx.num(x, 2)
        if x is None or not np.isfinite(x):
            return self("common.not_available")
        if OUTCOMES.get(outcome) == "diff":   # a rate minus a rate: percentage points, not a percentage
            return self("pilot.change.points", value=self.ctx.num(100 * x, 1))
        return self("pilot.change.relative", value=self.ctx.pct(x, 1))

    def did_table(self, comparison, window: int) -> tuple[pd.DataFrame, dict]:
        """The difference-in-differences table formatted, and its column labels."""
        t, c = comparison.table, comparison
        cols = ("pilot_before", "pilot_after") + (("control_before", "control_after") if c.control else ())
        shown = pd.DataFrame({
            "outcome": [self(f"pilot.outcome.{o}", days=window) for o in t["outcome"]],
            **{col: [self._value(o, x) for o, x in zip(t["outcome"], t[col])] for col in cols},
            "change": [self._change(o, x) for o, x in zip(t["outcome"], t["change"])],
            "range": [f"{self._change(o, lo)} … {self._change(o, hi)}"
                      for o, lo, hi in zip(t["outcome"], t["change_p10"], t["change_p90"])],
        })
        labels = {k: self(f"pilot.col.{k}") for k in shown.columns}
        labels["change"] = self("pilot.col.change" if c.control else "pilot.col.change_ba")
        return shown, labels

    def departures_table(self, d: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
        yes, no = self("pilot.yes"), self("pilot.no")
        shown = pd.DataFrame({"specialist": d["specialist_id"], "block": [self.block(b) for b in d["block"]],
                              "left": [self.ctx.date(x) for x in d["left"]],
                              "pilot_block": [yes if x else no for x in d["pilot_block"]],
                              "after_since": [yes if x else no for x in d["after_since"]],
                              "attached": [self.ctx.num(x) for x in d["attached"]],
                              "followed_share": [self.ctx.pct(x) for x in d["followed_share"]]})
        return shown, {k: self(f"pilot.col.{k}") for k in shown.columns}

    # ------------------------------------------------------------------ month by month, evenness
    @staticmethod
    def event_shown(event) -> bool:
        """Whether the event-study chart has something to show: at least two months with a measured
        gap, one of them on or after the start (else the chart is an empty frame with ticks at
        fractions of a month)."""
        if event is None:
            return False
        t = event.table
        ok = np.isfinite(np.asarray(t["gap"], float))
        return bool(ok.sum() >= 2 and (np.asarray(t["month"])[ok] >= 0).any())

    def event_sentence(self, event, control: bool, window: int) -> str:
        """The sentence under (or instead of) the event-study chart: why there is no chart, why there
        is no check of the trend before the start (no control group, or too few months), or the check."""
        if not self.event_shown(event):
            return self("pilot.event.too_short", days=window)
        if event.pretrend_ok is None:
            return self("pilot.pretrend.too_few_months" if control else "pilot.pretrend.none")
        return self("pilot.pretrend.ok" if event.pretrend_ok else "pilot.pretrend.drift",
                    slope=self.ctx.num(100 * event.pretrend_slope, 2))

    @staticmethod
    def gini_shown(g) -> bool:
        """Whether any block's change of the Gini could be measured (two specialists or more with
        visits both before and after the start)."""
        return g is not None and len(g) > 0 and bool(np.isfinite(np.asarray(g["change"], float)).any())

    def gini_sentence(self, g, control: bool) -> str | None:
        """The pilot blocks' mean change of the Gini against the others', or why it cannot be given;
        None without a control group (no others to compare with)."""
        change = np.asarray(g["change"], float) if g is not None and len(g) else np.array([])
        pilot_block = np.asarray(g["pilot_block"], bool) if g is not None and len(g) else np.array([], bool)
        if not self.gini_shown(g):
            return self("pilot.gini.not_measured")
        if not control:
            return None
        a, b = change[pilot_block], change[~pilot_block]
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        if not (a.size and b.size):
            return self("pilot.gini.not_measured_side")
        return self("pilot.gini.change", pilot=self.ctx.num(a.mean(), 2), control=self.ctx.num(b.mean(), 2))

    def gini_table(self, g: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
        yes, no = self("pilot.yes"), self("pilot.no")
        shown = pd.DataFrame({"block": [self.block(b) for b in g["block"]], "pilot_block": [yes if x else no for x in g["pilot_block"]],
                              "before": [self.ctx.num(x, 2) for x in g["before"]],
                              "after": [self.ctx.num(x, 2) for x in g["after"]],
                              "gini_change": [self.ctx.num(x, 2) for x in g["change"]]})
        return shown, {k: self(f"pilot.col.{k}") for k in shown.columns}

    def detectable(self, x) -> str:
        """A detectable effect: a percentage, or "out of reach" at 100 % and beyond."""
        return self.ctx.pct(x) if np.isfinite(x) and x < 1.0 else self("pilot.headline.over_all")

    def option_names(self, options) -> dict:
        return {o: self(f"pilot.design.option.{o}") for o in options}

    def design_table(self, design, max_months: int) -> tuple[pd.DataFrame, dict]:
        t = design.table
        every = self("pilot.every_block")
        names = self.option_names(t["option"])
        shown = pd.DataFrame({
            "option": [names[o] for o in t["option"]],
            "blocks": [self.blocks(b) if b else every for b in t["blocks"]],
            "share": [self.ctx.pct(x) for x in t["share"]],
            "detectable": [self.detectable(x) for x in t["detectable_effect"]],
            "months_needed": [self.ctx.num(x) if np.isfinite(x) else self("pilot.headline.not_within", months=max_months)
                              for x in t["months_needed"]],
            "power_6m": [self.ctx.pct(x) for x in t["power_6m"]],
        })
        return shown, {k: self(f"pilot.col.{k}") for k in shown.columns}

    def design_sentence(self, design, max_months: int) -> str:
        row = design.row()
        m = design.months_needed
        fields = dict(detectable=self.detectable(row["detectable_effect"]),
                      assumed=self.ctx.pct(design.assumed_effect),
                      months=self.ctx.num(m) if m is not None else self.ctx.num(max_months))
        if design.recommended == "current":
            return self("pilot.design.running" if m is not None else "pilot.design.running_not_within", **fields)
        fields.update(option=self(f"pilot.design.option.{design.recommended}"),
                      blocks=self.blocks(row["blocks"]))
        return self("pilot.design.recommend" if m is not None else "pilot.design.recommend_not_within", **fields)
