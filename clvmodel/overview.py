"""What a log holds, before anything is trained on it: counts, dates, shares and warnings.

The "descriptive statistics" a retailer looks at first (the project plan's data overview):
lines, customers, guests, returns, the date range, revenue per month, customers by number
of purchases, category shares, and what looks wrong (a gap in the dates, a spike month,
duplicated lines, zero or negative amounts, dates in the future). One function over a
:class:`~clvmodel.dataset.RetailData`, so the app's overview of an uploaded log and of the
demo data are the same numbers; :func:`overview_json` is its JSON form.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from clvmodel.dataset import RetailData

__all__ = ["PURCHASE_BINS", "LogOverview", "describe_log", "overview_from_json", "overview_json"]

#: Customers by number of purchases (transactions with positive spend): bin edges, labels.
PURCHASE_BINS = ((1, 1, "1"), (2, 2, "2"), (3, 5, "3 to 5"), (6, 10, "6 to 10"),
                 (11, np.inf, "11 or more"))  # fmt: skip
#: A gap in the dates: at least this many days without a line, and 5 times the usual gap.
MIN_GAP_DAYS = 7
#: A spike month: revenue over this multiple of the median complete month.
SPIKE_RATIO = 2.5
#: Categories shown one by one in the shares; the rest are pooled as "other".
MAX_SHARES = 10


@dataclass(frozen=True)
class LogOverview:
    """The overview of one log; ``counts`` and ``warnings`` are what a person reads first."""

    counts: dict[str, int | float]
    first_date: pd.Timestamp | None
    last_date: pd.Timestamp | None
    monthly_revenue: pd.Series  # net amount per calendar month (first day of the month)
    purchases_per_customer: pd.Series  # customers per bin of PURCHASE_BINS
    category_shares: pd.Series  # share of gross spend per category, largest first
    warnings: list[str] = field(default_factory=list)


def describe_log(
    data: RetailData, *, n_rows: int | None = None, rejected: int = 0, anonymous: int = 0,
    today: pd.Timestamp | None = None,
) -> LogOverview:  # fmt: skip
    """The overview of `data` (the good rows of a log), with what the reader counted:
    `n_rows` in the file, `rejected` unreadable ones, `anonymous` guest lines.

    `today` (default: the machine's date) is the day after which dates are "in the future".
    """
    lines = data.lines
    amount = lines["amount"].astype(float)
    dates = lines["date"]
    counts: dict[str, int | float] = {
        "rows": int(n_rows if n_rows is not None else len(lines) + rejected + anonymous),
        "lines": len(lines),
        "rejected": int(rejected),
        "anonymous": int(anonymous),
        "customers": int(lines["customer_id"].nunique()),
        "transactions": int(lines["transaction_id"].nunique()),
        "return_lines": int((amount < 0).sum()),
        "returned_amount": abs(float(amount[amount < 0].sum())),
        "zero_lines": int((amount == 0).sum()),
        "duplicated_lines": int(lines.duplicated().sum()),
        "net_revenue": float(amount.sum()),
        "days": int((dates.max() - dates.min()).days + 1) if len(lines) else 0,
    }
    today = pd.Timestamp.today().normalize() if today is None else pd.Timestamp(today)
    counts["future_lines"] = int((dates > today).sum())
    monthly = amount.groupby(dates.dt.to_period("M")).sum()
    monthly.index = monthly.index.to_timestamp()
    monthly.index.name = "month"
    overview = LogOverview(
        counts=counts,
        first_date=dates.min() if len(lines) else None,
        last_date=dates.max() if len(lines) else None,
        monthly_revenue=monthly.rename("net revenue"),
        purchases_per_customer=_purchases_per_customer(data.transactions),
        category_shares=_category_shares(lines),
    )
    overview.warnings.extend(_warnings(overview, dates))
    return overview


def _purchases_per_customer(transactions: pd.DataFrame) -> pd.Series:
    bought = transactions[transactions["amount"] > 0]
    n = bought.groupby("customer_id").size()
    labels = [label for _, _, label in PURCHASE_BINS]
    counts = [int(((n >= lo) & (n <= hi)).sum()) for lo, hi, _ in PURCHASE_BINS]
    return pd.Series(counts, index=pd.Index(labels, name="purchases"), name="customers")


def _category_shares(lines: pd.DataFrame) -> pd.Series:
    gross = lines["amount"].clip(lower=0)
    if "category" not in lines or lines["category"].isna().all() or gross.sum() <= 0:
        return pd.Series(dtype=float, name="share")
    by = gross.groupby(lines["category"].fillna("(none)")).sum().sort_values(ascending=False)
    shares = by / by.sum()
    if len(shares) > MAX_SHARES:
        head = shares.iloc[: MAX_SHARES - 1]
        shares = pd.concat([head, pd.Series({"other": 1.0 - head.sum()})])
    shares.index.name = "category"
    return shares.rename("share")


def _lines(n: int) -> str:
    return f"{n:,} line" if n == 1 else f"{n:,} lines"


def _warnings(overview: LogOverview, dates: pd.Series) -> list[str]:
    """What a person should look at before training, in words, each with its figures."""
    c, out = overview.counts, []
    if c["lines"] == 0:
        return ["The log has no readable line with a customer."]
    days = np.sort(dates.drop_duplicates().to_numpy())
    if len(days) > 2:
        gaps = np.diff(days).astype("timedelta64[D]").astype(int)
        longest = int(gaps.max())
        if longest >= max(MIN_GAP_DAYS, 5 * np.median(gaps)):
            start = pd.Timestamp(days[int(gaps.argmax())]) + pd.Timedelta(days=1)
            out.append(f"A gap in the dates: no line for {longest - 1} days from "
                       f"{start:%Y-%m-%d}.")  # fmt: skip
    complete = overview.monthly_revenue.iloc[1:-1]  # the first and last months may be partial
    if len(complete) >= 3 and complete.median() > 0:
        ratio = complete / complete.median()
        for month, r in ratio[ratio > SPIKE_RATIO].items():
            out.append(f"A spike: {month:%Y-%m} has {r:.1f} times the median month's revenue.")
    if c["duplicated_lines"]:
        out.append(f"{_lines(c['duplicated_lines'])}: exact duplicates of another line.")
    if c["zero_lines"]:
        out.append(f"{_lines(c['zero_lines'])} with an amount of 0.")
    if c["return_lines"]:
        out.append(f"{_lines(c['return_lines'])} with a negative amount (returns): "
                   f"{c['returned_amount']:,.2f} in all.")  # fmt: skip
    if c["future_lines"]:
        out.append(f"{_lines(c['future_lines'])} dated after today.")
    if c["rejected"]:
        n = c["rejected"]
        out.append(f"{n:,} row{'' if n == 1 else 's'} could not be read (see the refused rows).")
    return out


def overview_json(overview: LogOverview) -> dict:
    """The overview as JSON (what ``/inspect_log`` returns): dates as ISO text."""

    def day(value: pd.Timestamp | None) -> str | None:
        return None if value is None else f"{value:%Y-%m-%d}"

    return {
        "counts": overview.counts,
        "first_date": day(overview.first_date),
        "last_date": day(overview.last_date),
        "monthly_revenue": {
            f"{m:%Y-%m}": round(float(v), 2) for m, v in overview.monthly_revenue.items()
        },
        "purchases_per_customer": overview.purchases_per_customer.to_dict(),
        "category_shares": {
            str(k): round(float(v), 4) for k, v in overview.category_shares.items()
        },
        "warnings": list(overview.warnings),
    }


def overview_from_json(reply: dict) -> LogOverview:
    """:func:`overview_json`'s reply back as an overview (to draw what an endpoint sent)."""
    monthly = pd.Series(reply["monthly_revenue"], dtype=float, name="net revenue")
    monthly.index = pd.to_datetime(monthly.index, format="%Y-%m")
    monthly.index.name = "month"

    def day(text: str | None) -> pd.Timestamp | None:
        return None if text is None else pd.Timestamp(text)

    return LogOverview(
        counts=dict(reply["counts"]),
        first_date=day(reply["first_date"]),
        last_date=day(reply["last_date"]),
        monthly_revenue=monthly,
        purchases_per_customer=pd.Series(reply["purchases_per_customer"], name="customers"),
        category_shares=pd.Series(reply["category_shares"], dtype=float, name="share"),
        warnings=list(reply["warnings"]),
    )
