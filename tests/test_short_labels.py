"""The short names of assumptions the summary's sentences and the tornado charts use."""
import pytest

from analysis.inputs.study import _leaves, load_study, schema
from analysis.sections import summary


@pytest.fixture(scope="module")
def study():
    from pathlib import Path

    sample_dir = Path(__file__).resolve().parents[1] / "data" / "sample"
    return load_study(sample_dir)


def test_every_uncertain_assumption_has_a_whole_short_name(study):
    # the Russian summary named the strongest driver «Эффект менеджера сопровождения: на сколько» and
    # the English one "Care manager's effect: relative reduction of a…": half of a phrase
    walked = 0
    for path, node in _leaves(schema()):
        if "uncertain" not in str(node.get("type", "")):
            continue
        key = ".".join(path)
        walked += 1
        for lang in ("en", "ru"):
            label = summary.short_label(study, key, lang)
            assert "…" not in label and len(label) <= 48 and ":" not in label, (key, lang, label)
    assert walked >= 10
    assert summary.short_label(study, "retention.care_manager_effect", "ru") == "Эффект менеджера сопровождения"


def test_a_long_description_is_cut_after_a_whole_word(study):
    table = study.assumptions(None, "en")
    for key, text in zip(table["key"], table["description"]):
        label = summary.short_label(study, key, "en", width=30)
        if label.endswith("…"):
            body = label[:-1]
            head = text.split(" (")[0]
            assert head.startswith(body) and head[len(body)] in " ,:;", (key, label)
            assert len(label) <= 30
