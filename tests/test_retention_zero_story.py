"""A summary that says the regulars' gain is counted as zero counts it as zero.

An owner read on a 3-month salon's summary "Regular clients kept longer are counted as zero: the visit
model could not be fitted" and, further down, "Regular clients kept longer add 7,695 ₽ of margin a
year": the NPV took the gain from the visit model's bootstrap refits although the fitted model gave
no gain curve."""
import numpy as np

from analysis.inputs import data, sample
from analysis.inputs.study import load_study
from analysis.models import simulate
from analysis.sections import summary


def test_a_gain_counted_as_zero_is_zero_in_every_scenario(tmp_path):
    d = sample.write_sample(tmp_path / "short", clients=120, months=3, seed=5)
    for extra in d.glob("membership*"):   # members' fees are a part of their own, priced without the model
        extra.unlink()
    study = load_study(d)
    prep = summary.prepare(study, data.load_tables(study))
    assert prep.retention is not None and prep.retention.effect is None   # too short to measure
    assert "summary.note.retention_zero" in [n.code for n in prep.notes]
    ev = summary.evaluate(prep, simulate.draws(prep.study, n=400))
    gain = np.asarray(ev.monthly["retention_margin_year"], float)
    assert np.all(gain == 0.0), np.median(gain)
