"""Headline figures are declared once (analysis.figures): every figure a notebook records is declared,
every declared figure has a label in both catalogues, and every index figure is in the sample's
results.json — a missing figure fails here instead of silently dropping an index card."""
from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest

from analysis import figures as F
from analysis.pages import words
from conftest import ROOT, SAMPLE


# ----------------------------------------------------------------------------- the declaration


def test_declaration_is_well_formed():
    seen = set()
    for f in F.FIGURES:
        assert f.unit in F.UNITS, f
        assert f.format in F.FORMATS, f
        assert (f.section, f.key) not in seen, f"declared twice: {f.section}.{f.key}"
        seen.add((f.section, f.key))


@pytest.mark.parametrize("lang", words.LANGS)
def test_every_figure_has_a_label_in_both_catalogues(lang):
    for f in F.FIGURES:
        assert f.label_key in words.catalogue(lang), f.label_key
        placeholders = {p: "x" for p in f.pattern.groupindex}
        assert F.label(f, lang, **placeholders)


def test_distinct_quantities_have_distinct_keys_and_labels():
    retention = F.find("retention", "breakeven_uplift")[0]
    decision = F.find("summary", "decision_breakeven_effect")[0]
    assert not F.is_declared("summary", "breakeven_uplift")   # renamed, see CHANGELOG.md
    for lang in words.LANGS:
        assert F.label(retention, lang) != F.label(decision, lang)
    assert "retention pays the role" in F.label(retention, "en") and "whole decision" in F.label(decision, "en")


def test_families_match_their_members_only():
    assert F.find("compensation", "profit_share_kpi_pay_median")[1] == {"scheme": "profit_share_kpi"}
    assert F.find("summary", "npv_retention_mean")[1] == {"part": "retention"}
    assert F.find("summary", "npv_mean")[0].key == "npv_mean"
    assert F.find("summary", "no_such_figure") is None


def test_index_reads_the_declaration():
    from analysis.run import report

    assert [(s, k) for s, k, *_ in report.INDEX_FIGURES] == [(f.section, f.key) for f in F.index_figures()]
    for s, k, en, ru, kind in report.INDEX_FIGURES:
        assert en and ru and en != ru


def test_index_labels_follow_the_study_settings():
    class _Study(dict):
        pass

    study = _Study({"data_check.retention_window_days": 60, "data_check.regular_min_visit_days": 5})
    labels = {(s, k): en for s, k, en, _, _ in F.index_rows(study)}
    assert "60 days" in labels[("data_check", "new_client_retention")]
    assert "5+" in labels[("retention", "regulars_margin_share")]


def test_table_formats_declared_figures_and_refuses_undeclared_ones():
    results = {"figures": {"summary": {"npv_median": 1234567.0, "verdict": "pilot"}}}
    t = F.table(results, [("summary", "verdict"), ("summary", "npv_median"), ("summary", "npv_p10")], "ru")
    assert list(t["key"]) == ["verdict", "npv_median"]        # a figure not recorded is left out
    assert t["text"].iloc[0] == words.say("verdict.level.pilot", "ru")
    with pytest.raises(KeyError, match="not declared"):
        F.table(results, [("summary", "breakeven_uplift")])


def test_results_record_carries_the_schema_version(tmp_path):
    from analysis.run import results

    path = tmp_path / "results.json"
    results.record(path, "summary", {"verdict": "pilot"}, study="x")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schema_version"] == F.SCHEMA_VERSION == 2


# ----------------------------------------------------------------------------- what notebooks record


def _key_text(node) -> str | None:
    """A dict key as text; the formatted parts of an f-string become ``x`` (a family member)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "x" for v in node.values)
    return None


def _dict_keys(d) -> set[str]:
    """Top-level keys of a dict literal or comprehension, ``**spreads`` (dicts, comprehensions,
    conditional dicts and ``simulate.summarize(x, "name")``) included."""
    out: set[str] = set()
    if isinstance(d, ast.Dict):
        for k, v in zip(d.keys, d.values):
            if k is not None:
                if _key_text(k):
                    out.add(_key_text(k))
                continue
            for n in ast.walk(v):
                if isinstance(n, (ast.Dict, ast.DictComp)):
                    out |= _dict_keys(n)
                if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "summarize" and len(n.args) > 1:
                    base = n.args[1].value
                    out |= {f"{base}_p10", f"{base}_median", f"{base}_p90"}
    elif isinstance(d, ast.DictComp) and _key_text(d.key):
        out.add(_key_text(d.key))
    return out


def _keys(node, name: str | None = None) -> set[str]:
    """Figure keys a subtree builds: a dict literal itself, or — in a cell or function — the dicts
    returned or bound to ``name`` (any name when None), ``name["key"] = ...`` and ``name.update(...)``."""
    if isinstance(node, (ast.Dict, ast.DictComp)):
        return _dict_keys(node)
    out: set[str] = set()
    is_name = lambda t: isinstance(t, ast.Name) and (name is None or t.id == name)  # noqa: E731
    for n in ast.walk(node):
        if isinstance(n, ast.Return) and name is None and n.value is not None:
            out |= _dict_keys(n.value)
        if isinstance(n, ast.Assign):
            if any(is_name(t) for t in n.targets):
                out |= _dict_keys(n.value)
            for t in n.targets:
                if isinstance(t, ast.Subscript) and is_name(t.value) and _key_text(t.slice):
                    out.add(_key_text(t.slice))
        if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "update" and is_name(n.func.value):
            for arg in n.args:
                out |= _dict_keys(arg)
            out.update(k.arg for k in n.keywords if k.arg)
    return out


def _function(path: Path, name: str) -> ast.AST:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name)


#: record calls whose figures come from a package function: (section, call text) -> function
FROM_FUNCTIONS = {
    ("staffing", "fig"): (ROOT / "src/analysis/sections/staffing.py", "figures"),
    ("pilot", "pilot.figures(pa)"): (ROOT / "src/analysis/sections/pilot/study.py", "figures"),
    ("retention", "recorded"): (ROOT / "src/analysis/sections/retention.py", "page_figures"),
}


def recorded_keys() -> dict[str, set[str]]:
    """``{section: keys}`` every notebook's ``ctx.record(section, ...)`` writes (read from the code)."""
    found: dict[str, set[str]] = {}
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "code":
                continue
            src = "".join(cell["source"])
            tree = ast.parse("\n".join(line for line in src.splitlines() if not line.startswith(("%", "!"))))
            for call in ast.walk(tree):
                if not (isinstance(call, ast.Call) and getattr(call.func, "attr", "") == "record"
                        and len(call.args) == 2 and isinstance(call.args[0], ast.Constant)):
                    continue
                section, arg = call.args[0].value, call.args[1]
                text = ast.unparse(arg)
                if (section, text) in FROM_FUNCTIONS:
                    keys = _keys(_function(*FROM_FUNCTIONS[(section, text)]))
                elif isinstance(arg, ast.Name):
                    keys = _keys(tree, arg.id)
                else:
                    keys = _keys(arg)
                assert keys, f"{nb.name}: cannot read the keys of ctx.record({section!r}, {text})"
                found.setdefault(section, set()).update(keys)
    return found


def test_the_scan_reads_every_section():
    assert set(recorded_keys()) >= {"data_check", "staffing", "retention", "compensation", "summary",
                                    "role_profile", "pilot"}


def test_every_recorded_figure_is_declared():
    missing = sorted(f"{s}.{k}" for s, keys in recorded_keys().items() for k in keys if not F.is_declared(s, k))
    assert not missing, f"declare these in analysis/figures.py: {missing}"


def test_every_declared_figure_is_recorded_somewhere():
    recorded = recorded_keys()
    recorded["study"] = {"name"}                  # the runner records the study's name
    stale = [f"{f.section}.{f.key}" for f in F.FIGURES
             if not any(f.matches(f.section, k) is not None for k in recorded.get(f.section, ()))]
    assert not stale, f"declared but never recorded: {stale}"


# ----------------------------------------------------------------------------- the sample's results.json


@pytest.fixture(scope="module")
def sample_results(request) -> dict:
    """The sample's results.json: ``$CARE_KIT_RESULTS`` when set (a run made already), else the
    session's one English run of the sample (conftest ``sample_batch``, shared with the end-to-end tests)."""
    given = os.environ.get("CARE_KIT_RESULTS")
    if given:
        return json.loads(Path(given).read_text(encoding="utf-8"))
    r, out = request.getfixturevalue("sample_batch")
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads((out / SAMPLE.name / "results.json").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_sample_results_are_all_declared(sample_results):
    assert sample_results["schema_version"] == F.SCHEMA_VERSION
    assert not F.undeclared(sample_results)


@pytest.mark.slow
def test_sample_has_every_index_figure(sample_results):
    summ = sample_results["figures"]["summary"]
    present_when = {"setup_unknown"} if summ.get("current_setup") is None else set()
    if summ.get("verdict") != "not_enough_data":
        present_when.add("decided")
    assert not F.missing_index_figures(sample_results, present_when)
    assert set(sample_results["figures"]) >= {f.section for f in F.index_figures()}


def test_the_portfolio_index_has_no_two_columns_with_one_title_or_one_figure():
    # the index showed "Care managers needed" (staffing) and "Care managers the salon needs" (role
    # profile), always equal; in Russian both were «Нужно менеджеров сопровождения»
    from analysis import figures

    rows = figures.index_rows()
    for col in (2, 3):
        labels = [r[col] for r in rows]
        assert len(labels) == len(set(labels)), sorted(x for x in labels if labels.count(x) > 1)
    keys = [(r[0], r[1]) for r in rows]
    assert ("staffing", "care_managers_needed") in keys and ("role_profile", "care_managers_needed") not in keys
