"""The runner: parameters reach the notebooks, one language per report, offline HTML, atomic swap."""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from analysis.run import report
from analysis.errors import InputError
from analysis.run.report import NotebookFailed, RunOptions, filter_language, run_study
from conftest import make_notebook


def _opts(tmp_path, nbs, **kw):
    return RunOptions(out_root=tmp_path / "reports", notebooks_dir=nbs, progress=False, jobs=2, **kw)


def test_run_writes_pages_results_manifest(tiny_study, tiny_notebooks, tmp_path):
    run = run_study(tiny_study, _opts(tmp_path, tiny_notebooks, lang="en"))
    out = tmp_path / "reports" / "tiny"
    assert run.out_dir == out
    for name in ("01_first.html", "02_second.html", "05_summary.html", "index.html", "results.json",
                 "manifest.json", "tables.xlsx", "notebooks/01_first.ipynb"):
        assert (out / name).exists(), name
    res = json.loads((out / "results.json").read_text())
    assert res["study"] == "Tiny salon"
    # parameters were injected: the notebooks read the study (5 visits, 3 clients, horizon 12)
    assert res["figures"]["first"] == {"visits": 5, "lang_is_ru": False, "horizon": 12}
    # the summary ran after the others and read their figures
    assert res["figures"]["summary"]["total"] == 5 + 3
    man = json.loads((out / "manifest.json").read_text())
    assert set(man["timings_s"]) >= {"01_first", "02_second", "05_summary"}
    assert "visits.csv" in man["inputs_sha256"] and len(man["inputs_sha256"]["visits.csv"]) == 64
    assert man["parameters"]["lang"] == "en" and man["kit_version"]
    assert not list(out.glob("*.lock")) and not (out / "_work").exists()


def test_language_filter_keeps_one_language(tiny_study, tiny_notebooks, tmp_path):
    run_study(tiny_study, _opts(tmp_path, tiny_notebooks, lang="ru"))
    page = (tmp_path / "reports" / "tiny" / "01_first.html").read_text(encoding="utf-8")
    assert "Русский заголовок" in page and "Визитов: 5" in page
    assert "English heading" not in page and "Visits: 5" not in page
    assert '<html lang="ru">' in page
    run_study(tiny_study, _opts(tmp_path, tiny_notebooks, lang="en"))
    page = (tmp_path / "reports" / "tiny" / "01_first.html").read_text(encoding="utf-8")
    assert "English heading" in page and "Visits: 5" in page and "Русский" not in page


def test_filter_language_unit():
    nb = nbformat.v4.new_notebook()
    a, b, c = (nbformat.v4.new_markdown_cell(t) for t in ("en", "ru", "both"))
    a.metadata["tags"], b.metadata["tags"] = ["lang-en"], ["lang-ru"]
    code = nbformat.v4.new_code_cell("x")
    code.outputs = [nbformat.v4.new_output("stream", name="stderr", text="warning"),
                    nbformat.v4.new_output("stream", name="stdout", text="shown"),
                    nbformat.v4.new_output("execute_result", data={"text/plain": "Text(0.0, 1.0, 'title')"}),
                    nbformat.v4.new_output("execute_result", data={"text/plain": "t", "text/html": "<b>t</b>"})]
    nb.cells = [a, b, c, code]
    out = filter_language(nb, "ru")
    assert [x.source for x in out.cells] == ["ru", "both", "x"]
    kept = out.cells[-1].outputs
    assert [o.get("text") for o in kept] == ["shown", None]  # stderr and a bare Text(...) value dropped
    assert kept[1]["data"]["text/html"] == "<b>t</b>"


OFFLINE = re.compile(r"""(<script[^>]+src\s*=\s*["']?(https?:)?//)|(<link[^>]+href\s*=\s*["']?(https?:)?//)|"""
                     r"""(@import\s+(url\()?["']?(https?:)?//)|(url\(\s*["']?(https?:)?//)|(<img[^>]+src\s*=\s*["']?(https?:)?//)""",
                     re.I)


def test_html_is_offline_and_code_hidden(tiny_study, tiny_notebooks, tmp_path):
    run_study(tiny_study, _opts(tmp_path, tiny_notebooks, lang="en"))
    out = tmp_path / "reports" / "tiny"
    for page in out.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not OFFLINE.search(text), f"{page.name} loads something from the network"
        assert "require.min.js" not in text and "mathjax" not in text.lower()
    second = (out / "02_second.html").read_text(encoding="utf-8")
    assert "<svg " in second  # the plot is drawn in the page (SVG, kit.css sizes it)
    assert "open_study" not in second and 'hl-ipython3' not in second  # code hidden
    run_study(tiny_study, _opts(tmp_path, tiny_notebooks, lang="en", with_code=True))
    with_code = (out / "02_second.html").read_text(encoding="utf-8")
    assert 'hl-ipython3' in with_code and "open_study" in with_code


def test_offline_pattern_catches_cdn():
    assert OFFLINE.search('<script src="https://cdnjs.cloudflare.com/require.js"></script>')
    assert OFFLINE.search("<link rel=stylesheet href='//fonts.example.com/x.css'>")
    assert not OFFLINE.search('<img src="data:image/png;base64,AAAA">')


def test_failed_run_keeps_previous_reports(tiny_study, tiny_notebooks, tmp_path):
    opts = _opts(tmp_path, tiny_notebooks, lang="en")
    run_study(tiny_study, opts)
    out = tmp_path / "reports" / "tiny"
    before = {p.name: p.read_bytes() for p in out.glob("*.html")}
    make_notebook(tiny_notebooks / "03_broken.ipynb", 'raise RuntimeError("boom in the middle")')
    with pytest.raises(NotebookFailed) as info:
        run_study(tiny_study, opts)
    assert info.value.ename == "RuntimeError"
    after = {p.name: p.read_bytes() for p in out.glob("*.html")}
    assert after == before  # the earlier good report is untouched
    kept = tmp_path / "reports" / "tiny.failed" / "notebooks" / "03_broken.ipynb"
    assert kept.exists() and "boom in the middle" in kept.read_text()
    assert not [p for p in (tmp_path / "reports").iterdir() if p.name.endswith(".tmp")]


def test_bad_input_runs_nothing(tiny_study, tiny_notebooks, tmp_path):
    (tiny_study / "study.yaml").write_text("horizn_months: 12\n")
    with pytest.raises(InputError) as info:
        run_study(tiny_study, _opts(tmp_path, tiny_notebooks))
    assert "did you mean horizon_months" in str(info.value).lower()
    assert not (tmp_path / "reports" / "tiny").exists()


def test_only_reruns_one_notebook_and_keeps_the_rest(tiny_study, tiny_notebooks, tmp_path):
    run_study(tiny_study, _opts(tmp_path, tiny_notebooks, lang="en", overrides={"horizon_months": 24}))
    out = tmp_path / "reports" / "tiny"
    (out / "results.json").write_text(json.dumps({"study": "Tiny salon", "figures": {"second": {"clients": -1}}}))
    run_study(tiny_study, _opts(tmp_path, tiny_notebooks, lang="en", only=["first"],
                                overrides={"horizon_months": 24}))
    res = json.loads((out / "results.json").read_text())
    assert res["figures"]["first"]["horizon"] == 24  # run again
    assert res["figures"]["second"]["clients"] == -1  # kept from the earlier run, not run again
    assert (out / "02_second.html").exists()


@pytest.mark.parametrize("change", ["set", "lang", "study.yaml", "data", "no manifest"])
def test_only_refuses_to_keep_pages_made_with_other_settings(tiny_study, tiny_notebooks, tmp_path, change):
    """trial1 finding 9: ``--only summary`` after a ``--set`` change kept pages computed with the old
    value, and the report contradicted itself.  Every difference from the earlier run's manifest is
    refused before anything runs, and the earlier report is left as it was."""
    run_study(tiny_study, _opts(tmp_path, tiny_notebooks, lang="en", overrides={"horizon_months": 24}))
    out = tmp_path / "reports" / "tiny"
    kw = {"lang": "en", "overrides": {"horizon_months": 24}}
    if change == "set":
        kw["overrides"] = {"horizon_months": 36}
    elif change == "lang":
        kw["lang"] = "ru"
    elif change == "study.yaml":
        (tiny_study / "study.yaml").write_text("name: Tiny salon\ncurrency: RUB\nhorizon_months: 18\n")
    elif change == "data":
        with open(tiny_study / "visits.csv", "a") as fh:
            fh.write("c4,2024-03-21,700\n")
    else:
        (out / "manifest.json").unlink()
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(InputError) as info:
        run_study(tiny_study, _opts(tmp_path, tiny_notebooks, only=["first"], **kw))
    text = str(info.value)
    assert "--only" in text and "leave out --only" in text, text
    if change == "set":
        assert '"horizon_months": 24' in text and '"horizon_months": 36' in text
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert not list(tmp_path.joinpath("reports").glob(".tiny.*"))


def test_portfolio_lists_every_study(tiny_study, tiny_notebooks, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "visits.csv").write_text((tiny_study / "visits.csv").read_text())
    code, runs = report.run_many([tiny_study, other], _opts(tmp_path, tiny_notebooks, lang="en"),
                                 report=lambda *_: None)
    assert code == 0 and len(runs) == 2
    page = (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    assert 'href="tiny/index.html"' in page and 'href="other/index.html"' in page
    assert "Tiny salon" in page


def test_portfolio_keeps_going_past_a_bad_study(tiny_study, tiny_notebooks, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "study.yaml").write_text("language: de\n")
    messages = []
    code, runs = report.run_many([bad, tiny_study], _opts(tmp_path, tiny_notebooks, lang="en"),
                                 report=messages.append)
    assert code == 2
    assert [r.code for r in runs] == [2, 0]
    assert any("language" in m for m in messages)
    assert (tmp_path / "reports" / "tiny" / "index.html").exists()


def test_reused_kernel_starts_each_notebook_empty(tiny_study, tmp_path):
    """One worker runs both notebooks in one kernel; the second must not see the first's names."""
    nbs = tmp_path / "seq"
    make_notebook(nbs / "01_a.ipynb", 'leaked_name = 42\nctx.record("a", {"set": 1})')
    make_notebook(nbs / "02_b.ipynb", 'ctx.record("b", {"sees_leak": "leaked_name" in globals()})')
    run_study(tiny_study, RunOptions(out_root=tmp_path / "r", notebooks_dir=nbs, progress=False, jobs=1))
    res = json.loads((tmp_path / "r" / "tiny" / "results.json").read_text())
    assert res["figures"]["b"]["sees_leak"] is False
    kept = nbformat.read(tmp_path / "r" / "tiny" / "notebooks" / "02_b.ipynb", as_version=4)
    assert not any("kit-reset" in c.metadata.get("tags", []) for c in kept.cells)


def _pid_notebooks(folder: Path, fail_for: str = "") -> Path:
    """Notebooks that record the process id of the kernel running them (and fail for one study)."""
    guard = f'if ctx.study.name == {fail_for!r}:\n    raise RuntimeError("broken for this study")\n' if fail_for else ""
    make_notebook(folder / "01_a.ipynb", guard + 'import os\nctx.record("a", {"pid": os.getpid()})')
    make_notebook(folder / "02_b.ipynb", 'import os\nctx.record("b", {"pid": os.getpid()})')
    make_notebook(folder / "03_c.ipynb", 'import os\nctx.record("c", {"pid": os.getpid()})')
    make_notebook(folder / "05_summary.ipynb",
                  'import os\nr = ctx.results()["figures"]\n'
                  'ctx.record("summary", {"pid": os.getpid(), "saw": sorted(k for k in r if k != "summary")})')
    return folder


def _copy_study(src: Path, dest: Path, name: str) -> Path:
    dest.mkdir()
    (dest / "visits.csv").write_text((src / "visits.csv").read_text())
    (dest / "study.yaml").write_text(f"name: {name}\ncurrency: RUB\nhorizon_months: 12\n")
    return dest


def test_studies_of_one_call_share_one_kernel_pool(tiny_study, tmp_path):
    """Three studies, ``jobs=2``: every notebook of every study ran in one of the same two kernels
    (one pool for the whole call), and each summary ran after its own study's sections."""
    nbs = _pid_notebooks(tmp_path / "pid")
    studies = [tiny_study] + [_copy_study(tiny_study, tmp_path / n, n.title()) for n in ("b2", "c3")]
    code, runs = report.run_many(studies, _opts(tmp_path, nbs, lang="en"), report=lambda *_: None)
    assert code == 0 and [r.code for r in runs] == [0, 0, 0]
    pids = set()
    for s in studies:
        figures = json.loads((tmp_path / "reports" / s.name / "results.json").read_text())["figures"]
        assert figures["summary"]["saw"] == ["a", "b", "c"]
        pids |= {figures[k]["pid"] for k in ("a", "b", "c", "summary")}
    assert 1 <= len(pids) <= 2, pids
    assert not [p for p in (tmp_path / "reports").iterdir() if p.name.endswith(".tmp")]


def test_a_failing_study_does_not_stop_the_others(tiny_study, tmp_path):
    nbs = _pid_notebooks(tmp_path / "pid", fail_for="Broken")
    broken = _copy_study(tiny_study, tmp_path / "broken", "Broken")
    messages = []
    code, runs = report.run_many([broken, tiny_study], _opts(tmp_path, nbs, lang="en"), report=messages.append)
    assert code == 1 and [r.code for r in runs] == [1, 0]
    assert (tmp_path / "reports" / "tiny" / "index.html").exists()
    assert (tmp_path / "reports" / "broken.failed" / "notebooks" / "01_a.ipynb").exists()
    assert not (tmp_path / "reports" / "broken").exists()
    assert any("broken for this study" in m for m in messages)
    assert not [p for p in (tmp_path / "reports").iterdir() if p.name.endswith(".tmp")]


def test_a_failing_namespace_reset_fails_the_notebook(tiny_study, tiny_notebooks, tmp_path, monkeypatch):
    """The reset cell of a reused kernel is dropped from the saved notebook; when it fails, the
    notebook must still fail (it used to vanish with its error, and the study was published with
    none of its cells run)."""
    monkeypatch.setattr(report, "RESET_SOURCE", "raise RuntimeError('reset broke')")
    with pytest.raises(NotebookFailed) as err:
        run_study(tiny_study, RunOptions(out_root=tmp_path / "r", notebooks_dir=tiny_notebooks, progress=False, jobs=1))
    assert "reset broke" in str(err.value.evalue)
    assert not (tmp_path / "r" / "tiny").exists()
