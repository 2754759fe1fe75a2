"""Pilot of the care manager: design it, then measure what it changed (DESIGN.md §4 Pilot).

* :mod:`.groups` — the estimand: a client is in the pilot group when her home block (most visits
  before ``since``; the first visit's block for clients new after it) is a pilot block.
* :mod:`.structural` — E, the relative cut of the dropout probability after a visit, inside the
  BG/NBD likelihood (Fader, Hardie & Lee 2005), with a time effect from the control group and a
  bootstrap by client (Efron & Tibshirani 1993).
* :mod:`.did` — model-free difference-in-differences and event study (Angrist & Pischke 2009).
* :mod:`.power` — power by simulation from the salon's fitted model and client flow.
* :mod:`.study` — the section for one study (:func:`analyse`, :func:`figures`) and
  :func:`effect_for_decision`, the measured effect for the summary's Monte Carlo.
"""
from __future__ import annotations

from analysis.sections.pilot.power import PilotDesign, design
from analysis.sections.pilot.groups import home_block, home_blocks
from analysis.sections.pilot.study import (EffectDistribution, PilotAnalysis, analyse, decision_note, effect_for_decision, figures,
                    summary_note)

__all__ = ["home_block", "home_blocks", "PilotDesign", "design", "PilotAnalysis", "analyse", "figures",
           "EffectDistribution", "effect_for_decision", "decision_note", "summary_note", "use_measured_effect"]


def use_measured_effect(draws, measured: "EffectDistribution | None"):
    """``draws`` with ``retention.care_manager_effect`` replaced by the measured effect (unchanged when
    ``measured`` is None): the hook the summary calls where it draws its scenarios."""
    if measured is None:
        return draws
    return draws.fixed("retention.care_manager_effect", measured.sample(draws.n, draws.seed))
