"""``privacy.number_ids`` numbers ids on factorised codes: the same tables as the element-by-element
mapping it replaced (kept here as the reference), on random tables with missing and repeated ids."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.inputs import data, privacy


def _reference(tables):
    """The numbering as it was: a Python lookup per id."""
    frames = {n: getattr(tables, n) for n in data.TABLES if getattr(tables, n) is not None}
    for col, prefix in privacy.ID_PREFIXES.items():
        seen: dict = {}
        for df in frames.values():
            if col in df.columns:
                for v in pd.unique(df[col].dropna()):
                    seen.setdefault(str(v), None)
        width = max(2 if col == "specialist_id" else 4, len(str(len(seen))))
        numbers = {v: f"{prefix}{i:0{width}d}" for i, v in enumerate(seen, 1)}
        for name, df in frames.items():
            if col in df.columns:
                s = df[col]
                out = s.map(lambda v: numbers.get(str(v)) if pd.notna(v) else None)
                df = df.copy()
                out = out.astype("object").where(s.notna(), None)
                try:
                    out = out.astype(s.dtype)
                except (TypeError, ValueError):
                    pass
                df[col] = out
                frames[name] = df
    return dataclasses.replace(tables, **frames)


ids = st.one_of(st.none(), st.sampled_from(["c1", "c2", "c10", "ё3", "", "7", "x y"]))
staff_ids = st.one_of(st.none(), st.sampled_from(["s1", "s2", "S9", "ж"]))


@settings(max_examples=60, deadline=None)
@given(v_clients=st.lists(ids, min_size=0, max_size=40), v_staff=st.lists(staff_ids, min_size=0, max_size=40),
       c_clients=st.lists(ids, max_size=15), st_ids=st.lists(staff_ids, max_size=6),
       text=st.booleans())
def test_numbering_equals_the_reference(v_clients, v_staff, c_clients, st_ids, text):
    n = min(len(v_clients), len(v_staff))
    dtype = "str" if text else object
    visits = pd.DataFrame({"client_id": pd.Series(v_clients[:n], dtype=dtype),
                           "specialist_id": pd.Series(v_staff[:n], dtype=dtype),
                           "amount": np.arange(n, dtype=float)})
    clients = pd.DataFrame({"client_id": pd.Series(c_clients, dtype=dtype)})
    staff = pd.DataFrame({"specialist_id": pd.Series(st_ids, dtype=dtype)})
    t = data.Tables(visits=visits, clients=clients, staff=staff)
    got, want = privacy.number_ids(t), _reference(t)
    for name in ("visits", "clients", "staff"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name))


def test_numbers_known_answer():
    visits = pd.DataFrame({"client_id": ["b", "a", "b", None, "c"], "specialist_id": ["y", "x", "y", "x", None]})
    clients = pd.DataFrame({"client_id": ["z", "a"]})
    got = privacy.number_ids(data.Tables(visits=visits, clients=clients))
    assert got.visits["client_id"].tolist()[:3] == ["C0001", "C0002", "C0001"]
    assert pd.isna(got.visits["client_id"].iloc[3]) and got.visits["client_id"].iloc[4] == "C0003"
    assert got.clients["client_id"].tolist() == ["C0004", "C0002"]
    assert got.visits["specialist_id"].tolist()[:4] == ["S01", "S02", "S01", "S02"]
