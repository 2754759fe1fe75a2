"""A sample beauty & fitness centre generated from explicit ground truth.

The bundled study ``data/sample/`` is ``write_sample("data/sample")`` at the default seed.  Every
number the retention models should recover is written to ``ground_truth.yaml`` next to the data.

Generative model (time in **weeks** for the visit process, **months** for memberships)
-------------------------------------------------------------------------------------------
* **Acquisition.** Client *i* makes a first visit on a day drawn uniformly over the period (the
  centre's export starts when it opened: every client's first visit is in the data).
* **Visits: BG/NBD** (Fader, Hardie & Lee 2005).  While alive, client *i* visits as a Poisson
  process with rate ``lambda_i ~ Gamma(shape=r, rate=alpha)`` visits per week.  After each *repeat*
  visit the client drops out for good with probability ``p_i ~ Beta(a, b)``.  One service per
  visit day; visits that would fall on a day the client already visited are merged (rare).
* **Spend: Gamma-Gamma** (Fader, Hardie & Lee 2005, "RFM and CLV"; Colombo & Jiang 1999).  The
  amount of each completed visit is ``z ~ Gamma(shape=p, rate=nu_i)``, ``nu_i ~ Gamma(shape=q,
  rate=gamma)`` in roubles (rounded to whole roubles); mean spend ``p * gamma / (q - 1)``.
* **Blocks and services.**  Each client has a Dirichlet preference over the five blocks; a visit's
  block is drawn from it, tilted towards blocks whose typical price is near the visit's amount
  (``price_affinity_sd`` on the log scale), so the spend model stays exact.  Within a block the
  service whose list price is nearest the visit amount
  (on a log scale, with noise) is recorded.
* **Specialists.**  Each client has a favourite specialist per block (employed on the client's
  first visit), chosen in proportion to a lognormal popularity (``specialist_popularity_sd``),
  which makes the load uneven.  A visit in a block goes to the favourite with probability ``loyalty`` when the
  favourite is employed that day, else to a random specialist of the block employed that day.
* **Departures.**  When a specialist leaves, each *attached* client (favourite = the leaving
  specialist, at least one completed visit with them before the leaving day, and still visiting
  after it) leaves the centre on that day with probability ``attached_leave_share``; the others
  pick a new favourite among the block's remaining specialists.
* **Memberships: sBG** (Fader & Hardie 2007).  A share of clients buys a monthly fitness membership
  at the first visit; each month it is renewed or not, churn probability ``theta_i ~ Beta(alpha,
  beta)`` constant per member.
* **Consumables** per service are a fixed share (8–15 %) of the amount; **commissions** 35–50 %.
* **Cancellations and no-shows** are extra rows (amount 0, status ``cancelled`` / ``no_show``)
  a few days before a real repeat visit; they are not part of the visit process.

Calibration targets (industry figures listed on the references page, ``pages/references.py``): new-client 90-day retention about 30 %
(Phorest; SalonToday 28–33 %), repeat-client retention 68–79 % (Phorest, Crystal Focus),
consumables 8–15 % of service revenue (Refine Network, CREAM), commissions 35–50 % (Russian
market), gym-like membership churn (IHRSA; Russian renewal 30–60 %).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

__all__ = ["TRUTH", "BLOCKS", "SERVICES", "generate", "write_sample", "SampleData", "DEFAULT_SEED",
           "HARD_CASES", "hard_case_truth", "harden"]

DEFAULT_SEED = 20230101

BLOCKS = ("hair", "nails", "cosmetology", "spa", "fitness")

#: Ground truth of the generator (see the module docstring).  ``bgnbd`` rates are per WEEK.
TRUTH = {
    "time_unit": "week",
    "bgnbd": {"r": 0.18, "alpha": 2.0, "a": 0.5, "b": 8.0},
    "gamma_gamma": {"p": 6.0, "q": 4.0, "gamma": 1750.0},
    "sbg": {"alpha": 1.0, "beta": 9.0},
    "membership_share": 0.22,
    "membership_price_month": 4500,
    "loyalty": 0.85,
    "attached_leave_share": 0.40,
    "cancelled_share": 0.05,
    "no_show_share": 0.03,
    "discount_share": 0.10,
    "discount_rate": 0.10,
    # Popularity of the blocks (Dirichlet base measure) and how concentrated clients are on few.
    "block_popularity": {"hair": 0.34, "nails": 0.28, "cosmetology": 0.14, "spa": 0.14, "fitness": 0.10},
    "block_concentration": 0.9,
    # sd of log price around a block's typical price when choosing a visit's block from its amount
    "price_affinity_sd": 0.5,
    # clients choose specialists in proportion to a lognormal popularity (uneven load)
    "specialist_popularity_sd": 0.5,
}

#: Service list: (service, block, list price RUB, consumables share, duration min).
SERVICES = [
    ("Men's haircut", "hair", 1500, 0.08, 45),
    ("Women's haircut", "hair", 2500, 0.08, 60),
    ("Styling", "hair", 2000, 0.09, 45),
    ("Hair treatment", "hair", 3500, 0.14, 60),
    ("Colouring", "hair", 6500, 0.15, 150),
    ("Manicure", "nails", 1500, 0.10, 60),
    ("Gel polish manicure", "nails", 2500, 0.12, 90),
    ("Pedicure", "nails", 3000, 0.11, 90),
    ("Nail extension", "nails", 4000, 0.15, 150),
    ("Face massage", "cosmetology", 2500, 0.08, 45),
    ("Facial cleansing", "cosmetology", 4000, 0.10, 75),
    ("Chemical peel", "cosmetology", 5000, 0.13, 60),
    ("Mesotherapy", "cosmetology", 8000, 0.15, 60),
    ("Classic massage", "spa", 3000, 0.08, 60),
    ("Body wrap", "spa", 4500, 0.14, 75),
    ("Spa programme", "spa", 7000, 0.12, 120),
    ("Group class", "fitness", 900, 0.08, 60),
    ("Personal training", "fitness", 2500, 0.08, 60),
    ("Pilates reformer", "fitness", 3000, 0.09, 55),
]

# Staff: (block, role, count, monthly fixed pay RUB).
_STAFF_PLAN = [
    ("hair", "stylist", 7, 25000),
    ("nails", "nail technician", 6, 20000),
    ("cosmetology", "cosmetologist", 4, 30000),
    ("spa", "massage therapist", 4, 25000),
    ("fitness", "trainer", 4, 30000),
]

#: Clients at which the sample centre has the full staff of :data:`_STAFF_PLAN`.
_STAFF_FULL_CLIENTS = 3000
#: Fewest specialists per block in a smaller centre: a block where a specialist leaves keeps one
#: working until the replacement comes; the other blocks can run with one.
_STAFF_MIN_PER_BLOCK = {"hair": 2, "nails": 2, "cosmetology": 2}


def _staff_plan(clients: int) -> list:
    """The staff plan for a centre of ``clients``: :data:`_STAFF_PLAN` from
    :data:`_STAFF_FULL_CLIENTS` clients on; a smaller centre has fewer specialists per block in
    proportion to its clients (at least :data:`_STAFF_MIN_PER_BLOCK`, else one), each on the same
    full-time fixed pay, so that its fixed payroll follows its clients as its revenue does."""
    size = clients / _STAFF_FULL_CLIENTS
    if size >= 1:
        return list(_STAFF_PLAN)
    return [(block, role, max(_STAFF_MIN_PER_BLOCK.get(block, 1), int(round(count * size))), fixed)
            for block, role, count, fixed in _STAFF_PLAN]


_FIRST_F = ["Анна", "Мария", "Елена", "Ольга", "Наталья", "Екатерина", "Татьяна", "Ирина", "Светлана",
            "Юлия", "Дарья", "Алина", "Ксения", "Виктория", "Полина", "Анастасия", "Марина", "Вера"]
_FIRST_M = ["Александр", "Дмитрий", "Сергей", "Андрей", "Алексей", "Максим", "Иван", "Михаил", "Павел"]
_LAST = ["Смирнов", "Иванов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов", "Новиков",
         "Морозов", "Петров", "Волков", "Соловьёв", "Васильев", "Зайцев", "Павлов", "Семёнов",
         "Голубев", "Виноградов", "Богданов", "Воробьёв", "Фёдоров", "Михайлов", "Беляев", "Тарасов"]
_CHANNELS = ["Yandex Maps", "Instagram", "referral", "walk-in", "2GIS", "website"]


@dataclass
class SampleData:
    """Generated tables and the truth they came from."""

    visits: pd.DataFrame
    services: pd.DataFrame
    staff: pd.DataFrame
    clients: pd.DataFrame
    memberships: pd.DataFrame
    truth: dict


def _take_str(values, codes):
    """``values[codes]`` as a column of pandas' default string dtype, built by Arrow's ``take``
    (the same column as from a NumPy string array, without converting every string)."""
    dtype = pd.Series(["x"]).dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        import pyarrow as pa

        return pd.array(pa.array(np.asarray(values).tolist(), pa.large_string()).take(np.asarray(codes)), dtype=dtype)
    return np.asarray(values)[codes]


def _month_add(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    return dt.date(d.year + y, m + 1, 1) if d.day == 1 else dt.date(d.year + y, m + 1, d.day)


def generate(clients: int = 3000, months: int = 24, seed: int = DEFAULT_SEED,
             start: str = "2023-01-01", truth: dict | None = None, pilot_since: str | None = None,
             pilot_blocks=None, pilot_effect: float = 0.0) -> SampleData:
    """Generate the sample centre's tables.

    Parameters
    ----------
    clients : int
        Number of clients acquired over the period.
    months : int
        Length of the export, months (the last day is the day before ``start + months``).
    seed : int
        Random seed; the same arguments give identical tables.
    start : str
        First day of the export, ISO date.
    truth : dict, optional
        Replaces keys of :data:`TRUTH` (e.g. ``{"attached_leave_share": 0.0}``).
    pilot_since : str, optional
        First day of a care-manager pilot (ISO date, strictly inside the period).  None: no pilot,
        and the tables are exactly those of the same call without the pilot arguments.
    pilot_blocks : sequence of str, optional
        Pilot blocks; None or empty = every block (no control group).
    pilot_effect : float
        E, the relative cut of the dropout probability after a visit on or after ``pilot_since``
        for clients whose home block (:func:`analysis.sections.pilot.home_blocks`) is a pilot block:
        ``p -> p (1 - E)``.  By the memorylessness of the geometric number of repeat visits, a
        client still alive at her last visit before ``since`` makes ``j0 + Geometric(p (1 - E))``
        repeat visits at most (``j0`` = repeat visits before ``since``); the baseline count
        ``j0 + Geometric(p)`` is coupled to it through one uniform draw (inverse CDF), the visits
        are drawn for the larger of the two, and the pilot group keeps its own count after the
        home blocks are known.  The extra randomness comes from its own generator, so the visit
        days before ``since`` are those of the same seed with any effect (amounts and blocks are
        drawn for all visits at once and so differ).

    Returns
    -------
    SampleData
        ``visits, services, staff, clients, memberships`` DataFrames in the kit's tidy contract
        (clients also carries fake ``name`` / ``phone`` / ``birth_date`` columns, which the
        loader drops) and ``truth``: the parameters plus realised facts (departures, counts).
    """
    T = {**TRUTH, **(truth or {})}
    rng = np.random.default_rng(seed)
    start_d = dt.date.fromisoformat(str(start))
    end_excl = _month_add(start_d.replace(day=1), months) if start_d.day == 1 else _month_add(start_d, months)
    n_days = (end_excl - start_d).days
    base = np.datetime64(start_d, "D")
    n = int(clients)

    # ---- staff ------------------------------------------------------------------------------
    staff_rows = []
    k = 0
    for block, role, count, fixed in _staff_plan(n):
        for j in range(count):
            k += 1
            staff_rows.append({"specialist_id": f"S{k:02d}", "block": block, "role": role,
                               "hired_day": -int(rng.integers(60, 1500)), "left_day": np.nan,
                               "monthly_fixed_pay": float(fixed),
                               "commission_rate": float(np.round(rng.uniform(0.35, 0.50), 2))})
    staff = pd.DataFrame(staff_rows)
    # Three departures (hair, nails, cosmetology) at about 30 %, 55 % and 78 % of the period,
    # each replaced about three weeks later by a new hire in the same block.
    leavers = []
    for frac, block in ((0.30, "hair"), (0.55, "nails"), (0.78, "cosmetology")):
        idx = staff.index[(staff["block"] == block) & staff["left_day"].isna()][0]
        day = int(frac * n_days)
        staff.loc[idx, "left_day"] = day
        leavers.append(idx)
        k += 1
        fixed = staff.loc[idx, "monthly_fixed_pay"]
        staff.loc[len(staff)] = {"specialist_id": f"S{k:02d}", "block": block,
                                 "role": staff.loc[idx, "role"], "hired_day": day + 21,
                                 "left_day": np.nan, "monthly_fixed_pay": fixed,
                                 "commission_rate": float(np.round(rng.uniform(0.35, 0.45), 2))}
    spec_block = staff["block"].map({b: i for i, b in enumerate(BLOCKS)}).to_numpy()
    hired = staff["hired_day"].to_numpy(float)
    left = staff["left_day"].fillna(np.inf).to_numpy(float)

    # ---- clients and the BG/NBD visit process ------------------------------------------------
    bg = T["bgnbd"]
    t0 = rng.uniform(0, n_days, n)                       # first visit, days from start
    lam = rng.gamma(bg["r"], 1.0 / bg["alpha"], n) / 7.0  # visits per day
    p = rng.beta(bg["a"], bg["b"], n)
    k_max = rng.geometric(np.clip(p, 1e-12, 1.0))          # repeat visits before dropping out
    n_poisson = rng.poisson(lam * (n_days - t0))
    m = np.minimum(n_poisson, k_max)
    # Times of the first m of n_poisson uniform points in (t0, end): draw all, keep the first m.
    owner = np.repeat(np.arange(n), n_poisson)
    u = rng.random(owner.size)
    order = np.lexsort((u, owner))
    owner, u = owner[order], u[order]
    rank = np.arange(owner.size) - np.repeat(np.cumsum(n_poisson) - n_poisson, n_poisson)
    pilot = _pilot_counts(pilot_since, pilot_blocks, pilot_effect, start_d, n_days, seed, owner, u, rank, t0,
                          p, k_max, n_poisson) if pilot_since is not None else None
    if pilot is not None:
        m = pilot["m"]
    keep = rank < m[owner]
    rep_owner = owner[keep]
    rep_t = t0[rep_owner] + u[keep] * (n_days - t0[rep_owner])
    v_client = np.concatenate([np.arange(n), rep_owner])
    v_t = np.concatenate([t0, rep_t])
    v_day = np.floor(v_t).astype(np.int64)
    v_rank = np.concatenate([np.full(n, -1), rank[keep]])
    o = np.lexsort((v_day, v_client))
    v_client, v_day, v_rank = v_client[o], v_day[o], v_rank[o]
    first = np.r_[True, (v_client[1:] != v_client[:-1]) | (v_day[1:] != v_day[:-1])]
    v_client, v_day, v_rank = v_client[first], v_day[first], v_rank[first]   # merge same-day visits
    v_first = np.r_[True, v_client[1:] != v_client[:-1]]
    del owner, u, order, rank, keep, rep_owner, rep_t, v_t, first   # large at millions of visits

    # ---- blocks --------------------------------------------------------------------------------
    pop = np.array([T["block_popularity"][b] for b in BLOCKS])
    pref = rng.gamma(pop * len(BLOCKS) * T["block_concentration"], 1.0, (n, len(BLOCKS)))
    member = rng.random(n) < T["membership_share"]
    pref[member, BLOCKS.index("fitness")] += pref[member].sum(1) * 0.5
    pref /= pref.sum(1, keepdims=True)
    # Spend first (Gamma-Gamma), then the block given the client's preferences and the amount:
    # P(block) ~ preference x exp(-(log amount - log typical price of the block)^2 / (2 sd^2)),
    # so a 6,000 RUB visit is more often cosmetology or spa than nails.
    gg = T["gamma_gamma"]
    nu = rng.gamma(gg["q"], 1.0 / gg["gamma"], n)
    amount = np.maximum(np.round(rng.gamma(gg["p"], 1.0, v_client.size) / nu[v_client]), 100.0)
    svc_all = pd.DataFrame(SERVICES, columns=["service", "block", "price", "consumables_share", "duration_min"])
    typical = np.array([np.log(svc_all.loc[svc_all["block"] == b, "price"]).mean() for b in BLOCKS])
    w = pref[v_client] * np.exp(-(np.log(amount)[:, None] - typical[None, :]) ** 2
                                / (2 * T["price_affinity_sd"] ** 2))
    cum = np.cumsum(w, 1) / w.sum(1, keepdims=True)
    v_block = (rng.random(v_client.size)[:, None] > cum).sum(1)
    v_block = np.minimum(v_block, len(BLOCKS) - 1)
    del w, cum
    if pilot is not None:  # home blocks known: each group keeps its own number of repeat visits
        from analysis.sections.pilot.groups import home_blocks

        home = home_blocks(v_client, v_day, v_block, pilot["since_day"], n)
        in_pilot = np.isin(home, pilot["block_idx"])
        cap = np.where(in_pilot, pilot["m_pilot"], pilot["m_base"])
        kv = v_rank < cap[v_client]
        v_client, v_day, v_first, amount, v_block = (x[kv] for x in (v_client, v_day, v_first, amount, v_block))
        pilot["truth"].update(pilot_group_clients=int(in_pilot.sum()), control_group_clients=int((~in_pilot).sum()))

    # ---- favourite specialists and departures ------------------------------------------------
    popularity = rng.lognormal(0.0, T["specialist_popularity_sd"], len(staff))

    # Who is employed changes only on hiring and leaving days: between two such days (an "epoch")
    # the specialists of a block employed are the same, so a pick is a search in the cumulative
    # popularity of the few employed ones.  Same result as the first index where the cumulative
    # popularity over all specialists (zero for those not employed) exceeds u * total.
    breaks = np.unique(np.r_[hired, left[np.isfinite(left)]])

    def employed_pick(block_idx, day, u01):
        """A specialist of ``block_idx`` employed on ``day``, chosen in proportion to popularity."""
        out = np.zeros(block_idx.size, dtype=np.int64)
        if out.size == 0:                      # nobody to pick for (a small salon: no one switched)
            return out
        key = np.asarray(block_idx, np.int64) * (breaks.size + 1) + np.searchsorted(breaks, day, side="right")
        order = np.argsort(key, kind="stable")
        sk = key[order]
        starts = np.flatnonzero(np.r_[True, sk[1:] != sk[:-1]])
        ks = sk[starts]
        for k, i, j in zip(ks, starts, np.r_[starts[1:], order.size]):
            rows = order[i:j]
            b = int(k) // (breaks.size + 1)
            day0 = day[rows[0]]
            elig = np.flatnonzero((spec_block == b) & (hired <= day0) & (left > day0))
            if elig.size == 0:
                continue                       # nobody employed: index 0, as argmax of all False
            csum = np.cumsum(popularity[elig])
            target = u01[rows] * csum[-1]
            pos = np.searchsorted(csum, target, side="right")
            out[rows] = np.where(pos < elig.size, elig[np.minimum(pos, elig.size - 1)], 0)
        return out

    fav = np.empty((n, len(BLOCKS)), dtype=np.int64)
    fday = np.floor(t0)
    for b in range(len(BLOCKS)):
        fav[:, b] = employed_pick(np.full(n, b), fday, rng.random(n))

    alive_until = np.full(n, np.inf)
    fav_v = fav[v_client, v_block]          # favourite at the time of each visit
    departures = []
    for idx in sorted(leavers, key=lambda i: left[i]):
        L = left[idx]
        b = spec_block[idx]
        live = v_day < alive_until[v_client]
        with_fav = fav[:, b] == idx
        before = np.zeros(n, bool)
        before[v_client[live & (v_day < L) & (v_block == b) & (fav_v == idx)]] = True
        after = np.zeros(n, bool)
        after[v_client[live & (v_day >= L)]] = True
        attached = with_fav & before & after
        leaves = attached & (rng.random(n) < T["attached_leave_share"])
        alive_until[leaves] = np.minimum(alive_until[leaves], L)
        # the others (attached or not yet) pick a new favourite employed three weeks later
        switch = np.flatnonzero(with_fav & ~leaves)
        fav[switch, b] = employed_pick(np.full(switch.size, b), np.maximum(fday[switch], L + 21),
                                       rng.random(switch.size))
        moved = (v_block == b) & (v_day >= L) & with_fav[v_client]
        fav_v[moved] = fav[v_client[moved], b]
        departures.append({"specialist_id": str(staff.loc[idx, "specialist_id"]), "block": BLOCKS[b],
                           "left": str(start_d + dt.timedelta(days=int(L))),
                           "attached_clients": int(attached.sum()), "left_with_them": int(leaves.sum())})
    keep_v = v_day < alive_until[v_client]
    v_client, v_day, v_block, v_first, fav_v, amount = (
        x[keep_v] for x in (v_client, v_day, v_block, v_first, fav_v, amount))
    # A visit goes to the favourite with probability `loyalty` when the favourite works that day.
    fav_ok = (hired[fav_v] <= v_day) & (left[fav_v] > v_day)
    u_other = rng.random(v_client.size)
    to_fav = fav_ok & (rng.random(v_client.size) < T["loyalty"])
    spec = fav_v.copy()
    spec[~to_fav] = employed_pick(v_block[~to_fav], v_day[~to_fav].astype(float), u_other[~to_fav])

    # ---- spend (Gamma-Gamma) and services -----------------------------------------------------
    svc = pd.DataFrame(SERVICES, columns=["service", "block", "price", "consumables_share", "duration_min"])
    svc_block = svc["block"].map({b: i for i, b in enumerate(BLOCKS)}).to_numpy()
    logp = np.full((len(BLOCKS), 5), np.inf)
    svc_idx = np.full((len(BLOCKS), 5), -1)
    for b in range(len(BLOCKS)):
        ids = np.flatnonzero(svc_block == b)
        logp[b, : ids.size] = np.log(svc["price"].to_numpy()[ids])
        svc_idx[b, : ids.size] = ids
    score = -np.abs(logp[v_block] - np.log(amount)[:, None]) / 0.35
    score = score + rng.gumbel(size=score.shape)
    v_service = svc_idx[v_block, np.argmax(score, 1)]
    del score
    cshare = svc["consumables_share"].to_numpy()[v_service]
    consumables = np.round(amount * cshare)
    disc = rng.random(v_client.size) < T["discount_share"]
    discount = np.where(disc, np.round(amount * T["discount_rate"] / (1 - T["discount_rate"])), 0.0)

    # ---- cancellations and no-shows (extra rows before a real repeat visit) ------------------
    rep_idx = np.flatnonzero(~v_first)
    n_c = int(round(T["cancelled_share"] * v_client.size))
    n_ns = int(round(T["no_show_share"] * v_client.size))
    pick = rng.choice(rep_idx, size=min(n_c + n_ns, rep_idx.size), replace=False)
    pick.sort()
    c_status = np.where(rng.permutation(pick.size) < n_c, 1, 2)
    c_day = v_day[pick] - rng.integers(1, 8, pick.size)
    first_day = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first_day, v_client, v_day)
    c_day = np.maximum(c_day, first_day[v_client[pick]] + 1)

    cl = np.concatenate([v_client, v_client[pick]])
    dy = np.concatenate([v_day, c_day])
    bl = np.concatenate([v_block, v_block[pick]])
    sp = np.concatenate([spec, spec[pick]])
    sv = np.concatenate([v_service, v_service[pick]])
    am = np.concatenate([amount, np.zeros(pick.size)])
    co = np.concatenate([consumables, np.zeros(pick.size)])
    di = np.concatenate([discount, np.zeros(pick.size)])
    st = np.concatenate([np.zeros(v_client.size, int), c_status])
    o = np.lexsort((st, cl, dy))
    client_ids = ("C" + pd.Series(np.arange(1, n + 1)).astype("str").str.zfill(5)).to_numpy()
    status_names = np.array(["done", "cancelled", "no_show"])
    visits = pd.DataFrame({
        "visit_id": "V" + pd.Series(np.arange(1, o.size + 1)).astype("str").str.zfill(7),
        "date": (base + dy[o]).astype("datetime64[s]"),
        "client_id": _take_str(client_ids, cl[o]),
        "service": _take_str(svc["service"].to_numpy(), sv[o]),
        "block": _take_str(np.array(BLOCKS), bl[o]),
        "specialist_id": _take_str(staff["specialist_id"].to_numpy(), sp[o]),
        "amount": am[o],
        "discount": di[o],
        "consumables_cost": co[o],
        "status": _take_str(status_names, st[o]),
    })
    del cl, dy, bl, sp, sv, am, co, di, st

    # ---- memberships (sBG) ---------------------------------------------------------------------
    sb = T["sbg"]
    mem_clients = np.flatnonzero(member & (alive_until > t0))
    theta = rng.beta(sb["alpha"], sb["beta"], mem_clients.size)
    periods = rng.geometric(theta)                           # months paid before not renewing
    m_start = np.floor(t0[mem_clients]).astype(np.int64)
    start_dates = base + m_start
    ends = _add_months_np(start_dates, periods)
    end_day = (ends - base).astype(np.int64)
    active = end_day >= n_days
    memberships = pd.DataFrame({
        "client_id": client_ids[mem_clients],
        "start": start_dates.astype("datetime64[s]"),
        "end": np.where(active, np.datetime64("NaT"), ends).astype("datetime64[s]"),
        "plan": "Fitness monthly",
        "price_per_period": float(T["membership_price_month"]),
        "period": "month",
    }).sort_values(["start", "client_id"], kind="stable").reset_index(drop=True)

    # ---- clients (with fake personal data, dropped by the loader) ----------------------------
    female = rng.random(n) < 0.82
    first_name = np.where(female, np.array(_FIRST_F)[rng.integers(0, len(_FIRST_F), n)],
                          np.array(_FIRST_M)[rng.integers(0, len(_FIRST_M), n)])
    last = np.array(_LAST)[rng.integers(0, len(_LAST), n)]
    last = np.where(female, np.char.add(last.astype(str), "а"), last)
    phone_num = rng.integers(0, 10**9, n)
    digits = pd.Series(phone_num).astype("str").str.zfill(9)
    phones = ("+7 9" + digits.str[:2] + " " + digits.str[2:5] + "-" + digits.str[5:7] + "-"
              + digits.str[7:]).to_numpy()
    birth = base - rng.integers(18 * 365, 65 * 365, n)
    first_vis = base + np.floor(t0).astype(np.int64)
    clients_df = pd.DataFrame({
        "client_id": client_ids,
        "name": np.char.add(np.char.add(first_name.astype(str), " "), last.astype(str)),
        "phone": phones,
        "birth_date": birth.astype("datetime64[s]"),
        "first_visit": first_vis.astype("datetime64[s]"),
        "channel": np.array(_CHANNELS)[rng.choice(len(_CHANNELS), n, p=[.3, .25, .2, .1, .1, .05])],
    })

    services = svc.assign(consumables_cost=np.round(svc["price"] * svc["consumables_share"]))[
        ["service", "block", "price", "consumables_cost", "duration_min"]]
    staff_out = pd.DataFrame({
        "specialist_id": staff["specialist_id"],
        "block": staff["block"],
        "role": staff["role"],
        "hired": (base + staff["hired_day"].to_numpy(np.int64)).astype("datetime64[s]"),
        "left": pd.to_datetime([start_d + dt.timedelta(days=int(x)) if np.isfinite(x) else None
                                for x in left]),
        "monthly_fixed_pay": staff["monthly_fixed_pay"],
        "commission_rate": staff["commission_rate"],
    })

    truth = {
        "time_unit": "week",
        "start": str(start_d),
        "end": str(end_excl - dt.timedelta(days=1)),
        "months": int(months),
        "seed": int(seed),
        "clients": int(n),
        "bgnbd": {k: float(v) for k, v in T["bgnbd"].items()},
        "gamma_gamma": {k: float(v) for k, v in T["gamma_gamma"].items()},
        "sbg": {k: float(v) for k, v in T["sbg"].items()},
        "membership_share": float(T["membership_share"]),
        "membership_price_month": float(T["membership_price_month"]),
        "loyalty": float(T["loyalty"]),
        "specialist_popularity_sd": float(T["specialist_popularity_sd"]),
        "price_affinity_sd": float(T["price_affinity_sd"]),
        "block_popularity": {b: float(x) for b, x in T["block_popularity"].items()},
        "attached_leave_share": float(T["attached_leave_share"]),
        "cancelled_share": float(T["cancelled_share"]),
        "no_show_share": float(T["no_show_share"]),
        "consumables_share": {s: float(c) for s, c in zip(svc["service"], svc["consumables_share"])},
        "commission_rate": dict(zip(staff_out["specialist_id"], staff_out["commission_rate"].astype(float))),
        "departures": departures,
        "realised": {
            "visits_done": int(v_client.size),
            "rows": int(o.size),
            "members": int(mem_clients.size),
            "clients_left_with_specialist": int(sum(d["left_with_them"] for d in departures)),
        },
    }
    if pilot is not None:
        truth["pilot"] = pilot["truth"]
    return SampleData(visits, services, staff_out, clients_df, memberships, truth)


def _pilot_counts(since, blocks, effect, start_d, n_days, seed, owner, u, rank, t0, p, k_max, n_poisson):
    """Repeat-visit counts with and without the pilot effect (see :func:`generate`).

    Raises
    ------
    InputError
        ``since`` outside the generated period, an unknown block, or an effect that is not < 1.
    """
    from analysis.errors import InputError, Problem

    last = start_d + dt.timedelta(days=n_days - 1)
    try:
        since_d = dt.date.fromisoformat(str(since))
    except ValueError:
        raise InputError(Problem("--pilot-since", f"must be a date like 2024-03-01. Got {since!r} instead.")) from None
    since_day = (since_d - start_d).days
    if not 0 < since_day < n_days:
        raise InputError(Problem("--pilot-since", f"must fall inside the generated months, after the first day: "
                                 f"{start_d + dt.timedelta(days=1)} … {last}. Got {since_d} instead."))
    names = list(blocks or [])
    unknown = [b for b in names if b not in BLOCKS]
    if unknown:
        raise InputError(Problem("--pilot-blocks", f"must be blocks of the sample ({', '.join(BLOCKS)}). "
                                 f"Got {', '.join(unknown)} instead."))
    effect = float(effect or 0.0)
    if not -1.0 <= effect < 1.0:
        raise InputError(Problem("--pilot-effect", f"must be in [-1, 1). Got {effect:g} instead."))
    n = t0.size
    arr_t = t0[owner] + u * (n_days - t0[owner])
    j0 = np.bincount(owner[arr_t < since_day], minlength=n)        # repeat visits before `since`
    U = np.random.default_rng([int(seed), 0x9170]).random(n)

    def geo(q):  # inverse CDF of the number of visits up to and including the dropout, >= 1
        q = np.clip(q, 1e-12, 1.0 - 1e-12)
        return np.clip(np.ceil(np.log1p(-U) / np.log1p(-q)), 1, 1e12)

    alive = k_max > j0
    k_base = np.where(alive, j0 + geo(p), k_max)
    k_pilot = np.where(alive, j0 + geo(p * (1.0 - effect)), k_max)
    m_base = np.minimum(n_poisson, k_base).astype(np.int64)
    m_pilot = np.minimum(n_poisson, k_pilot).astype(np.int64)
    idx = [BLOCKS.index(b) for b in names] if names else list(range(len(BLOCKS)))
    truth = {"since": str(since_d), "blocks": names or list(BLOCKS), "every_block": not names,
             "effect": effect, "estimand": "relative cut of the dropout probability after a visit on or after "
             "`since`, for clients whose home block (most visits before `since`, else the first visit) "
             "is a pilot block"}
    return {"since_day": since_day, "block_idx": idx, "m": np.maximum(m_base, m_pilot), "m_base": m_base,
            "m_pilot": m_pilot, "truth": truth}


def _add_months_np(dates: np.ndarray, months: np.ndarray) -> np.ndarray:
    """``dates`` (datetime64[D]) plus whole ``months`` (day clipped to the month's length)."""
    ym = dates.astype("datetime64[M]")
    day = (dates - ym.astype("datetime64[D]")).astype(np.int64)
    target = ym + months.astype(np.int64)
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
    return target.astype("datetime64[D]") + np.minimum(day, length - 1)


def _integral_as_int(df: pd.DataFrame) -> pd.DataFrame:
    """Float columns holding only whole numbers below 1e10 (amounts in whole roubles) as int64.

    ``to_csv`` writes them exactly as ``float_format="%.10g"`` would ("2500", "0"), but without
    formatting every cell in Python, which was most of the time of writing a large sample.
    """
    conv = {}
    for c in df.columns:
        col = df[c]
        if col.dtype == np.float64:
            a = col.to_numpy()
            if np.all(np.isfinite(a)) and np.all(np.abs(a) < 1e10) and np.all(a == np.round(a)) \
                    and not np.any(np.signbit(a) & (a == 0)):
                conv[c] = a.astype(np.int64)
    return df.assign(**conv) if conv else df


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    """``df`` as UTF-8 CSV: ``to_csv(index=False, lineterminator="\\n", date_format="%Y-%m-%d",
    float_format="%.10g")``, byte for byte.

    Tables of whole numbers, texts without separators or quotes and dates at midnight (every large
    table of the sample) are written by Arrow's CSV writer without quoting, which writes exactly those
    bytes without building the file as one Python string; anything else (fractions, a text that
    needs quotes) is written by pandas."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        kinds = [df[c].dtype.kind if isinstance(df[c].dtype, np.dtype) else "T" for c in df.columns]
        if all(k in "iuMT" for k in kinds) and all(isinstance(c, str) and c.isidentifier() for c in df.columns):
            table = pa.Table.from_pandas(df, preserve_index=False)
            cols = []
            for col, k in zip(table.columns, kinds):
                if pa.types.is_timestamp(col.type):
                    col = col.cast(pa.date32())          # safe cast: raises unless every time is midnight
                elif k == "T" and not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
                                       or pa.types.is_null(col.type)):
                    raise TypeError(col.type)
                cols.append(col)
            table = pa.table(cols, names=table.column_names)
            with open(path, "wb") as fh:
                fh.write((",".join(df.columns) + "\n").encode("utf-8"))
                pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=False, quoting_style="none"))
            return
    except Exception:  # noqa: BLE001 - a value Arrow will not write unquoted: pandas writes the file
        pass
    text = df.to_csv(index=False, lineterminator="\n", date_format="%Y-%m-%d", float_format="%.10g")
    path.write_text(text, encoding="utf-8")


def _study_names(clients: int, months: int, seed: int, pilot_since, hard) -> dict:
    """``name`` and ``name_ru`` of a generated study: the bundled sample's name at the defaults, else
    the name with what sets this study apart (clients, months, seed, pilot, hard cases), so that the
    studies of one portfolio page can be told apart.  Words from the catalogues (``sample.name*``)."""
    from analysis.pages import words
    from analysis.inputs.template import study_names

    default = (clients, months, seed, pilot_since, tuple(hard)) == (3000, 24, DEFAULT_SEED, None, ())
    names = {}
    for lang in ("en", "ru"):
        base = words.say("sample.name", lang)
        if not default:
            detail = words.say("sample.name_detail", lang, n=clients, months=months, seed=seed)
            if pilot_since is not None:
                detail += words.say("sample.name_pilot", lang, since=str(pilot_since))
            if hard:
                detail += ", " + ", ".join(hard)
            base = f"{base} ({detail})"
        names[lang] = base
    return study_names(names["en"], names["ru"])


def write_sample(out_dir, clients: int = 3000, months: int = 24, seed: int = DEFAULT_SEED,
                 start: str = "2023-01-01", pilot_since: str | None = None, pilot_blocks=None,
                 pilot_effect: float = 0.0, hard=()) -> Path:
    """Write a complete sample study folder and return its path.

    Files: ``study.yaml``, ``visits.csv``, ``services.csv``, ``staff.csv``, ``clients.csv``,
    ``memberships.csv``, ``ground_truth.yaml``.  The same arguments give byte-identical files.
    With ``pilot_since`` (see :func:`generate`) study.yaml carries ``care_manager: {since,
    pilot_blocks}`` and ground_truth.yaml the pilot's effect under ``pilot``.
    ``hard`` names hard cases of :data:`HARD_CASES` to build in (e.g. ``("same_dropout",)``).
    """
    pilot_kw = {} if pilot_since is None else {"pilot_since": pilot_since, "pilot_blocks": pilot_blocks,
                                                "pilot_effect": pilot_effect}
    hard = tuple(hard or ())
    if pilot_since is not None and "one_specialist" in hard and pilot_blocks:
        # the solo master's salon has one block (nails): any other pilot block would be absent from the
        # visits and `check` would reject the study; nails alone is every block (no control group)
        absent = [b for b in pilot_blocks if b != "nails"]
        if absent:
            from analysis.errors import InputError, Problem
            raise InputError(Problem("--pilot-blocks", f"names blocks the generated salon does not have with "
                                     f"--hard one_specialist: {', '.join(absent)}. Blocks it has: nails."))
        pilot_kw["pilot_blocks"] = None      # every visit is moved to nails: every client is in the pilot
    if hard:
        extra = HARD_SHORT_HISTORY_LEAD_MONTHS if "short_history" in hard else 0
        start_h = (_month_add(dt.date.fromisoformat(str(start)), -extra) if extra else start)
        d = harden(generate(clients=clients, months=months + extra, seed=seed, start=str(start_h),
                            truth=hard_case_truth(hard), **pilot_kw), hard, seed, export_start=str(start))
        if pilot_since is not None and pilot_blocks:
            present = set(d.visits["block"].astype(str))
            absent = [b for b in pilot_blocks if b not in present]
            if absent:   # the study's own `check` would reject it
                from analysis.errors import InputError, Problem
                raise InputError(Problem("--pilot-blocks", f"names blocks absent from the generated visits "
                                         f"with --hard {','.join(hard)}: {', '.join(absent)}. Blocks it has: "
                                         f"{', '.join(sorted(present))}."))
            if "one_specialist" in hard:
                d.truth["pilot"]["blocks"] = list(pilot_blocks)
    else:
        d = generate(clients=clients, months=months, seed=seed, start=start, **pilot_kw)
    out = Path(out_dir)   # made only once the tables exist: a bad argument leaves no folder behind
    out.mkdir(parents=True, exist_ok=True)

    def csv(df, name):
        _write_csv(_integral_as_int(df), out / name)

    csv(d.visits, "visits.csv")
    csv(d.services, "services.csv")
    csv(d.staff, "staff.csv")
    csv(d.clients, "clients.csv")
    if len(d.memberships) or not hard:   # a hard case without memberships has no memberships file
        csv(d.memberships, "memberships.csv")
    study = {**_study_names(clients, months, seed, pilot_since, hard), "language": "en", "currency": "RUB"}
    if pilot_since is not None:
        study["care_manager"] = {"since": d.truth["pilot"]["since"]}
        if pilot_blocks:
            study["care_manager"]["pilot_blocks"] = list(pilot_blocks)
    (out / "study.yaml").write_text(
        "# The bundled sample study: a made-up beauty & fitness centre generated by\n"
        "# `python -m analysis sample` (analysis/inputs/sample.py) from the truth in ground_truth.yaml.\n"
        "# Every key not given here takes its default (see `python -m analysis new`).\n"
        + yaml.safe_dump(study, allow_unicode=True, sort_keys=False, width=1000), encoding="utf-8")
    header = ("# Ground truth of the sample centre (analysis/inputs/sample.py). Visit rates (bgnbd r, alpha)\n"
              "# are per WEEK; gamma_gamma is in the study currency (RUB) per completed visit; sbg is\n"
              "# per monthly membership period. `realised` counts what this seed produced.\n")
    (out / "ground_truth.yaml").write_text(
        header + yaml.safe_dump(d.truth, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return out


# ============================================================================ hard cases
#
# Knobs that make the sample look like the salons whose data broke the kit (issue 10): each is a
# change of the generator's truth and/or a transformation of the generated tables, so every hard
# case still has a known truth.

#: Hard cases the generator can build in (``write_sample(..., hard=(...))``, ``sample --hard``).
HARD_CASES = {
    "same_dropout": "every client has the same dropout probability after a visit, a / (a + b) of "
                    "TRUTH (about 6%): the BG/NBD's Beta collapses to a point (a, b -> infinity)",
    "short_history": "the export covers only the last `months` of a longer history (clients first "
                     "seen in it may be old clients): dropout is hard or impossible to measure",
    "one_specialist": "a solo master: one specialist in one block (nails) does every visit",
    "memberships_only": "a fitness club whose revenue is mostly memberships: most clients are members "
                        "and their visits are paid by the membership (amount 0)",
    "zero_amounts": "35% of completed visits have amount 0 (gift certificates, promotions)",
}
#: Months of history generated before the export starts for ``short_history``.
HARD_SHORT_HISTORY_LEAD_MONTHS = 18
#: Concentration a + b of the Beta for ``same_dropout`` (sd of p about 0.002% at p = 6%).
HARD_SAME_DROPOUT_CONCENTRATION = 1e8
HARD_ZERO_AMOUNT_SHARE = 0.35


def hard_case_truth(cases) -> dict:
    """Overrides of :data:`TRUTH` for the hard ``cases`` (names of :data:`HARD_CASES`).

    Raises
    ------
    ValueError
        An unknown case name.
    """
    unknown = [c for c in cases if c not in HARD_CASES]
    if unknown:
        raise ValueError(f"unknown hard case(s) {', '.join(unknown)}; the generator knows "
                         f"{', '.join(HARD_CASES)}.")
    out = {}
    if "same_dropout" in cases:
        bg = dict(TRUTH["bgnbd"])
        p = bg["a"] / (bg["a"] + bg["b"])
        bg["a"], bg["b"] = p * HARD_SAME_DROPOUT_CONCENTRATION, (1 - p) * HARD_SAME_DROPOUT_CONCENTRATION
        out["bgnbd"] = bg
    if "memberships_only" in cases:
        out["membership_share"] = 0.8
    return out


def harden(d: SampleData, cases, seed: int = DEFAULT_SEED, export_start: str | None = None) -> SampleData:
    """Apply the table transformations of the hard ``cases`` to generated data.

    ``export_start`` (ISO date) cuts the export for ``short_history``: visits and memberships
    before it are dropped (as a real export of the last months would), and clients not seen in the
    export.  The truth records the cases.
    """
    rng = np.random.default_rng([int(seed), 10])
    visits, staff, services = d.visits.copy(), d.staff.copy(), d.services.copy()
    clients, memberships = d.clients.copy(), d.memberships.copy()
    truth = dict(d.truth, hard_cases=list(cases))
    if "short_history" in cases and export_start is not None:
        cut = pd.Timestamp(export_start)
        visits = visits[visits["date"] >= cut].reset_index(drop=True)
        memberships = memberships[memberships["start"] >= cut].reset_index(drop=True)
        clients = clients[clients["client_id"].isin(set(visits["client_id"]))].reset_index(drop=True)
        truth["start"] = str(cut.date())
    if "one_specialist" in cases:
        sid = "S01"
        visits["specialist_id"] = sid
        visits["block"] = "nails"
        visits["service"] = "Manicure"
        staff = pd.DataFrame({"specialist_id": [sid], "block": ["nails"], "role": ["nail technician"],
                              "hired": [pd.Timestamp(truth["start"]) - pd.Timedelta(days=400)],
                              "left": [pd.NaT], "monthly_fixed_pay": [0.0], "commission_rate": [0.5]})
        services = services[services["block"] == "nails"].reset_index(drop=True)
        memberships = memberships.iloc[0:0]
    if "memberships_only" in cases and len(memberships):
        member = visits["client_id"].isin(set(memberships["client_id"]))
        for c in ("amount", "discount", "consumables_cost"):
            if c in visits:
                visits.loc[member, c] = 0.0
        if "one_specialist" not in cases:
            visits.loc[member, "block"] = "fitness"
            visits.loc[member, "service"] = "Group class"
    if "zero_amounts" in cases:
        done = (visits["status"] == "done").to_numpy() if "status" in visits else np.ones(len(visits), bool)
        zero = done & (rng.random(len(visits)) < HARD_ZERO_AMOUNT_SHARE)
        for c in ("amount", "discount", "consumables_cost"):
            if c in visits:
                visits.loc[zero, c] = 0.0
    return SampleData(visits, services, staff, clients, memberships, truth)
