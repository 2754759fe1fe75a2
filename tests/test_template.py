"""``new DIR``: a ready-to-fill study folder whose study.yaml documents every assumption."""
from __future__ import annotations

from analysis.inputs.study import _leaves, load_study, schema
from analysis.inputs.template import TEMPLATES, write_template


def test_new_folder_loads_and_documents_every_key(tmp_path):
    out = write_template(tmp_path / "salon")
    study = load_study(out)
    assert study.name == "salon"
    text = (out / "study.yaml").read_text(encoding="utf-8")
    for path, spec in _leaves(schema()):
        if path[-1] in ("name", "name_ru", "data"):
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


def test_new_writes_only_what_must_be_filled(tmp_path):
    from analysis.inputs.template import OPTIONAL

    out = write_template(tmp_path / "salon")
    assert sorted(p.name for p in out.iterdir()) == ["study.yaml", "visits.csv"]
    text = (out / "study.yaml").read_text(encoding="utf-8")
    for name, (header, _, _) in OPTIONAL.items():  # the optional tables are described, not written
        assert f"#   {name}: {header}" in text


def test_a_new_folder_with_an_empty_optional_table_passes_check(run_cli, tmp_path):
    from analysis.inputs.template import OPTIONAL

    out = write_template(tmp_path / "salon")
    with open(out / "visits.csv", "a", encoding="utf-8") as fh:
        fh.write("v1,2024-01-03,c1,,,,1500,,,\nv2,2024-02-03,c1,,,,1700,,,\n")
    (out / "clients.csv").write_text(OPTIONAL["clients.csv"][0] + "\n", encoding="utf-8")  # header only
    r = run_cli("check", out)
    assert r.returncode == 0, r.stderr
    assert "clients.csv has no rows" in r.stdout


def test_russian_name_documented_and_shown_on_russian_pages(tmp_path):
    from analysis.pages.labels import study_name

    out = write_template(tmp_path / "salon")
    text = (out / "study.yaml").read_text(encoding="utf-8")
    assert "# name_ru: " in text and "name_ru" in text.split("name: salon", 1)[1].split("\n\n", 1)[0]
    study = load_study(out)
    assert study_name(study, "ru") == "salon" == study_name(study, "en")  # no name_ru: the name
    (out / "study.yaml").write_text("name: Salon Rose\nname_ru: Салон «Роза»\n", encoding="utf-8")
    study = load_study(out)
    assert study_name(study, "ru") == "Салон «Роза»" and study_name(study, "en") == "Salon Rose"


def test_russian_name_is_validated(tmp_path):
    import pytest

    from analysis.errors import InputError

    (tmp_path / "study.yaml").write_text("name: S\nname_ru: [1, 2]\n", encoding="utf-8")
    (tmp_path / "visits.csv").write_text("client_id,date,amount\n", encoding="utf-8")
    with pytest.raises(InputError, match="name_ru"):
        load_study(tmp_path)


def test_study_names_helper_for_generators():
    import pytest

    from analysis.inputs.template import study_names

    assert study_names("Sample", "Образец") == {"name": "Sample", "name_ru": "Образец"}
    assert study_names("Sample") == {"name": "Sample"}
    with pytest.raises(ValueError):
        study_names("Sample", " ")
