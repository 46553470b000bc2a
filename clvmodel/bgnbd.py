"""The comparator analysts use today: BG/NBD + Gamma-Gamma, fitted with pymc-marketing.

BG/NBD (Fader, Hardie & Lee 2005) models *when* customers buy and when they silently drop
out; Gamma-Gamma (Fader & Hardie 2013) models *how much* they spend per purchase. Both are
fitted by maximum a posteriori (``method="map"``) with pymc-marketing's ``clv`` module and
its default priors, on one RFM row per customer summarised as of a cutoff.

pymc-marketing (with PyMC and PyTensor) is heavy and only the accuracy benchmark needs it,
so it is not in ``requirements.txt`` and this module imports it inside the functions that
use it: ``import clvmodel.bgnbd`` always works, fitting raises an ``ImportError`` saying
``pip install -r benchmarks/requirements.txt``.

Conventions, as of a cutoff (transactions strictly before it, as in the features):

- Time is in **days**. A *purchase day* is a day with at least one transaction of positive
  amount; several transactions on one day count once (the lifetimes / pymc-marketing RFM
  convention). ``frequency`` = purchase days - 1 (repeat purchases), ``recency`` = days from
  the first to the last purchase day, ``T`` = days from the first purchase day to the
  cutoff (so ``T >= 1`` and ``T > recency``): the prediction window then starts exactly at
  ``T``.
- Returns (negative transactions) are not purchases: ``monetary_value`` is the mean, over
  repeat purchase days, of the day's positive transaction amounts, so it is always > 0 when
  ``frequency > 0`` (Gamma-Gamma needs positive values). The predicted spend is therefore
  *gross* of returns; the target is net spend, which returns lower by about 1-2 % on the
  synthetic data. The model has no notion of returns.
- pymc-marketing's ``expected_purchases(future_t=...)`` counts ``future_t`` in the unit of
  ``T`` (days here). Its ``customer_lifetime_value`` helpers, in contrast, take ``future_t`` in
  *months* whatever the time unit: they are not used. ``horizon_days`` is passed as days and
  a test checks that 30-day expected purchases match realised ones.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clvmodel.dataset import RetailData
from clvmodel.dates import as_day

__all__ = [
    "INSTALL_HINT",
    "RFM_COLUMNS",
    "FittedBGNBDGG",
    "bgnbd_gg_expectations",
    "category_shares",
    "check_installed",
    "fit_bgnbd_gg",
    "predict_bgnbd_gg",
    "rfm_summary",
]

#: What to run when pymc-marketing is missing.
INSTALL_HINT = "pip install -r benchmarks/requirements.txt"

#: Columns of :func:`rfm_summary`, in order.
RFM_COLUMNS = ("frequency", "recency", "T", "monetary_value")


def _clv():
    """pymc-marketing's clv module, imported on first use (it takes a few seconds)."""
    try:
        with warnings.catch_warnings():
            # ArviZ announces its refactor with a FutureWarning on import.
            warnings.simplefilter("ignore", FutureWarning)
            from pymc_marketing import clv
    except ImportError as exc:
        raise ImportError(
            "The BG/NBD + Gamma-Gamma comparator needs pymc-marketing, which the core "
            f"package does not install. Run `{INSTALL_HINT}` (from the repository root) "
            f"and try again. ({exc})"
        ) from exc
    return clv


def check_installed() -> None:
    """Raise the ImportError of :func:`fit_bgnbd_gg` now if pymc-marketing is missing.

    For callers that would otherwise find out only after minutes of other work.
    """
    _clv()


def rfm_summary(data: RetailData, cutoff: str | pd.Timestamp) -> pd.DataFrame:
    """Frequency, recency, T and monetary value of every customer who bought before `cutoff`.

    Parameters
    ----------
    data : RetailData
        Joined tables; transactions on or after the cutoff are dropped first.
    cutoff : date
        The as-of day. A transaction on the cutoff day is in the future.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (sorted), one row per customer with at least one
        positive transaction before the cutoff, float columns:

        - ``frequency``: repeat purchase days (distinct purchase days - 1).
        - ``recency``: days from the first to the last purchase day.
        - ``T``: days from the first purchase day to the cutoff (>= 1).
        - ``monetary_value``: mean positive spend per repeat purchase day, currency units;
          0 when ``frequency`` is 0.

        Customers whose only transactions are returns are absent.

    Raises
    ------
    ValueError
        If no positive transaction precedes the cutoff.

    Examples
    --------
    A customer buying 100 on day 0, 50 + 30 on day 10 and returning 20 on day 15, as of
    day 40, has frequency 1, recency 10, T 40 and monetary value 80.
    """
    cutoff = as_day(cutoff, name="cutoff")
    tx = data.transactions
    tx = tx[(tx["date"] < cutoff) & (tx["amount"] > 0)]
    if tx.empty:
        raise ValueError(
            f"no purchase (transaction with a positive amount) before the cutoff "
            f"{cutoff:%Y-%m-%d}; pick a later cutoff."
        )
    daily = tx.groupby(["customer_id", "date"], sort=True)["amount"].sum().reset_index()
    g = daily.groupby("customer_id", sort=True)
    first = g["date"].min()
    days = g.size()
    first_spend = g["amount"].first()  # rows are sorted by date within each customer
    frequency = (days - 1).astype("float64")
    repeat_spend = g["amount"].sum() - first_spend
    out = pd.DataFrame(
        {
            "frequency": frequency,
            "recency": (g["date"].max() - first).dt.days.astype("float64"),
            "T": (cutoff - first).dt.days.astype("float64"),
            "monetary_value": (repeat_spend / frequency.where(frequency > 0)).fillna(0.0),
        }
    )
    out.index.name = "customer_id"
    return out


def category_shares(
    data: RetailData, cutoff: str | pd.Timestamp, categories: Sequence[str]
) -> pd.DataFrame:
    """Each customer's share of positive line spend per category, before `cutoff`.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``, one column per category, rows summing to 1 (customers
        with positive line spend before the cutoff only). Categories not in `categories`
        are left out of numerator and denominator.
    """
    cutoff = as_day(cutoff, name="cutoff")
    lines = data.lines
    lines = lines[(lines["date"] < cutoff) & (lines["amount"] > 0)]
    lines = lines[lines["category"].isin(list(categories))]
    spend = lines.pivot_table(
        index="customer_id", columns="category", values="amount", aggfunc="sum", fill_value=0.0
    )
    spend = spend.reindex(columns=list(categories), fill_value=0.0).astype("float64")
    shares = spend.div(spend.sum(axis=1), axis=0)
    shares.columns.name = None
    return shares


@dataclass
class FittedBGNBDGG:
    """The two fitted pymc-marketing models and the point estimates of their parameters."""

    bgnbd: object
    gamma_gamma: object
    n_customers: int
    n_repeat: int

    @property
    def params(self) -> dict[str, float]:
        """MAP estimates: BG/NBD ``r, alpha, a, b`` and Gamma-Gamma ``p, q, v``."""
        out = {}
        for model, names in ((self.bgnbd, "r alpha a b"), (self.gamma_gamma, "p q v")):
            for name in names.split():
                out[name] = float(np.asarray(model.fit_result[name]).squeeze())
        return out


def _check_summary(summary: pd.DataFrame) -> None:
    missing = [c for c in RFM_COLUMNS if c not in summary]
    if missing:
        raise ValueError(
            f"summary lacks the columns {missing}; pass the frame rfm_summary() returns "
            f"(columns {list(RFM_COLUMNS)}, indexed by customer_id)."
        )
    if summary.empty:
        raise ValueError("summary is empty; there is no customer to fit or predict.")


def _model_frame(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary with ``customer_id`` as a column, as pymc-marketing expects."""
    frame = summary[list(RFM_COLUMNS)].copy()
    frame.insert(0, "customer_id", summary.index.to_numpy())
    return frame.reset_index(drop=True)


def fit_bgnbd_gg(summary: pd.DataFrame) -> FittedBGNBDGG:
    """Fit BG/NBD on every customer and Gamma-Gamma on repeat buyers, by MAP.

    Parameters
    ----------
    summary : DataFrame
        From :func:`rfm_summary`. Gamma-Gamma is fitted on the rows with ``frequency > 0``
        and ``monetary_value > 0`` (it is defined for positive spend only).

    Returns
    -------
    FittedBGNBDGG
        Both models, for :func:`predict_bgnbd_gg`. The first fit in a process compiles
        PyTensor functions (~20-30 s); later fits reuse the compile cache (a few seconds).

    Raises
    ------
    ImportError
        If pymc-marketing is not installed (with the command that installs it).
    ValueError
        If the summary lacks columns, or has no repeat buyer to fit Gamma-Gamma on.
    """
    _check_summary(summary)
    clv = _clv()
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    if len(repeat) < 2:
        raise ValueError(
            f"Gamma-Gamma needs repeat buyers with positive spend; the summary has "
            f"{len(repeat)}. Use a later cutoff or more data."
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", UserWarning)
        bgnbd = clv.BetaGeoModel()
        bgnbd.fit(data=_model_frame(summary), method="map", progressbar=False)
        gamma_gamma = clv.GammaGammaModel()
        gamma_gamma.fit(data=_model_frame(repeat), method="map", progressbar=False)
    return FittedBGNBDGG(bgnbd, gamma_gamma, n_customers=len(summary), n_repeat=len(repeat))


def _values(array) -> np.ndarray:
    """A MAP result (chain and draw of size 1) as a flat array over customers."""
    return np.asarray(array.values, dtype=float).reshape(-1)


def predict_bgnbd_gg(
    models: FittedBGNBDGG,
    summary: pd.DataFrame,
    *,
    horizon_days: int = 30,
    cutoff: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Expected spend and purchase probability over the next `horizon_days` days.

    - ``expected_purchases``: BG/NBD's conditional expectation of the number of purchase
      days in ``(T, T + horizon_days]``, from pymc-marketing's ``expected_purchases`` with
      ``future_t=horizon_days`` (in days, the unit of ``T``; not months).
    - ``expected_basket``: Gamma-Gamma's conditional mean spend per purchase
      (``expected_customer_spend``); for customers without a repeat purchase it is the
      population mean (``expected_new_customer_spend``), which is what the conditional
      mean reduces to at ``frequency = 0``.
    - ``expected_spend`` = ``expected_purchases × expected_basket`` (gross of returns).
    - ``p_alive``: pymc-marketing's ``expected_probability_alive``.
    - ``p_purchase``: P(at least one purchase in the window) =
      ``p_alive × (1 - ((alpha + T) / (alpha + T + t)) ** (r + frequency))``. Given alive
      at ``T``, a BG/NBD customer's rate is Gamma(r + x, alpha + T) and a drop-out can only
      follow a purchase, so "no purchase" means a Poisson count of 0. This is the exact
      BG/NBD probability (Fader & Hardie 2019, eq. 34). pymc-marketing's
      ``expected_probability_no_purchase`` gives the same values for ``frequency > 0`` but
      omits the ``x > 0`` indicator of that equation, so for one-time buyers it lets them
      have dropped out (off by up to ~3 points on the default data): it is not used.

    Parameters
    ----------
    models : FittedBGNBDGG
        From :func:`fit_bgnbd_gg`.
    summary : DataFrame
        From :func:`rfm_summary` as of the same cutoff (the customers to predict).
    horizon_days : int, default=30
        Length of the window, in days.
    cutoff : date, optional
        When given, the result is indexed by ``(cutoff, customer_id)`` like a panel.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (or ``(cutoff, customer_id)``), float columns
        ``expected_purchases, expected_basket, expected_spend, p_alive, p_purchase``.
    """
    _check_summary(summary)
    _check_horizon(horizon_days)
    frame = _model_frame(summary)
    bg, gg = models.bgnbd, models.gamma_gamma
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        purchases = _values(bg.expected_purchases(data=frame, future_t=int(horizon_days)))
        p_alive = _values(bg.expected_probability_alive(data=frame))
        basket = _values(gg.expected_customer_spend(data=frame))
        population = float(np.asarray(gg.expected_new_customer_spend()).squeeze())
    repeat = (frame["frequency"] > 0).to_numpy() & (frame["monetary_value"] > 0).to_numpy()
    basket = np.where(repeat, basket, population)
    out = pd.DataFrame(
        {
            "expected_purchases": purchases,
            "expected_basket": basket,
            "expected_spend": purchases * basket,
            "p_alive": p_alive,
            "p_purchase": _p_purchase(models.params, frame, p_alive, horizon_days),
        },
        index=summary.index.copy(),
    )
    if cutoff is not None:
        day = as_day(cutoff, name="cutoff")
        out.index = pd.MultiIndex.from_arrays(
            [pd.DatetimeIndex([day] * len(out)), out.index], names=["cutoff", "customer_id"]
        )
    return out


def _check_horizon(horizon_days: int) -> None:
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int | np.integer):
        raise ValueError(f"horizon_days must be a whole number of days; got {horizon_days!r}.")
    if horizon_days < 1:
        raise ValueError(f"horizon_days must be at least 1; got {horizon_days}.")


def _p_purchase(
    params: dict[str, float], frame: pd.DataFrame, p_alive: np.ndarray, horizon_days: int
) -> np.ndarray:
    """P(at least one purchase in the window), Fader & Hardie 2019, eq. 34 (see
    :func:`predict_bgnbd_gg`): P(alive) × P(a purchase | alive, rate Gamma(r + x, alpha + T)).
    """
    r, alpha = params["r"], params["alpha"]
    t_obs = frame["T"].to_numpy()
    stays_silent = ((alpha + t_obs) / (alpha + t_obs + horizon_days)) ** (
        r + frame["frequency"].to_numpy()
    )
    return np.clip(p_alive * (1.0 - stays_silent), 0.0, 1.0)


def bgnbd_gg_expectations(
    data: RetailData,
    cutoff: str | pd.Timestamp,
    categories: Sequence[str],
    *,
    horizon_days: int = 30,
    models: FittedBGNBDGG | None = None,
) -> tuple[pd.DataFrame, FittedBGNBDGG]:
    """Fit as of `cutoff` (unless `models` are given) and predict, in the oracle's format.

    Per-category spend is the expected total spend times the customer's historical share
    of positive line spend in that category (:func:`category_shares`).

    Returns
    -------
    (DataFrame, FittedBGNBDGG)
        The frame is indexed by ``customer_id`` (customers with a purchase before the
        cutoff) with columns ``expected_total``, ``expected_<category>`` per category,
        ``p_purchase`` and ``p_alive``, like :func:`clvmodel.synthetic.expected_spend`.
    """
    summary = rfm_summary(data, cutoff)
    models = fit_bgnbd_gg(summary) if models is None else models
    pred = predict_bgnbd_gg(models, summary, horizon_days=horizon_days)
    shares = category_shares(data, cutoff, categories).reindex(summary.index).fillna(0.0)
    out = pd.DataFrame({"expected_total": pred["expected_spend"]}, index=summary.index)
    for c in categories:
        out[f"expected_{c}"] = pred["expected_spend"] * shares[c]
    out["p_purchase"] = pred["p_purchase"]
    out["p_alive"] = pred["p_alive"]
    return out, models
