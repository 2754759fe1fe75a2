"""Issue 12's "Done when", end to end through the kit's command line.

A generated study with a pilot of known effect (``analysis sample --pilot-*``: 3 000 clients over 24
months, the care manager in hair and nails from 2024-03-01, true effect E = 0.5, seed 2 — a seed of
the documented set where the page concludes a gain, ``benchmarks/RESULTS.md`` "Pilot: a conclusion
rule with power") is run with ``analysis run``; the same study is run again with
``--set care_manager.since=null`` (the same salon as if no pilot had been recorded).  From
results.json and the pages:

* the pilot page measures the effect with its range, the range covers the truth, and the page
  concludes a gain; the page's HTML shows that range;
* the summary says it used the measured effect, and its NPV differs from the run without the pilot;
* without the pilot the page shows the pilot's design (detectable effect, months needed, or the
  code of why not) and no measured effect, in Russian.
"""
from __future__ import annotations

import html
import json
import re
import subprocess
import sys

import pytest
import yaml

pytestmark = pytest.mark.slow

TRUE_EFFECT = 0.5


def _text(path):
    """The visible text of an HTML page (tags and scripts dropped, entities decoded, spaces collapsed)."""
    t = path.read_text(encoding="utf-8")
    t = re.sub(r"<script.*?</script>|<style.*?</style>", " ", t, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", t)))


def run_cli(*args):
    """``python -m analysis`` in a subprocess (the conftest fixture of that name is per test; the two
    runs here are shared by the module's tests)."""
    return subprocess.run([sys.executable, "-m", "analysis", *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("pilot_e2e")
    st = root / "st"
    r = run_cli("sample", st, "--clients", 3000, "--months", 24, "--seed", 2, "--pilot-since", "2024-03-01",
                "--pilot-blocks", "hair,nails", "--pilot-effect", TRUE_EFFECT)
    assert r.returncode == 0, r.stderr
    truth = yaml.safe_load((st / "ground_truth.yaml").read_text(encoding="utf-8"))["pilot"]
    assert truth["effect"] == TRUE_EFFECT and truth["blocks"] == ["hair", "nails"]
    out = {}
    for name, extra, lang in (("pilot", (), "en"), ("none", ("--set", "care_manager.since=null"), "ru")):
        r = run_cli("run", st, "--out", root / name, "--lang", lang, "--quiet", *extra)
        assert r.returncode == 0, (name, r.stdout[-2000:], r.stderr[-2000:])
        (res,) = (root / name).glob("*/results.json")
        out[name] = (json.loads(res.read_text(encoding="utf-8"))["figures"], res.parent)
    return out


def test_the_pilot_page_measures_the_known_effect_and_concludes_a_gain(runs):
    fig, folder = runs["pilot"]
    p = fig["pilot"]
    assert p["effect_p10"] <= p["effect_median"] <= p["effect_p90"]
    assert p["effect_p10"] <= TRUE_EFFECT <= p["effect_p90"], p
    assert p["conclusion"] == "gain", p
    # the page shows the measured range (percentages as the page words them)
    text = _text(folder / "07_pilot.html")
    shown = f"{round(100 * p['effect_p10'])}% … {round(100 * p['effect_p90'])}%"
    assert shown in text, (shown, text[:3000])


def test_the_summary_uses_the_measured_effect_and_its_npv_moves(runs):
    (with_pilot, _), (without, _) = runs["pilot"], runs["none"]
    assert with_pilot["summary"]["effect_source"] == "measured"
    assert without["summary"]["effect_source"] == "assumed"
    assert with_pilot["summary"]["npv_median"] != without["summary"]["npv_median"]


def test_without_a_pilot_the_page_shows_the_design(runs):
    fig, folder = runs["none"]
    p = fig["pilot"]
    assert "effect_median" not in p and "conclusion" not in p
    assert p["design"] in ("one_block", "half", "everyone")
    for key in ("detectable_effect", "months_needed"):
        assert p[key] is not None or p.get(f"{key}_note"), p
    text = _text(folder / "07_pilot.html")
    assert "План пилота" in text
