"""Who is in the pilot group: the estimand shared by the generator and the estimator.

A client belongs to the pilot group when her **home block** is a pilot block.  The home block is
the block of most of her completed visits before ``since``; a client whose first visit is on or
after ``since`` is homed in the block of her first visit.  Ties go to the block she visited last
before ``since``.  :func:`home_blocks` works on plain arrays (the sample generator calls it on the
visits it is drawing); :func:`home_block` on the kit's visits table.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["home_blocks", "home_block"]


def home_blocks(client, day, block, since_day, n_clients: int | None = None) -> np.ndarray:
    """Home block code of every client, from visit arrays.

    Parameters
    ----------
    client : int array
        Client index of each visit, ``0 .. n_clients - 1``.
    day : int or float array
        Day of each visit (any origin; the same as ``since_day``).
    block : int array
        Block code of each visit, ``0 .. n_blocks - 1``.
    since_day : number
        First day of the pilot; visits with ``day < since_day`` are "before".

    Returns
    -------
    ndarray of int, one per client
        The home block code, ``-1`` for a client without visits.
    """
    client = np.asarray(client, np.int64)
    day = np.asarray(day, float)
    block = np.asarray(block, np.int64)
    n = int(n_clients if n_clients is not None else (client.max() + 1 if client.size else 0))
    nb = int(block.max() + 1) if block.size else 1
    out = np.full(n, -1, np.int64)
    pre = day < since_day
    if pre.any():
        count = np.zeros((n, nb))
        np.add.at(count, (client[pre], block[pre]), 1.0)
        last = np.full((n, nb), -np.inf)
        np.maximum.at(last, (client[pre], block[pre]), day[pre])
        # most visits first; among equal counts, the block visited last (a day is < 1e7)
        score = np.where(count > 0, count * 1e8 + (last - day.min()), -np.inf)
        has = count.sum(1) > 0
        out[has] = np.argmax(score[has], axis=1)
    # clients new on or after `since`: the block of their first visit
    rest = out < 0
    if rest.any():
        sel = rest[client]
        order = np.lexsort((day[sel], client[sel]))
        c_sel, b_sel = client[sel][order], block[sel][order]
        first = np.ones(c_sel.size, bool)   # a client with no visit at all keeps -1
        first[1:] = c_sel[1:] != c_sel[:-1]
        out[c_sel[first]] = b_sel[first]
    return out


def home_block(visits: pd.DataFrame, since) -> pd.Series:
    """Home block of every client of a visits table (completed visits only).

    Parameters
    ----------
    visits : DataFrame
        ``client_id``, ``date``, ``block`` (and optionally ``status``).
    since : date-like
        First day of the pilot.

    Returns
    -------
    Series indexed by ``client_id``: the block name.
    """
    v = visits
    if "status" in v.columns:
        st = v["status"]
        v = v[(st.isna() | (st == "done")).to_numpy(bool)]
    # ids read as categories keep every client of the file; only those with a completed visit count
    cid = pd.Categorical(v["client_id"]).remove_unused_categories()
    blk = pd.Categorical(v["block"].astype(str))
    day = (pd.to_datetime(v["date"]).dt.normalize() - pd.Timestamp("2000-01-01")).dt.days.to_numpy(float)
    s_day = float((pd.Timestamp(since).normalize() - pd.Timestamp("2000-01-01")).days)
    codes = home_blocks(cid.codes, day, blk.codes, s_day, len(cid.categories))
    names = np.asarray(blk.categories, object)
    return pd.Series(np.where(codes >= 0, names[np.maximum(codes, 0)], None), index=pd.Index(cid.categories,
                     name="client_id"), name="home_block")
