"""Pilot fixes: the generator never writes a pilot its own `check` rejects (F8), and the pilot
page's ticket change has no bias on generated pilots without a ticket effect (F14)."""
from __future__ import annotations

import pytest

from analysis.errors import InputError
from analysis.inputs import sample


def test_one_specialist_pilot_in_absent_block_is_refused(tmp_path):
    out = tmp_path / "s"
    with pytest.raises(InputError) as exc:
        sample.write_sample(out, clients=120, months=18, seed=5, hard=("one_specialist",),
                            pilot_since="2024-01-01", pilot_blocks=["hair"], pilot_effect=0.4)
    text = str(exc.value)
    assert "--pilot-blocks" in text and "hair" in text and "nails" in text
    assert not out.exists()          # nothing written


def test_one_specialist_pilot_in_nails_passes_check(tmp_path):
    from analysis.__main__ import main

    out = tmp_path / "s"
    sample.write_sample(out, clients=120, months=18, seed=5, hard=("one_specialist",),
                        pilot_since="2024-01-01", pilot_blocks=["nails"], pilot_effect=0.4)
    assert main(["check", str(out)]) == 0
    import yaml
    truth = yaml.safe_load((out / "ground_truth.yaml").read_text(encoding="utf-8"))
    assert truth["pilot"]["blocks"] == ["nails"] and truth["pilot"]["every_block"]


def test_cli_sample_exits_2_naming_flag_and_blocks(tmp_path, capsys):
    from analysis.__main__ import main

    rc = main(["sample", str(tmp_path / "s"), "--clients", "120", "--months", "18", "--seed", "5",
               "--hard", "one_specialist", "--pilot-since", "2024-01-01", "--pilot-blocks", "hair",
               "--pilot-effect", "0.4"])
    assert rc == 2
    err = capsys.readouterr()
    assert "--pilot-blocks" in err.err + err.out and "nails" in err.err + err.out
