"""``new DIR``: a ready-to-fill study folder whose study.yaml documents every assumption."""
from __future__ import annotations

from analysis.study import _leaves, load_study, schema
from analysis.template import TEMPLATES, write_template


def test_new_folder_loads_and_documents_every_key(tmp_path):
    out = write_template(tmp_path / "salon")
    study = load_study(out)
    assert study.name == "salon"
    text = (out / "study.yaml").read_text(encoding="utf-8")
    for path, spec in _leaves(schema()):
        if path[-1] in ("name", "data"):
            continue
        assert f"# {path[-1]}:" in text or f"#   {path[-1]}:" in text, ".".join(path)
        assert spec["source"][:40] in text
    for name, header in TEMPLATES.items():
        assert (out / name).read_text(encoding="utf-8").strip() == header


def test_uncommented_defaults_are_valid(tmp_path):
    """Uncommenting a section's keys gives a valid study (the defaults are written correctly)."""
    out = write_template(tmp_path / "salon")
    lines = (out / "study.yaml").read_text(encoding="utf-8").splitlines()
    keep = ["name: salon", "horizon_months: 36", "simulation:", "  n_draws: 4000", "  seed: 20261127"]
    assert "# horizon_months: 36" in lines and "  # n_draws: 4000" in lines
    (out / "study.yaml").write_text("\n".join(keep) + "\n", encoding="utf-8")
    assert load_study(out).horizon_months == 36


def test_new_refuses_to_overwrite(run_cli, tmp_path):
    (tmp_path / "study.yaml").write_text("name: mine\n")
    r = run_cli("new", tmp_path)
    assert r.returncode == 2 and "already holds study.yaml" in r.stderr
    assert (tmp_path / "study.yaml").read_text() == "name: mine\n"
