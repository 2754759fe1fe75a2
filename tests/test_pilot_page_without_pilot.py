"""The pilot page without a pilot shows only what applies: how to run one and its power.

Before, a study with no ``care_manager.since`` got the measurement sections' headings and their
explanations (the effect on dropout, the difference-in-differences, the event study, the
specialists) with nothing under them.  Now those sections are shown only once a pilot has started,
and one plain sentence says that no pilot has been measured yet.  The notebook is run as the report
runs it (papermill, then the other language's cells dropped) on a small generated salon, without and
with a pilot.
"""
import json

import nbformat
import pytest

from analysis.inputs import sample
from analysis.pages.words import say
from analysis.run.report import filter_language

pytestmark = pytest.mark.slow

SECTIONS = ("effect", "did", "event", "specialists")


def _heading(key: str, lang: str) -> str:
    return say(f"pilot.section.{key}", lang).split("\n")[0].removeprefix("## ").strip()


def _shown_text(nb) -> str:
    """Markdown cells and the displayed Markdown / text outputs of the executed notebook."""
    out = []
    for c in nb.cells:
        if c.cell_type == "markdown":
            out.append(c.source)
        for o in c.get("outputs", []):
            data = o.get("data", {})
            out.append(data.get("text/markdown", "") + data.get("text/html", "") if data else o.get("text", ""))
    return "\n".join(out)


def _run(tmp_path, study, lang, name):
    import papermill as pm
    from pathlib import Path

    nbf = Path(__file__).resolve().parents[1] / "notebooks" / "07_pilot.ipynb"
    out = tmp_path / f"{name}-{lang}.ipynb"
    pm.execute_notebook(str(nbf), str(out), kernel_name="python3", progress_bar=False,
                        parameters={"study_dir": str(study), "lang": lang,
                                    "results_path": str(tmp_path / f"{name}-{lang}.json")})
    nb = filter_language(nbformat.read(out, as_version=4), lang)
    return _shown_text(nb), json.loads((tmp_path / f"{name}-{lang}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    root = tmp_path_factory.mktemp("pilot_page")
    kw = dict(clients=400, months=18, seed=5)
    return {"none": sample.write_sample(root / "none", **kw),
            "pilot": sample.write_sample(root / "pilot", pilot_since="2024-01-01", pilot_blocks=["hair", "nails"],
                                         pilot_effect=0.4, **kw)}


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_without_a_pilot_only_the_design_and_one_sentence(tmp_path, studies, lang):
    text, res = _run(tmp_path, studies["none"], lang, "none")
    for key in SECTIONS:
        assert _heading(key, lang) not in text, key
    design = "Designing the pilot" if lang == "en" else "План пилота"
    assert design in text
    none = say("pilot.effect.none", lang).split(",")[0]
    assert text.count(none) == 1
    assert "detectable_effect" in res["figures"]["pilot"]


def test_with_a_pilot_the_measurement_sections_are_shown(tmp_path, studies):
    text, res = _run(tmp_path, studies["pilot"], "en", "pilot")
    for key in SECTIONS:
        assert _heading(key, "en") in text, key
    assert say("pilot.effect.none", "en").split(",")[0] not in text
