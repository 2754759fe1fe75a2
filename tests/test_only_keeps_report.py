"""``--only`` re-runs some pages and keeps the earlier report's others: the workbook (tables.xlsx) and
the manifest's timings must keep the other pages' parts too, and nothing but the kit's own files is
carried from the earlier folder into the new one."""
from __future__ import annotations

import json

import pytest

from analysis.run.report import RunOptions, kit_files, run_study
from conftest import make_notebook

openpyxl = pytest.importorskip("openpyxl")

EXPORT = ('import pandas as pd\n'
          'ctx.export("{section}", "{name}", pd.DataFrame({{"clients": [len(ctx.tables.visits), 2],'
          ' "share_of_clients": [0.25, 0.75], "revenue": [1500.0, 2500.5], "block": ["hair", "nails"]}}))\n'
          'ctx.record("{section}", {{"n": 1}})\n')


def _notebooks(d, staffing_tables=("options", "growth")):
    make_notebook(d / "01_data_check.ipynb", EXPORT.format(section="data_check", name="ticket"))
    make_notebook(d / "02_staffing.ipynb",
                  "".join(EXPORT.format(section="staffing", name=n) for n in staffing_tables))
    make_notebook(d / "03_retention.ipynb", EXPORT.format(section="retention", name="scenarios_summary"))
    make_notebook(d / "05_summary.ipynb", EXPORT.format(section="summary", name="sensitivity"))
    return d


def _opts(tmp_path, nbs, **kw):
    return RunOptions(out_root=tmp_path / "reports", notebooks_dir=nbs, progress=False, jobs=2, lang="en", **kw)


def _workbook(path):
    """Every sheet as (name, [(value, number format) per cell]) in the workbook's order."""
    wb = openpyxl.load_workbook(path)
    return [(ws.title, [[(c.value, c.number_format, c.data_type) for c in row] for row in ws.iter_rows()])
            for ws in wb.worksheets]


def test_only_keeps_every_pages_tables_and_timings(tiny_study, tmp_path):
    nbs = _notebooks(tmp_path / "nbs")
    run_study(tiny_study, _opts(tmp_path, nbs))
    out = tmp_path / "reports" / "tiny"
    full = _workbook(out / "tables.xlsx")
    names = [n for n, _ in full]
    assert len(names) == 1 + 5, names  # contents and five tables
    timings = json.loads((out / "manifest.json").read_text())["timings_s"]

    run_study(tiny_study, _opts(tmp_path, nbs, only=["staffing"]))
    assert _workbook(out / "tables.xlsx") == full  # same sheets, order, values, formats, contents rows
    after = json.loads((out / "manifest.json").read_text())["timings_s"]
    assert set(after) == set(timings)  # the kept pages' timings stay
    for stem in ("01_data_check", "03_retention", "05_summary"):
        assert after[stem] == timings[stem]

    # the re-run section's sheets are this run's: a table it no longer exports is gone
    _notebooks(nbs, staffing_tables=("queues",))
    run_study(tiny_study, _opts(tmp_path, nbs, only=["staffing"]))
    now = _workbook(out / "tables.xlsx")
    titles = [n for n, _ in now]
    assert "Queues" in titles and "Staffing options" not in titles and "Staff as the salon grows" not in titles
    assert [n for n in titles if n != "Queues"] == [n for n in names if n not in ("Staffing options",
                                                                                    "Staff as the salon grows")]
    assert titles.index("Queues") == names.index("Staff as the salon grows")  # in the pages' order
    contents = dict(now)[titles[0]]
    listed = [row[2][0] for row in contents[3:]]
    assert listed == titles[1:]


def test_only_turns_a_planted_formula_into_text(tiny_study, tmp_path):
    nbs = _notebooks(tmp_path / "nbs")
    run_study(tiny_study, _opts(tmp_path, nbs))
    out = tmp_path / "reports" / "tiny"
    wb = openpyxl.load_workbook(out / "tables.xlsx")
    ws = wb.worksheets[1]  # the data check's sheet, kept by --only staffing
    ws["A2"] = '=HYPERLINK("http://example.com","click")'
    ws["B2"].hyperlink = "http://example.com"
    wb.save(out / "tables.xlsx")
    run_study(tiny_study, _opts(tmp_path, nbs, only=["staffing"]))
    ws = openpyxl.load_workbook(out / "tables.xlsx").worksheets[1]
    assert ws["A2"].data_type == "s" and ws["A2"].value.startswith("=HYPERLINK") and ws["A2"].quotePrefix
    assert ws["B2"].hyperlink is None


def test_only_carries_only_the_kits_files(tiny_study, tmp_path):
    nbs = _notebooks(tmp_path / "nbs")
    run_study(tiny_study, _opts(tmp_path, nbs))
    out = tmp_path / "reports" / "tiny"
    ours = sorted(kit_files(out))
    (out / "evil.py").write_text("print('hi')\n")
    (out / "mine.ipynb").write_text("{}\n")
    (out / "stray.html").write_text("<p>no notebook</p>\n")  # a page without its notebook
    (out / "notebooks" / "x.py").write_text("1\n")
    (out / "mine").mkdir()
    (out / "mine" / "notes.txt").write_text("n\n")
    run = run_study(tiny_study, _opts(tmp_path, nbs, only=["retention"]))
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == ours
    assert sorted(run.left_out) == ["evil.py", "mine.ipynb", "mine/notes.txt", "notebooks/x.py", "stray.html"]


def test_kit_files_pairs_pages_with_notebooks(tmp_path):
    d = tmp_path / "r"
    (d / "notebooks").mkdir(parents=True)
    for name in ("index.html", "results.json", "01_a.html", "notebooks/01_a.ipynb", "02_b.html",
                 "notebooks/03_c.ipynb", "x.ipynb"):
        (d / name).write_text("x")
    (d / "tables.xlsx").symlink_to(d / "index.html")
    assert sorted(kit_files(d)) == ["01_a.html", "index.html", "notebooks/01_a.ipynb", "results.json"]


# -- a report folder that cannot be replaced


def _refuse_renaming(monkeypatch, folder):
    """``folder`` cannot be renamed (as under ``chattr +i`` or a read-only mount)."""
    import pathlib

    real = pathlib.Path.rename

    def rename(self, target):
        if pathlib.Path(self) == folder:
            raise PermissionError(1, "Operation not permitted", str(self))
        return real(self, target)

    monkeypatch.setattr(pathlib.Path, "rename", rename)


def _snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_unreplaceable_report_folder_is_refused_before_running(tiny_study, tmp_path, monkeypatch):
    from analysis.errors import InputError

    nbs = _notebooks(tmp_path / "nbs")
    run_study(tiny_study, _opts(tmp_path, nbs))
    out = tmp_path / "reports" / "tiny"
    before = _snapshot(out)
    marker = tmp_path / "ran"
    make_notebook(nbs / "04_marker.ipynb", f'open({str(marker)!r}, "w").close()')
    _refuse_renaming(monkeypatch, out)
    with pytest.raises(InputError) as info:
        run_study(tiny_study, _opts(tmp_path, nbs))
    assert f"{out}: cannot replace this report folder: Operation not permitted" in str(info.value)
    assert not marker.exists()  # refused before any notebook ran
    assert _snapshot(out) == before
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["tiny"]


def test_publishing_failure_keeps_the_earlier_report(tiny_study, tmp_path, monkeypatch):
    from analysis.run import report

    nbs = _notebooks(tmp_path / "nbs")
    run_study(tiny_study, _opts(tmp_path, nbs))
    out = tmp_path / "reports" / "tiny"
    before = _snapshot(out)
    monkeypatch.setattr(report, "_check_replaceable", lambda final: None)  # it became immutable meanwhile
    _refuse_renaming(monkeypatch, out)
    with pytest.raises(report.NotPublished) as info:
        run_study(tiny_study, _opts(tmp_path, nbs))
    assert str(out) in str(info.value)
    assert _snapshot(out) == before
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["tiny"]
    lines = []
    code, runs = report.run_many([tiny_study], _opts(tmp_path, nbs), report=lines.append)
    assert code == 2 and runs[0].code == 2
    head, _, problem = lines[0].partition("\n")
    assert head.endswith("tiny: not published:") and "cannot replace this report folder" in problem


@pytest.mark.parametrize("case", ["missing", "empty", "file"])
def test_notebooks_folder_without_notebooks_names_notebooks(tiny_study, tmp_path, case):
    """``--notebooks`` at a missing or empty folder, or at a file, names ``--notebooks`` and the
    folder, not ``--only`` (which was not given) with an empty list."""
    from analysis.errors import InputError

    d = tmp_path / "nbs"
    if case == "empty":
        d.mkdir()
    elif case == "file":
        d.write_text("x")
    with pytest.raises(InputError) as info:
        run_study(tiny_study, _opts(tmp_path, d))
    text = str(info.value)
    assert "--notebooks" in text and str(d) in text and "--only" not in text, text


def test_interrupted_run_prints_only_its_own_message(tiny_study, tmp_path, capfd, caplog):
    """A run stopped by a signal while a notebook executes: the kernels are shut down, and the
    notebook client's "Kernel died while waiting for execute reply." is not printed (the command
    prints its own one line)."""
    import os
    import signal
    import threading
    import time

    from analysis.run.report import Interrupted

    marker = tmp_path / "started"
    make_notebook(tmp_path / "nbs" / "01_slow.ipynb",
                  f'import time\nopen({str(marker)!r}, "w").close()\ntime.sleep(60)')

    def stop():
        deadline = time.monotonic() + 300
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=stop, daemon=True).start()
    with pytest.raises(Interrupted):
        run_study(tiny_study, _opts(tmp_path, tmp_path / "nbs"))
    err = capfd.readouterr().err + "\n".join(r.getMessage() for r in caplog.records)
    assert marker.exists() and "Kernel died" not in err, err
    assert not (tmp_path / "reports" / "tiny").exists()
