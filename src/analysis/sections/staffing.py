"""Staffing: one generalist care manager against one specialist manager per block.

Answers two of the kit's questions: is one broad-profile manager cheaper than a manager per
direction and can one person carry the load (Q1); how many hand-offs does a client's information
go through (Q4).

Model (all per month; "client" = an *active* client, one who visited within
``staffing.active_window_months``)
-------------------------------------------------------------------------------------------------
From the data, in a typical month (the mean of the last three months: today's run rate): ``N``
distinct active clients in the covered blocks, ``P_b`` active clients of block ``b`` (``S = sum_b
P_b >= N``; a client using ``k`` blocks counts ``k`` times in ``S``), the share ``q_k`` of clients
using ``k`` blocks, ``M`` clients new to the salon and ``M_b`` clients new to block ``b`` (first
visit there; ``sum_b M_b >= M``).

Workload in hours.  ``T = sum_kind rate_kind * minutes_kind`` over the repeat contacts (after-visit
follow-up, programme review, feedback), ``G = welcome_per_new_client * welcome minutes``,
``R = requests * request_minutes``, ``r`` = card and notes minutes, ``s`` = sales minutes,
``F = staff + quality + marketing`` hours per block:

* specialist manager of block b:  ``W_b = [P_b (T + r + s) + M_b G + N R P_b / S] / 60 + F``
  (each manager welcomes, contacts, records and sells to *their* block's clients: a client using
  k blocks is contacted by k managers; inbound requests are not duplicated, they go to one block);
* care managers (covering all B blocks):  ``W = [N (T + r + s + R) + M G] / 60 + B F``.

Capacity of one person ``= working_hours * productive_share``.  People needed: ``max(1,
ceil(W_b / capacity))`` per block, ``max(1, ceil(W / capacity))`` care managers.  Monthly cost
``= people * salary * (1 + payroll_tax_rate)``.  Saving ``= cost today - cost of care managers``,
where "today" is the specialist managers (``current_setup = specialist_managers``) or nothing.

Hand-offs of one piece of client information (a wish, a complaint, a contraindication) on its
way to everyone who serves a client using ``k`` blocks: with specialist managers reception ->
own-block manager (1), that manager -> the other ``k - 1`` managers, each manager -> their
specialist (``k``): ``h = 2k``; with a care manager reception -> care manager (1) -> each
block's specialist (``k``): ``h = k + 1``.  Equal for one-block clients.  P(at least one loss)
``= 1 - (1 - p)^h``, averaged over the clients' ``k``.

Queueing.  Inbound requests arrive over the working minutes, ``lambda = N requests / (60 hours)``
per minute.  A manager answers them in the time the rest of the work leaves free: availability
``A = (people * capacity - planned work) / (people * hours)``, where planned work is everything
but the requests, and the effective answer rate is ``mu = A / request_minutes`` (the
effective-process-time approximation for interrupted servers, ``t_e = t_0 / A``: Hopp & Spearman,
*Factory Physics*, 3rd ed., §8.4).  Specialist managers: one queue per block with ``lambda P_b / S``
and that block's managers (Erlang C each); pooled: one queue with the same requests, the same
staff and the same free time; and the care managers' own queue.  The care manager's spare hours
are counted as free for requests: if they fill them with their own services, answers are slower.

References: ``analysis.models.queueing`` (Erlang C); source document (the role's five functions and
the advantages claimed for it); Smith & Whitt (1981) on pooling.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.codes import Note
from analysis.models import queueing
from analysis.inputs.data import ROLE_WORDS
from analysis.errors import InputError, Problem
from analysis.inputs.study import Study, Uncertain

__all__ = [
    "KINDS", "REPEAT_KINDS", "FUNCTIONS", "SALON_BLOCK", "PARAMS", "SHORT_LABEL_KEYS",
    "ClientProfile", "client_profile",
    "params_from", "Evaluation", "evaluate", "handoffs", "clients_per_care_manager_max",
    "cheaper_ranges", "growth", "tornado_table",
    "StaffingAnalysis", "analyse", "StaffingScenarios", "scenarios",
    "erlang_c", "mean_wait", "share_within",
    "SETUPS", "TodaySetup", "today_setup", "role_kind", "role_params",
]

erlang_c = queueing.erlang_c
mean_wait = queueing.mean_wait
share_within = queueing.share_within

KINDS = ("welcome", "follow_up", "programme_review", "feedback")
REPEAT_KINDS = KINDS[1:]  # contacts per active client; welcome is per new client
FUNCTIONS = ("clients", "staff", "quality", "sales", "marketing")
SALON_BLOCK = "salon"  # the single block used when the visits carry no block column

#: short parameter name -> dotted study key
PARAMS = {
    "salary_specialist": "staffing.specialist_manager_salary_month",
    "salary_care": "staffing.care_manager_salary_month",
    "tax": "staffing.payroll_tax_rate",
    "hours": "staffing.working_hours_month",
    "productive": "staffing.productive_share",
    "rate_welcome": "staffing.welcome_per_new_client",
    **{f"rate_{k}": f"staffing.touches_per_client_month.{k}" for k in REPEAT_KINDS},
    **{f"min_{k}": f"staffing.touch_minutes.{k}" for k in KINDS},
    "requests": "staffing.requests_per_client_month",
    "request_min": "staffing.request_minutes",
    "loss": "staffing.handoff_loss_prob",
    "salary_admin": "staffing.administrator_salary_month",
    "admin_share": "staffing.administrator_client_share",
    "records_min": "staffing.functions.records_min_client_month",
    "sales_min": "staffing.functions.sales_min_client_month",
    "staff_h": "staffing.functions.staff_hours_block_month",
    "quality_h": "staffing.functions.quality_hours_block_month",
    "marketing_h": "staffing.functions.marketing_hours_block_month",
}

#: Catalogue key of each assumption's short chart label (the tornado): ``staffing.short.<key>``.
SHORT_LABEL_KEYS = {key: "staffing.short." + key.split(".", 1)[1] for key in PARAMS.values()}


# ============================================================================ data


@dataclass(frozen=True)
class ClientProfile:
    """Who the managers serve, from the visits.

    Attributes
    ----------
    blocks : tuple of str
        Covered blocks with active clients (``("salon",)`` when the data carry no block).
    clients_month : float
        Distinct active clients in a typical month (covered blocks).
    block_clients_month : ndarray
        Active clients per block in a typical month, in the order of ``blocks``.
    new_clients_month : float
        Clients whose first visit (to any covered block) falls in a typical month.
    block_new_clients_month : ndarray
        Clients whose first visit to each block falls in a typical month (new to that block).
    blocks_per_client : ndarray
        ``q[k - 1]`` = share of active clients who use ``k`` blocks (typical months pooled).
    monthly : DataFrame
        Tidy: ``month`` (first day), ``block``, ``active_clients`` for every month after the
        warm-up of the active window.
    monthly_clients : DataFrame
        ``month``, ``active_clients`` (distinct), ``client_blocks`` (client-block pairs),
        ``blocks_per_client``, ``new_clients``.
    has_blocks : bool
        False when the visits carry no block: the whole salon is one block.
    missing_blocks : tuple of str
        Covered blocks (from ``care_manager.covers``) that have no visits in the data.
    dropped_blocks : tuple of str
        Covered blocks with visits but no active client in the typical months.
    months_used : int
        Months averaged into the typical month.
    """

    blocks: tuple
    clients_month: float
    block_clients_month: np.ndarray
    new_clients_month: float
    block_new_clients_month: np.ndarray
    blocks_per_client: np.ndarray
    monthly: pd.DataFrame = field(repr=False)
    monthly_clients: pd.DataFrame = field(repr=False)
    has_blocks: bool = True
    missing_blocks: tuple = ()
    dropped_blocks: tuple = ()
    months_used: int = 0

    @property
    def n_blocks(self) -> int:
        return len(self.blocks)

    @property
    def client_blocks_month(self) -> float:
        """Client-block pairs in a typical month, ``S = sum_b P_b``."""
        return float(self.block_clients_month.sum())

    @property
    def mean_blocks_per_client(self) -> float:
        k = np.arange(1, len(self.blocks_per_client) + 1)
        return float((k * self.blocks_per_client).sum())

    def summary(self) -> pd.DataFrame:
        """One row per block: active clients in a typical month and their share."""
        p = self.block_clients_month
        return pd.DataFrame({"block": list(self.blocks), "active_clients": p,
                             "share_of_clients": p / self.clients_month if self.clients_month else np.nan,
                             "new_clients": self.block_new_clients_month})


def client_profile(visits: pd.DataFrame, covers="all", window_months: int = 3,
                   typical_months: int = 3) -> ClientProfile:
    """Active clients per block per month and blocks per client, from the visits.

    Parameters
    ----------
    visits : DataFrame
        ``client_id``, ``date`` and, where the export has them, ``block`` and ``status`` (only
        ``done`` visits count).
    covers : "all" or list of str
        Blocks the care manager covers (``care_manager.covers``); ignored without a block column.
    window_months : int
        A client is active in month m when they visited in months ``m - window + 1 .. m``.
    typical_months : int
        The typical month is the mean of the last ``typical_months`` months after the window's
        warm-up (all months when the data are shorter than the window).  A client is *new* in
        the month of their first visit in the data (so the first months of an export count old
        clients as new; the typical months are the last ones).

    Raises
    ------
    InputError
        No visits left, or none of the covered blocks occurs in the data.
    """
    v = visits
    cols = ["client_id", "date"] + (["block"] if "block" in v.columns else [])
    if "status" in v.columns:  # the columns used first, then the rows: no copy of the others
        v = v[cols][(v["status"].fillna("done").astype(str) == "done").to_numpy()]
    # blocks as the completed visits show them (a block seen only on cancelled rows is none)
    has_blocks = "block" in v.columns and v["block"].notna().any()
    cols = ["client_id", "date"] + (["block"] if has_blocks else [])
    v = v[cols].dropna()
    if not has_blocks:
        v = v.assign(block=SALON_BLOCK)
    v = v.assign(block=v["block"].astype(str), client_id=v["client_id"].astype(str))
    missing: tuple = ()
    if has_blocks and covers != "all":
        wanted = [str(b) for b in covers]
        present = set(v["block"].unique())
        missing = tuple(b for b in wanted if b not in present)
        v = v[v["block"].isin(wanted)]
        if v.empty:
            raise InputError(Problem(
                "study.yaml: care_manager.covers",
                f"none of the covered blocks ({', '.join(wanted)}) occurs in the visits. "
                f"Blocks in the data: {', '.join(sorted(present))}."))
    if v.empty:
        raise InputError(Problem("visits", "no completed visits to count active clients from."))

    dates = pd.to_datetime(v["date"])
    m = (dates.dt.year * 12 + dates.dt.month - 1).to_numpy()
    # clients and blocks as integer codes (blocks numbered in their sorted order, so every table
    # below comes out in the order the names would give); the names come back at the end
    client_code = pd.factorize(v["client_id"])[0]
    block_code, block_names = pd.factorize(v["block"], sort=True)
    base = pd.DataFrame({"client_id": client_code, "block": block_code, "m": m}).drop_duplicates()
    w = max(int(window_months), 1)
    expanded = pd.concat([base.assign(m=base["m"] + i) for i in range(w)], ignore_index=True)
    m_first, m_last = int(m.min()), int(m.max())
    lo = m_first + w - 1 if m_last - m_first + 1 >= w else m_first
    expanded = expanded[(expanded["m"] >= lo) & (expanded["m"] <= m_last)].drop_duplicates()

    months = np.arange(lo, m_last + 1)
    codes_all = sorted(expanded["block"].unique())
    blocks_all = [str(block_names[c]) for c in codes_all]
    names = pd.Index(blocks_all, name="block")
    by_block = (expanded.groupby(["m", "block"]).size()
                .unstack("block").reindex(index=months, columns=codes_all).fillna(0.0).set_axis(names, axis=1))
    per_client = expanded.groupby(["m", "client_id"]).size()  # k = blocks used
    distinct = per_client.groupby(level="m").size().reindex(months, fill_value=0).astype(float)
    pairs = per_client.groupby(level="m").sum().reindex(months, fill_value=0).astype(float)

    first = base.groupby("client_id")["m"].min()
    first_block = base.groupby(["client_id", "block"])["m"].min().reset_index()
    new = first.value_counts().reindex(months, fill_value=0).astype(float)
    new_block = (first_block.groupby(["m", "block"]).size().unstack("block")
                 .reindex(index=months, columns=codes_all).fillna(0.0).set_axis(names, axis=1))

    typical = months[-int(max(typical_months, 1)):]
    block_mean = by_block.loc[typical].mean(axis=0)
    dropped = tuple(b for b in blocks_all if block_mean[b] <= 0)
    kept = [b for b in blocks_all if block_mean[b] > 0]
    k_typ = per_client[per_client.index.get_level_values("m").isin(typical)].to_numpy()
    kmax = int(k_typ.max()) if k_typ.size else 1
    q = np.bincount(k_typ, minlength=kmax + 1)[1:].astype(float)
    q = q / q.sum() if q.sum() else np.array([1.0])

    stamp = [pd.Timestamp(year=int(x // 12), month=int(x % 12) + 1, day=1) for x in months]
    monthly = (by_block.set_axis(stamp, axis=0).rename_axis("month").reset_index()
               .melt(id_vars="month", var_name="block", value_name="active_clients"))
    monthly_clients = pd.DataFrame({
        "month": stamp, "active_clients": distinct.to_numpy(), "client_blocks": pairs.to_numpy(),
        "new_clients": new.to_numpy()})
    with np.errstate(divide="ignore", invalid="ignore"):
        monthly_clients["blocks_per_client"] = monthly_clients["client_blocks"] / monthly_clients["active_clients"]
    return ClientProfile(
        blocks=tuple(kept),
        clients_month=float(distinct.loc[typical].mean()),
        block_clients_month=block_mean[kept].to_numpy(float),
        new_clients_month=float(new.loc[typical].mean()),
        block_new_clients_month=new_block.loc[typical, kept].mean(axis=0).to_numpy(float),
        blocks_per_client=q,
        monthly=monthly,
        monthly_clients=monthly_clients,
        has_blocks=bool(has_blocks),
        missing_blocks=missing,
        dropped_blocks=dropped,
        months_used=len(typical),
    )


# ============================================================================ today's setup

# What a salon can have today for client management (staffing.current_setup).
SETUPS = ("specialist_managers", "administrators", "none")

# Roles in staff.csv that mean client management today (lower-case substrings, en / ru).  Only a
# manager of clients or of a block counts as a client manager: a director, owner, general / salon
# manager or a sales / purchasing / office manager does not manage clients
# and is left out; administrators and reception are administrators.
_MANAGER_ROLES = ROLE_WORDS["manager"]
_NOT_CLIENT_MANAGER = ROLE_WORDS["not_client_manager"]
_ADMIN_ROLES = ROLE_WORDS["administrator"]


def role_kind(role) -> str | None:
    """What a staff.csv ``role`` says about client management today: ``"manager"`` (a client or
    block manager), ``"administrator"`` (administrator, reception, front desk) or None (anything
    else: specialists, care managers, directors, owners, general / salon managers, sales or
    purchasing managers)."""
    r = str(role or "").strip().lower()
    if not r or any(c in r for c in ROLE_WORDS["care_manager"]):
        return None
    if any(w in r for w in _ADMIN_ROLES):
        return "administrator"
    if any(w in r for w in _MANAGER_ROLES) and not any(x in r for x in _NOT_CLIENT_MANAGER):
        return "manager"
    return None


@dataclass
class TodaySetup:
    """What the salon has and pays today for client management.

    Attributes
    ----------
    setup : {"specialist_managers", "administrators", "none"} or None
        None when neither staff.csv roles nor study.yaml say it (unknown).
    source : {"staff", "study", None}
        staff.csv roles, ``staffing.current_setup`` in study.yaml, or nothing.
    people : float
        Client managers / administrators found in staff.csv; for administrators stated in
        study.yaml, an estimate from the salon's size (active clients a month /
        ``staffing.clients_per_administrator``, a fraction for part-time); else 0.
    payroll_month : float or None
        Their monthly fixed pay from staff.csv before payroll tax (None when not in the data:
        the cost is then modelled from the salary assumptions).
    stated : str or None
        ``staffing.current_setup`` as stated (study.yaml or ``--set``), also when staff.csv decided.
    """

    setup: str | None
    source: str | None
    people: float = 0
    payroll_month: float | None = None
    stated: str | None = None

    @property
    def known(self) -> bool:
        return self.setup is not None

    @property
    def conflict(self) -> bool:
        """True when staff.csv's roles decided a setup other than the one stated."""
        return self.source == "staff" and self.stated is not None and self.stated != self.setup

    def notes(self) -> list:
        """Codes for the reader: the conflict between staff.csv and the stated setup, if any."""
        if not self.conflict:
            return []
        return [Note("staffing.setup.conflict", {"staff": self.setup, "stated": self.stated,
                                                 "people": self.people}, n=self.people,
                     level="warning", topic="setup")]


def _active_clients_month(study: Study, tables) -> float:
    """Mean active clients a month over the recent months (as :func:`client_profile` counts them)."""
    visits = getattr(tables, "visits", None)
    if visits is None or not len(visits):
        return 0.0
    try:
        return float(client_profile(visits, study["care_manager.covers"],
                                    int(study["staffing.active_window_months"])).clients_month)
    except Exception:  # noqa: BLE001 -- a profile that cannot be built leaves the estimate at one person
        return 0.0


def today_setup(study: Study, tables=None) -> TodaySetup:
    """Today's client management, from the salon's own facts.

    1. ``staff.csv`` rows still employed (no ``left`` date) in the covered blocks whose ``role``
       names a client or block manager (:func:`role_kind`; directors, owners, general / salon,
       sales or purchasing managers are not client management): ``specialist_managers``, paid
       their ``monthly_fixed_pay``; else rows naming an administrator: ``administrators``.  When
       the stated ``staffing.current_setup`` says otherwise, staff.csv is used and
       :meth:`TodaySetup.notes` names both.
    2. Else ``staffing.current_setup`` as stated in study.yaml; for ``administrators`` their
       number is estimated from the salon's active clients (``staffing.clients_per_administrator``).
    3. Else unknown (``setup`` None): the kit does not guess.
    """
    stated = study["staffing.current_setup"]
    staff = getattr(tables, "staff", None) if tables is not None else None
    if staff is not None and "role" in staff and staff["role"].notna().any():
        s = staff
        if "left" in s:
            s = s[s["left"].isna()]
        covers = study["care_manager.covers"]
        if covers != "all" and "block" in s:
            s = s[s["block"].astype(str).isin([str(b) for b in covers]) | s["block"].isna()]
        kind = s["role"].map(role_kind)
        for setup, k in (("specialist_managers", "manager"), ("administrators", "administrator")):
            hit = kind == k
            if hit.any():
                pay = None
                if "monthly_fixed_pay" in s and s.loc[hit, "monthly_fixed_pay"].notna().any():
                    pay = float(s.loc[hit, "monthly_fixed_pay"].astype(float).fillna(0.0).sum())
                return TodaySetup(setup, "staff", int(hit.sum()), pay, stated)
    if stated is not None:
        people = 0
        if stated == "administrators":
            people = _active_clients_month(study, tables) / float(study["staffing.clients_per_administrator"])
        return TodaySetup(stated, "study", people, None, stated)
    return TodaySetup(None, None)


# ============================================================================ assumptions


def params_from(source) -> dict:
    """Assumption values as arrays keyed by the short names of :data:`PARAMS`.

    ``source`` is a :class:`~analysis.models.simulate.Draws` (one value per scenario) or a
    :class:`~analysis.inputs.study.Study` (the most likely value of each assumption, arrays of length 1).
    """
    if isinstance(source, Study):
        out = {}
        for name, key in PARAMS.items():
            v = source[key]
            out[name] = np.array([v.mode if isinstance(v, Uncertain) else float(v)])
        return out
    return {name: np.asarray(source[key], float) for name, key in PARAMS.items()}


# ============================================================================ model


def handoffs(blocks_per_client, loss_prob):
    """Hand-offs per client and P(at least one piece of information lost), for both options.

    Parameters
    ----------
    blocks_per_client : array
        ``q[k - 1]`` = share of clients using ``k`` blocks.
    loss_prob : float or array
        Chance of losing a piece of information at one hand-off.

    Returns
    -------
    dict
        ``handoffs_specialists = sum_k q_k 2k``, ``handoffs_care = sum_k q_k (k + 1)`` and
        ``p_loss_* = sum_k q_k (1 - (1 - p)^h(k))`` (arrays shaped like ``loss_prob``).
    """
    q = np.asarray(blocks_per_client, float)
    k = np.arange(1, len(q) + 1)
    p = np.asarray(loss_prob, float)[..., None]
    h_s, h_c = 2.0 * k, k + 1.0
    # 1 - (1-p)^h computed as -expm1(h log1p(-p)): accurate for small p
    loss_s = -np.expm1(h_s * np.log1p(-p))
    loss_c = -np.expm1(h_c * np.log1p(-p))
    return {
        "handoffs_specialists": float((q * h_s).sum()),
        "handoffs_care": float((q * h_c).sum()),
        "p_loss_specialists": (loss_s * q).sum(axis=-1),
        "p_loss_care": (loss_c * q).sum(axis=-1),
    }


def _people(workload_h, capacity_h):
    """Whole people needed, at least one: ``max(1, ceil(W / capacity))``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(capacity_h > 0, workload_h / capacity_h, np.inf)
    return np.maximum(1.0, np.ceil(ratio - 1e-9))


def _availability(people, capacity_h, planned_h, hours):
    """Share of paid hours the managers are free to answer requests,
    ``A = (people * capacity - planned work) / (people * hours)`` (at least 1e-9)."""
    return np.clip((people * capacity_h - planned_h) / (people * hours), 1e-9, 1.0)


@dataclass
class Evaluation:
    """Both options under one set of assumptions; every field is an array over scenarios
    (Monte Carlo draws, or client counts in :func:`growth`).  Hours and money per month.

    ``*_block`` fields have a last axis over ``ClientProfile.blocks``.
    """

    clients: np.ndarray
    capacity_person_h: np.ndarray
    workload_block_h: np.ndarray
    people_block: np.ndarray
    workload_specialists_h: np.ndarray
    people_specialists: np.ndarray
    workload_care_h: np.ndarray
    care_managers_needed: np.ndarray
    cost_specialists_option_month: np.ndarray
    cost_care_managers_month: np.ndarray
    cost_current_month: np.ndarray
    saving_month: np.ndarray
    cost_per_client_specialists: np.ndarray
    cost_per_client_care: np.ndarray
    duplicate_contacts_month: np.ndarray
    duplicate_hours_month: np.ndarray
    function_hours: dict
    own_services_h: np.ndarray
    own_services_share: np.ndarray
    nonproductive_h: np.ndarray
    clients_per_care_manager_max: np.ndarray
    handoffs_specialists: float
    handoffs_care: float
    p_info_loss_specialists: np.ndarray
    p_info_loss_care: np.ndarray
    queue_separate: dict
    queue_pooled: dict
    queue_care: dict
    care_managers_for_hours: np.ndarray = None
    care_managers_bound: np.ndarray = None


def clients_per_care_manager_max(profile: "ClientProfile", p: dict):
    """Active clients one care manager can carry: ``(capacity - B F) / a`` with ``a`` the hours
    per active client per month (contacts, welcomes at today's share of new clients, card,
    sales, requests) and ``F`` the hours per block.  Beyond it a second care manager is needed
    (0 when the per-block work alone fills the month).
    """
    a = _per_client_care_min(p, _new_share(profile)) / 60.0
    fixed = profile.n_blocks * (p["staff_h"] + p["quality_h"] + p["marketing_h"])
    cap = p["hours"] * p["productive"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(a > 0, (cap - fixed) / np.where(a > 0, a, 1.0), np.inf)
    return np.maximum(out, 0.0)


def _touch_min(p):
    """Minutes of repeat contacts per active client per month, ``T``."""
    return sum(p[f"rate_{k}"] * p[f"min_{k}"] for k in REPEAT_KINDS)


def _welcome_min(p):
    """Minutes of welcome per new client, ``G``."""
    return p["rate_welcome"] * p["min_welcome"]


def _new_share(profile) -> float:
    return profile.new_clients_month / profile.clients_month if profile.clients_month else 0.0


def _per_client_care_min(p, new_share):
    return (_touch_min(p) + new_share * _welcome_min(p) + p["records_min"] + p["sales_min"]
            + p["requests"] * p["request_min"])


#: Most care managers added beyond the hours bound to meet the answer-time target.
_MAX_EXTRA_FOR_ANSWER = 60


def size_for_answer(people_hours, arrival_rate, capacity_h, planned_h, hours, request_min,
                    target_answer_min: float, answer_share: float | None):
    """Care managers needed so that at least ``answer_share`` of the inbound requests are answered
    within ``target_answer_min`` minutes, starting from ``people_hours`` (the hours bound).

    Each count ``c`` is checked with Erlang C (M/M/c, :func:`analysis.models.queueing.share_within`:
    ``P(W <= t) = 1 - C(c, a) exp(-(c mu - lambda) t)``; Kleinrock 1975, §3.5) at the effective
    answer rate ``mu = A / request_min`` of interrupted servers (``A`` the share of paid hours left
    free by the planned work: Hopp & Spearman, *Factory Physics*, §8.4); one more person is added
    until the target is met.  Returns ``(people, bound)`` with ``bound`` ``"hours"`` when the
    workload decided and ``"answer_time"`` when the target did.  ``answer_share`` None: the hours
    bound alone."""
    c = np.array(people_hours, float, copy=True)
    if answer_share is None:
        return c, np.full(c.shape, "hours", dtype=object)
    lam = np.broadcast_to(np.asarray(arrival_rate, float), c.shape)
    for _ in range(_MAX_EXTRA_FOR_ANSWER):
        avail = _availability(c, capacity_h, planned_h, hours)
        ok = np.asarray(queueing.share_within(lam, avail / request_min, c, target_answer_min), float) >= answer_share
        if np.all(ok):
            break
        c = np.where(ok, c, c + 1.0)
    return c, np.where(c > people_hours, "answer_time", "hours").astype(object)


def evaluate(profile: ClientProfile, p: dict, target_answer_min: float = 15.0,
             current_setup: str | None = "specialist_managers", scale=1.0, queues: bool = True,
             payroll_today_month: float | None = None, answer_share: float | None = None,
             admin_people: int | None = None, care_managers=None) -> Evaluation:
    """Workload, people, cost, hand-offs and waiting for both options (formulas in the module
    docstring).

    Parameters
    ----------
    profile : ClientProfile
    p : dict of arrays
        From :func:`params_from`; arrays broadcast together (length n or 1).  With
        ``care_cost_each`` / ``care_cost_shared`` (:func:`analysis.sections.compensation.role_cost_params`)
        the care managers cost ``n x care_cost_each + care_cost_shared`` -- the pay scheme in force,
        payroll tax included, less what it replaces; without them ``n x salary_care x (1 + tax)``.
    target_answer_min : float
    current_setup : {"specialist_managers", "administrators", "none"} or None
        What today's cost is: the specialist managers; the part of the administrators' pay the
        care manager takes over (administrators stay at the front desk: ``admin_share x admin
        payroll x (1 + tax)``, the payroll from staff.csv, else ``admin_people`` (1 when not known)
        x ``staffing.administrator_salary_month``); or nothing (an unknown setup is costed as
        nothing: no saving is counted that the salon did not state).
    payroll_today_month : float, optional
        Today's managers' (or administrators') pay from staff.csv (before payroll tax); replaces the
        modelled ``people x salary`` when given.
    answer_share : float, optional
        With it the care managers are sized for the answer time as well as the hours
        (:func:`size_for_answer`, ``staffing.target_answer_share`` of requests answered within
        ``target_answer_min``); ``care_managers_bound`` says which bound decided.
    admin_people : int, optional
        Administrators found in staff.csv.
    care_managers : float, optional
        Evaluate with this many care managers (the central case shows the one figure of every
        page, :meth:`StaffingAnalysis.managers_needed`); default: as many as needed.
    scale : float or array
        Multiplies the client counts (same mix of blocks); an array evaluates a growth curve.
    queues : bool
        False skips the waiting figures (``queue_*`` are then empty dicts): faster when only
        costs are needed.
    """
    scale = np.asarray(scale, float)
    p = {k: np.asarray(v, float) for k, v in p.items()}
    shape = np.broadcast_shapes(scale.shape, *(v.shape for v in p.values()))
    p = {k: np.broadcast_to(v, shape) for k, v in p.items()}
    scale = np.broadcast_to(scale, shape)
    n_blocks = profile.n_blocks
    N = profile.clients_month * scale                                   # (n,)
    P = profile.block_clients_month * scale[..., None]                  # (n, B)
    M = profile.new_clients_month * scale
    M_b = profile.block_new_clients_month * scale[..., None]
    S = P.sum(axis=-1)
    share = profile.block_clients_month / profile.block_clients_month.sum()
    b = lambda x: x[..., None]  # noqa: E731  per-scenario value against blocks

    touch = _touch_min(p)
    welcome = _welcome_min(p)
    contacts = sum(p[f"rate_{k}"] for k in REPEAT_KINDS)
    req_min = p["requests"] * p["request_min"]
    fixed_block = p["staff_h"] + p["quality_h"] + p["marketing_h"]
    cap = p["hours"] * p["productive"]

    # specialist managers, one block each
    w_block = (P * b(touch + p["records_min"] + p["sales_min"]) + M_b * b(welcome)
               + b(N * req_min) * share) / 60.0 + b(fixed_block)
    people_block = _people(w_block, b(cap))
    people_spec = people_block.sum(axis=-1)
    # care managers, all covered blocks
    fh = {
        "clients": (N * (touch + p["records_min"] + req_min) + M * welcome) / 60.0,
        "staff": n_blocks * p["staff_h"],
        "quality": n_blocks * p["quality_h"],
        "sales": N * p["sales_min"] / 60.0,
        "marketing": n_blocks * p["marketing_h"],
    }
    w_care = sum(fh.values())
    n_hours = _people(w_care, cap)
    lam = N * p["requests"] / (p["hours"] * 60.0)
    req_h = N * req_min / 60.0
    n_care, bound = size_for_answer(n_hours, lam, cap, w_care - req_h, p["hours"], p["request_min"],
                                    target_answer_min, answer_share)
    if care_managers is not None:
        n_care = np.broadcast_to(np.asarray(care_managers, float), np.shape(n_care)).copy()

    gross = 1.0 + p["tax"]
    cost_spec = people_spec * p["salary_specialist"] * gross
    if "care_cost_each" in p:  # the pay scheme in force (compensation.role_cost_params)
        cost_care = n_care * p["care_cost_each"] + p["care_cost_shared"]
    else:  # no P&L to price a scheme: the management salary assumption
        cost_care = n_care * p["salary_care"] * gross
    if current_setup == "specialist_managers":
        cost_now = (cost_spec if payroll_today_month is None
                    else np.broadcast_to(float(payroll_today_month) * gross, shape))
    elif current_setup == "administrators" and "admin_share" in p:
        admin_pay = (np.broadcast_to(float(payroll_today_month), shape) if payroll_today_month is not None
                     else float(admin_people if admin_people is not None else 1) * p["salary_admin"])
        cost_now = p["admin_share"] * admin_pay * gross
    else:
        cost_now = np.zeros(shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_client_spec = np.where(N > 0, cost_spec / np.where(N > 0, N, 1.0), np.nan)
        per_client_care = np.where(N > 0, cost_care / np.where(N > 0, N, 1.0), np.nan)
    own_h = np.maximum(n_care * cap - w_care, 0.0)

    # waiting: requests arrive over the working minutes; a manager answers them in the time
    # their other work leaves free (availability A), so the effective answer rate is A / minutes
    planned_block = w_block - b(req_h) * share
    sep, pooled, care_q = {}, {}, {}
    if queues:
        avail_block = _availability(people_block, b(cap), planned_block, b(p["hours"]))
        avail_pool = _availability(people_spec, cap, planned_block.sum(axis=-1), p["hours"])
        avail_care = _availability(n_care, cap, w_care - req_h, p["hours"])
        sep = queueing.queue_summary(b(lam) * share, avail_block / b(p["request_min"]), people_block,
                                     target_answer_min)
        pooled = queueing.queue_summary(b(lam), b(avail_pool / p["request_min"]), b(people_spec),
                                        target_answer_min)
        care_q = queueing.queue_summary(b(lam), b(avail_care / p["request_min"]), b(n_care),
                                        target_answer_min)
        sep["availability"] = (avail_block * people_block).sum(axis=-1) / people_spec
        pooled["availability"], care_q["availability"] = avail_pool, avail_care

    h = handoffs(profile.blocks_per_client, p["loss"])
    return Evaluation(
        clients=N, capacity_person_h=cap, workload_block_h=w_block, people_block=people_block,
        workload_specialists_h=w_block.sum(axis=-1), people_specialists=people_spec,
        workload_care_h=w_care, care_managers_needed=n_care,
        cost_specialists_option_month=cost_spec, cost_care_managers_month=cost_care,
        cost_current_month=cost_now, saving_month=cost_now - cost_care,
        cost_per_client_specialists=per_client_spec, cost_per_client_care=per_client_care,
        duplicate_contacts_month=(S - N) * contacts + (M_b.sum(axis=-1) - M) * p["rate_welcome"],
        duplicate_hours_month=((S - N) * (touch + p["records_min"] + p["sales_min"])
                               + (M_b.sum(axis=-1) - M) * welcome) / 60.0,
        function_hours=fh, own_services_h=own_h,
        own_services_share=own_h / (n_care * p["hours"]),
        nonproductive_h=n_care * p["hours"] * (1.0 - p["productive"]),
        clients_per_care_manager_max=clients_per_care_manager_max(profile, p),
        handoffs_specialists=h["handoffs_specialists"], handoffs_care=h["handoffs_care"],
        p_info_loss_specialists=h["p_loss_specialists"], p_info_loss_care=h["p_loss_care"],
        queue_separate=sep, queue_pooled=pooled, queue_care=care_q,
        care_managers_for_hours=n_hours, care_managers_bound=bound,
    )


# ============================================================================ growth


def growth(profile: ClientProfile, p: dict, max_clients: float, points: int = 241,
           target_answer_min: float = 15.0, answer_share: float | None = None) -> pd.DataFrame:
    """Workload, capacity and cost of both options as the active clients grow (same block mix).

    ``p`` holds single values (:func:`params_from` of a Study).  Returns one row per client count:
    ``clients``, ``workload_specialists_h``, ``capacity_specialists_h``, ``people_specialists``,
    ``cost_specialists_month``, ``workload_care_h``, ``capacity_care_h``,
    ``care_managers_needed``, ``cost_care_month``, ``wait_separate_min``, ``wait_care_min``.
    """
    clients = np.linspace(0.0, float(max_clients), int(points))
    scale = clients / profile.clients_month if profile.clients_month else clients * 0
    e = evaluate(profile, {k: np.asarray(v).reshape(-1)[:1] for k, v in p.items()},
                 target_answer_min, scale=scale, answer_share=answer_share)
    return pd.DataFrame({
        "clients": clients,
        "workload_specialists_h": e.workload_specialists_h,
        "capacity_specialists_h": e.people_specialists * e.capacity_person_h,
        "people_specialists": e.people_specialists,
        "cost_specialists_month": e.cost_specialists_option_month,
        "workload_care_h": e.workload_care_h,
        "capacity_care_h": e.care_managers_needed * e.capacity_person_h,
        "care_managers_needed": e.care_managers_needed,
        "cost_care_month": e.cost_care_managers_month,
        "wait_separate_min": e.queue_separate["wait"],
        "wait_care_min": e.queue_care["wait"],
    })


def cheaper_ranges(profile: ClientProfile, p: dict, max_clients: float,
                   detail: bool = True) -> pd.DataFrame:
    """Client ranges over which each option is cheaper (exact: costs change only where some
    workload crosses a whole number of people).

    Returns rows ``from_clients``, ``to_clients``, ``people_specialists``,
    ``care_managers_needed``, ``cost_specialists_month``, ``cost_care_month``, ``cheaper``
    (``"care_manager"``, ``"specialists"`` or ``"equal"``), adjacent rows with the same
    cheaper option and the same people merged.  ``detail=False`` merges every run of the same
    cheaper option and keeps ``from_clients``, ``to_clients``, ``cheaper``.
    """
    p1 = {k: float(np.asarray(v).reshape(-1)[0]) for k, v in p.items()}
    N0 = profile.clients_month
    if N0 <= 0:
        return pd.DataFrame(columns=["from_clients", "to_clients", "people_specialists",
                                     "care_managers_needed", "cost_specialists_month",
                                     "cost_care_month", "cheaper"])
    share = profile.block_clients_month / N0          # P_b per active client
    ratio = profile.block_clients_month / profile.block_clients_month.sum()
    req_min = p1["requests"] * p1["request_min"]
    touch = float(_touch_min(p1))
    per_pair = touch + p1["records_min"] + p1["sales_min"]
    new_b = profile.block_new_clients_month / N0 * _welcome_min(p1)   # welcome minutes per active client
    fixed = p1["staff_h"] + p1["quality_h"] + p1["marketing_h"]
    cap = p1["hours"] * p1["productive"]
    slopes = (list((share * per_pair + new_b + req_min * ratio) / 60.0)
              + [_per_client_care_min(p1, _new_share(profile)) / 60.0])
    fixeds = [fixed] * profile.n_blocks + [profile.n_blocks * fixed]
    cuts = {0.0, float(max_clients)}
    for a, f in zip(slopes, fixeds):
        if a <= 0 or cap <= 0:
            continue
        j = np.arange(1, int(np.ceil((a * max_clients + f) / cap)) + 2)
        x = (j * cap - f) / a
        cuts.update(float(v) for v in x[(x > 0) & (x < max_clients)])
    edges = np.array(sorted(cuts))
    mids = (edges[:-1] + edges[1:]) / 2.0
    e = evaluate(profile, {k: np.array([v]) for k, v in p1.items()}, scale=mids / N0, queues=False)
    cs, cc = e.cost_specialists_option_month, e.cost_care_managers_month
    cheaper = np.where(np.isclose(cs, cc), "equal", np.where(cc < cs, "care_manager", "specialists"))
    rows = []
    for i in range(len(mids)):
        row = (e.people_specialists[i], e.care_managers_needed[i], cheaper[i])
        if rows and (rows[-1]["people_specialists"], rows[-1]["care_managers_needed"], rows[-1]["cheaper"]) == row:
            rows[-1]["to_clients"] = edges[i + 1]
            continue
        rows.append({"from_clients": edges[i], "to_clients": edges[i + 1],
                     "people_specialists": row[0], "care_managers_needed": row[1],
                     "cost_specialists_month": cs[i], "cost_care_month": cc[i], "cheaper": row[2]})
    out = pd.DataFrame(rows)
    if detail:
        return out
    run = (out["cheaper"] != out["cheaper"].shift()).cumsum()
    return (out.groupby(run, sort=False)
            .agg(from_clients=("from_clients", "first"), to_clients=("to_clients", "last"),
                 cheaper=("cheaper", "first")).reset_index(drop=True))


def _breakeven(ranges: pd.DataFrame, clients_now: float) -> float:
    """The client count nearest to today's at which the cheaper option changes (NaN if none)."""
    if ranges.empty:
        return float("nan")
    idx = np.searchsorted(ranges["to_clients"].to_numpy(), clients_now, side="left")
    idx = min(idx, len(ranges) - 1)
    now = ranges["cheaper"].iloc[idx]
    changes = [ranges["from_clients"].iloc[i] for i in range(1, len(ranges))
               if ranges["cheaper"].iloc[i] != ranges["cheaper"].iloc[i - 1]
               and now in (ranges["cheaper"].iloc[i], ranges["cheaper"].iloc[i - 1])]
    if not changes:
        return float("nan")
    changes = np.array(changes, float)
    return float(changes[np.argmin(np.abs(changes - clients_now))])


# ============================================================================ uncertainty


def tornado_table(profile: ClientProfile, d, target_answer_min: float = 15.0,
                  current_setup: str | None = "specialist_managers", keys=None,
                  role: dict | None = None, answer_share: float | None = None,
                  payroll_today_month: float | None = None, admin_people: int | None = None) -> pd.DataFrame:
    """One-at-a-time sensitivity of the median monthly saving.

    For each uncertain assumption (``low < high``) the Monte Carlo is rerun with that assumption
    fixed at its low and at its high value (``d.fixed``), the others still drawn.  Returns rows
    ``key``, ``label`` (catalogue key of its short name, :data:`SHORT_LABEL_KEYS`), ``low``, ``high``, ``saving_low``, ``saving_high``,
    ``swing`` sorted by swing (largest first).  With ``role`` (:func:`role_params`) the care
    managers cost the pay scheme's amounts and the management salary assumption moves nothing:
    it is left out.
    """
    study = d.study
    if keys is None:  # the hand-off loss chance moves no cost: left out
        keys = [k for k in d.uncertain_keys("staffing.")
                if k in PARAMS.values() and k != PARAMS["loss"]
                and not (role is not None and k == PARAMS["salary_care"])
                and not (current_setup != "administrators" and k in (PARAMS["salary_admin"], PARAMS["admin_share"]))
                and not (current_setup == "administrators" and payroll_today_month is not None
                         and k == PARAMS["salary_admin"])]
    rows = []
    for key in keys:
        v = study[key]
        out = []
        for x in (v.low, v.high):
            e = evaluate(profile, {**params_from(d.fixed(key, x)), **(role or {})}, target_answer_min,
                         current_setup, queues=False, answer_share=answer_share,
                         payroll_today_month=payroll_today_month, admin_people=admin_people)
            out.append(float(np.median(e.saving_month)))
        rows.append({"key": key, "label": SHORT_LABEL_KEYS.get(key, key), "low": v.low, "high": v.high,
                     "saving_low": out[0], "saving_high": out[1], "swing": abs(out[1] - out[0])})
    df = pd.DataFrame(rows, columns=["key", "label", "low", "high",
                                     "saving_low", "saving_high", "swing"])
    return df.sort_values("swing", ascending=False, ignore_index=True)


# ============================================================================ the section


@dataclass
class StaffingAnalysis:
    """Everything the staffing report shows.

    Attributes
    ----------
    profile : ClientProfile
    central : Evaluation
        Every assumption at its most likely value (arrays of length 1).
    mc : Evaluation
        Monte Carlo over the assumptions (arrays of length ``n_draws``).
    options : DataFrame
        One row per option with the central figures.
    queues : DataFrame
        Waiting: separate queues, one pooled queue with the same staff, the care managers.
    time_split : DataFrame
        Care managers' hours per month by function, own services and non-productive time.
    ranges : DataFrame
        :func:`cheaper_ranges` up to ``max_clients``.
    growth : DataFrame
        :func:`growth` up to ``max_clients``.
    tornado : DataFrame or None
    breakeven_clients : float
    current_setup : str or None
        Today's setup (:func:`today_setup`); None when unknown.
    target_answer_min : float
    today : TodaySetup
    central_params : dict
        The assumptions of the central case, the role's cost included (for :func:`cheaper_ranges`).
    """

    profile: ClientProfile
    central: Evaluation
    mc: Evaluation
    options: pd.DataFrame
    queues: pd.DataFrame
    time_split: pd.DataFrame
    ranges: pd.DataFrame
    growth: pd.DataFrame
    tornado: pd.DataFrame | None
    breakeven_clients: float
    current_setup: str | None
    target_answer_min: float
    max_clients: float
    today: TodaySetup | None = None
    central_params: dict | None = None

    def saving_quantiles(self):
        """(P10, median, P90) of the monthly saving."""
        q = np.nanquantile(self.mc.saving_month, [0.1, 0.5, 0.9])
        return tuple(float(x) for x in q)

    def cost_quantiles(self):
        """``{"specialists": (p10, p50, p90), "care": (...)}`` of the monthly cost (the
        specialists' is today's cost: 0 when the salon has no managers)."""
        f = lambda x: tuple(float(v) for v in np.nanquantile(x, [0.1, 0.5, 0.9]))  # noqa: E731
        return {"specialists": f(self.mc.cost_current_month),
                "specialists_option": f(self.mc.cost_specialists_option_month),
                "care": f(self.mc.cost_care_managers_month)}

    def managers_needed(self) -> float:
        """The care managers needed -- the one figure of every page
        (:func:`analysis.sections.summary.managers_needed`: median over the scenarios, whole people)."""
        from analysis.sections.summary import managers_needed

        return managers_needed(self.mc.care_managers_needed)

    def managers_bound(self) -> str:
        """Which bound decided the care managers needed in most scenarios: ``hours`` (the
        workload) or ``answer_time`` (the answer-time target, Erlang C)."""
        b = self.mc.care_managers_bound
        if b is None:
            return "hours"
        return "answer_time" if np.mean(np.asarray(b) == "answer_time") > 0.5 else "hours"

    def unstable(self) -> dict:
        """Which queues grow without bound in the central case."""
        return {name: bool(q["utilisation"][0] >= 1.0) for name, q in
                (("separate", self.central.queue_separate), ("pooled", self.central.queue_pooled),
                 ("care", self.central.queue_care))}

    def figures(self) -> dict:
        """The headline figures for ``results.json`` (section ``staffing``).

        Money figures are medians over the Monte Carlo scenarios (``cost_specialists_month`` is
        today's cost: 0 when the salon has no managers); people, hand-offs, waits, shares and
        client counts are the central case (every assumption at its most likely value).
        """
        c = self.central
        p10, p50, p90 = self.saving_quantiles()
        costs = self.cost_quantiles()
        one = lambda x: float(np.asarray(x).reshape(-1)[0])  # noqa: E731
        return {
            "cost_specialists_month": costs["specialists"][1],
            "cost_care_manager_month": costs["care"][1],
            "care_managers_needed": self.managers_needed(),
            "care_managers_bound": self.managers_bound(),
            "care_managers_needed_p90": float(np.quantile(self.mc.care_managers_needed, 0.9)),
            "saving_month_p10": p10, "saving_month_median": p50, "saving_month_p90": p90,
            "wait_separate_min": one(c.queue_separate["wait"]),
            "wait_pooled_min": one(c.queue_pooled["wait"]),
            "wait_care_min": one(c.queue_care["wait"]),
            "handoffs_per_client_specialists": float(c.handoffs_specialists),
            "handoffs_per_client_care": float(c.handoffs_care),
            "p_info_loss_specialists": one(c.p_info_loss_specialists),
            "p_info_loss_care": one(c.p_info_loss_care),
            "own_services_share": one(c.own_services_share),
            "clients_per_care_manager_max": one(c.clients_per_care_manager_max),
            "breakeven_clients": float(self.breakeven_clients),
            "active_clients_month": float(self.profile.clients_month),
            "blocks_per_client": self.profile.mean_blocks_per_client,
            "specialist_managers_needed": one(c.people_specialists),
            "duplicate_contacts_month": one(c.duplicate_contacts_month),
        }


def _options_table(e: Evaluation, current_setup: str) -> pd.DataFrame:
    one = lambda x: float(np.asarray(x).reshape(-1)[0])  # noqa: E731
    return pd.DataFrame([
        {"option": "specialists", "workload_h": one(e.workload_specialists_h),
         "capacity_h": one(e.people_specialists * e.capacity_person_h),
         "people": one(e.people_specialists), "cost_month": one(e.cost_specialists_option_month),
         "cost_per_client": one(e.cost_per_client_specialists),
         "handoffs_per_client": e.handoffs_specialists, "p_info_loss": one(e.p_info_loss_specialists),
         "is_today": current_setup == "specialist_managers"},
        {"option": "care_manager", "workload_h": one(e.workload_care_h),
         "capacity_h": one(e.care_managers_needed * e.capacity_person_h),
         "people": one(e.care_managers_needed), "cost_month": one(e.cost_care_managers_month),
         "cost_per_client": one(e.cost_per_client_care),
         "handoffs_per_client": e.handoffs_care, "p_info_loss": one(e.p_info_loss_care),
         "is_today": False},
    ])


def _queues_table(e: Evaluation) -> pd.DataFrame:
    rows = []
    for name, q, servers in (("separate", e.queue_separate, e.people_specialists),
                             ("pooled", e.queue_pooled, e.people_specialists),
                             ("care", e.queue_care, e.care_managers_needed)):
        rows.append({"queue": name, "servers": float(servers[0]),
                     "utilisation": float(q["utilisation"][0]), "wait_prob": float(q["wait_prob"][0]),
                     "wait_min": float(q["wait"][0]), "within_target": float(q["within_target"][0])})
    return pd.DataFrame(rows)


def _time_split(e: Evaluation) -> pd.DataFrame:
    hours = {k: float(v[0]) for k, v in e.function_hours.items()}
    hours["own_services"] = float(e.own_services_h[0])
    hours["nonproductive"] = float(e.nonproductive_h[0])
    total = sum(hours.values())
    return pd.DataFrame({"part": list(hours), "hours_month": list(hours.values()),
                         "share": [h / total if total else np.nan for h in hours.values()]})


def role_params(study: Study, tables, d, base=None, scheme_name: str | None = None) -> dict | None:
    """The role's cost per care manager and shared (:func:`analysis.sections.compensation.role_cost_params`)
    under the pay scheme in force (``care_manager.scheme``), on the draws ``d``; None when the
    covered blocks' P&L cannot be computed (the salary assumption is used then)."""
    from analysis.sections import compensation

    try:
        ps = compensation.scenarios(study, tables, d, scheme_name=scheme_name, base=base)
    except (ValueError, KeyError, InputError):
        return None
    return compensation.role_cost_params(ps, study["compensation.profit_share_split"])


def _central(params: dict | None) -> dict:
    return {} if params is None else {k: np.array([float(np.median(v))]) for k, v in params.items()}


def analyse(study: Study, tables, d=None, with_tornado: bool = True) -> StaffingAnalysis:
    """The staffing section for a study: profile from the visits, central case, Monte Carlo,
    growth and cheaper ranges, tornado.

    Today's setup comes from :func:`today_setup` (staff.csv roles, else study.yaml; unknown is
    costed as nothing).  The care managers cost what the pay scheme in force costs
    (:func:`role_params`), the same figure as the summary's.

    Parameters
    ----------
    study : Study
    tables : analysis.inputs.data.Tables
    d : analysis.models.simulate.Draws, optional
        Shared scenario draws; default ``simulate.draws(study)``.
    """
    from analysis.sections import pnl
    from analysis.models import simulate

    study = pnl.localise(study, tables)
    d = d.on(study) if d is not None else simulate.draws(study)
    profile = client_profile(tables.visits, study["care_manager.covers"],
                             int(study["staffing.active_window_months"]))
    target = float(study["staffing.target_answer_min"])
    today = today_setup(study, tables)
    setup = today.setup
    role = role_params(study, tables, d)
    pc = {**params_from(study), **_central(role)}
    share = float(study["staffing.target_answer_share"])
    kw = dict(payroll_today_month=today.payroll_month, answer_share=share, admin_people=today.people or None)
    mc = evaluate(profile, {**params_from(d), **(role or {})}, target, setup, **kw)
    from analysis.sections.summary import managers_needed

    central = evaluate(profile, pc, target, setup, care_managers=managers_needed(mc.care_managers_needed), **kw)
    n_max = float(clients_per_care_manager_max(profile, pc)[0])
    max_clients = max(3.0 * profile.clients_month, 2.5 * n_max if np.isfinite(n_max) else 0.0, 10.0)
    ranges = cheaper_ranges(profile, pc, max_clients)
    return StaffingAnalysis(
        profile=profile, central=central, mc=mc,
        options=_options_table(central, setup), queues=_queues_table(central),
        time_split=_time_split(central), ranges=ranges,
        growth=growth(profile, pc, max_clients, target_answer_min=target, answer_share=share),
        tornado=tornado_table(profile, d, target, setup, role=role, answer_share=share, **{
            k: v for k, v in kw.items() if k != "answer_share"}) if with_tornado else None,
        breakeven_clients=_breakeven(ranges, profile.clients_month),
        current_setup=setup, target_answer_min=target, max_clients=max_clients, today=today,
        central_params=pc,
    )


@dataclass
class StaffingScenarios:
    """Per-scenario staffing figures for the summary (arrays of length ``draws.n``).

    Attributes
    ----------
    cost_specialists_month : ndarray
        Monthly cost of today's specialist managers with payroll tax (0 when the salon has none,
        or when today's setup is unknown).
    cost_care_managers_month : ndarray
        Monthly cost of the care managers needed: the role cost (pay scheme in force).
    care_managers_needed : ndarray
    """

    cost_specialists_month: np.ndarray
    cost_care_managers_month: np.ndarray
    care_managers_needed: np.ndarray

    @property
    def saving_month(self) -> np.ndarray:
        return self.cost_specialists_month - self.cost_care_managers_month


def scenarios(study: Study, tables, draws) -> StaffingScenarios:
    """Staffing costs scenario by scenario, on the shared draws (for the summary's joint
    Monte Carlo)."""
    from analysis.sections import pnl

    study = pnl.localise(study, tables)
    draws = draws.on(study)
    profile = client_profile(tables.visits, study["care_manager.covers"],
                             int(study["staffing.active_window_months"]))
    today = today_setup(study, tables)
    role = role_params(study, tables, draws)
    e = evaluate(profile, {**params_from(draws), **(role or {})}, float(study["staffing.target_answer_min"]),
                 today.setup, queues=False, payroll_today_month=today.payroll_month,
                 answer_share=float(study["staffing.target_answer_share"]), admin_people=today.people or None)
    return StaffingScenarios(cost_specialists_month=np.asarray(e.cost_current_month, float),
                             cost_care_managers_month=np.asarray(e.cost_care_managers_month, float),
                             care_managers_needed=np.asarray(e.care_managers_needed, float))
