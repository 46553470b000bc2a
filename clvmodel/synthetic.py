"""Synthetic retail data with a known answer.

Customers follow a Pareto/NBD-like process, day by day: while alive, customer *i* makes
``Poisson(λ_i · m(d) · (1 + β_i · promo(d)))`` transactions on day *d*, where ``m`` is the
weekly and yearly calendar (holiday peaks included) and ``promo`` says whether any
promotion runs. A customer stays alive an ``Exponential(μ_i)`` time after signing up and
never comes back. Each transaction has ``1 + Poisson(κ_i)`` lines whose category follows the
customer's preferences ``π_i``, at product prices scaled by the customer's spend level
``ν_i`` and cut by running promotions. Returns arrive at ``return_rate`` times the purchase
rate, as single negative lines.

Because every step is known, :func:`expected_spend` gives, for any cutoff, each customer's
true expected net spend over the horizon (in total and per category) and the probability of
at least one purchase, given their latent parameters and whether they are still alive.
No model can beat that: it is the oracle every evaluation compares against.

Run ``clvmodel-synthetic --customers N --out DIR`` (or ``python -m clvmodel.cli.synthetic``)
to write a data set; :func:`write_dataset` does the same from Python.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from clvmodel.dataset import loyalty_points  # the same rules the features use
from clvmodel.partitions import PartitionWriter, default_parts, open_partitioned
from clvmodel.schema import HOLIDAY_PEAKS, LOYALTY_TIERS, TABLES, is_partitioned, write_tables

LATENT_FILE = "latent_customers.csv.gz"
TRUTH_FILE = "ground_truth.csv.gz"

_SEGMENTS = ("budget", "mainstream", "premium", "vip")
_SEGMENT_SHARE = np.array([0.35, 0.35, 0.2, 0.1])
_SEGMENT_RATE = np.array([0.6, 1.0, 1.4, 2.2])
_SEGMENT_SPEND = np.array([0.7, 1.0, 1.5, 2.4])
_SEGMENT_CHURN = np.array([1.3, 1.0, 0.8, 0.6])
_WEEKDAY = np.array([0.85, 0.85, 0.9, 0.95, 1.1, 1.3, 1.05])  # Monday first
_NAMES = np.array(["Aarav", "Diya", "Ishaan", "Meera", "Rohan", "Sara", "Vikram", "Zoya"])


@dataclass(frozen=True)
class CategorySpec:
    """A product category: mean product price, price spread, extra units per line, weight."""

    name: str
    price: float
    price_sigma: float
    extra_units: float
    preference: float


DEFAULT_CATEGORIES: tuple[CategorySpec, ...] = (
    CategorySpec("electronics", 2500.0, 0.9, 0.05, 0.12),
    CategorySpec("grocery", 120.0, 0.6, 1.5, 0.48),
    CategorySpec("home", 600.0, 0.7, 0.3, 0.2),
    CategorySpec("sports", 900.0, 0.8, 0.1, 0.2),
)


@dataclass(frozen=True)
class SyntheticConfig:
    """What to generate; every field has a default that gives the project's data set."""

    n_customers: int = 20_000
    start: str = "2024-10-01"
    days: int = 730
    categories: tuple[CategorySpec, ...] = DEFAULT_CATEGORIES
    regions: tuple[str, ...] = ("north", "south", "east", "west")
    stores_per_region: int = 3
    products_per_category: int = 40
    mean_rate: float = 0.03  # transactions per day for a mainstream customer
    mean_lifetime: float = 700.0  # days
    return_rate: float = 0.03
    existing_share: float = 0.45  # customers who signed up before the data starts
    currency: str = "INR"
    #: Customers drawn from one random stream: block 0 from ``default_rng(seed)`` (with the
    #: shared tables), block k from ``default_rng([seed, k])``. Fixes the data with the seed.
    block_customers: int = 20_000


def calendar_multiplier(dates: pd.DatetimeIndex) -> np.ndarray:
    """Weekly × yearly purchase-rate multiplier, with a bump at each holiday peak."""
    doy = dates.day_of_year.to_numpy()
    yearly = 1.0 + 0.12 * np.sin(2 * np.pi * (doy - 100) / 365.25)
    for month, day in HOLIDAY_PEAKS:
        peak = pd.Timestamp(2001, month, day).day_of_year
        dist = np.minimum(np.abs(doy - peak), 365 - np.abs(doy - peak))
        yearly += 0.8 * np.exp(-0.5 * (dist / 6.0) ** 2)
    return _WEEKDAY[dates.day_of_week.to_numpy()] * yearly


def promotion_calendar(
    promotions: pd.DataFrame, dates: pd.DatetimeIndex, categories: tuple[str, ...]
) -> np.ndarray:
    """Discount fraction per day and category (days × categories); overlaps take the max."""
    out = np.zeros((len(dates), len(categories)))
    for j, cat in enumerate(categories):
        promos = promotions[promotions["applicable_category"] == cat]
        start = dates.searchsorted(promos["start_date"].to_numpy())
        stop = dates.searchsorted(promos["end_date"].to_numpy(), side="right")
        pct = promos["discount_percentage"].to_numpy() / 100.0
        for a, b, p in zip(start, stop, pct, strict=True):  # a few dozen promotions
            out[a:b, j] = np.maximum(out[a:b, j], p)
    return out


def _draw_latent(
    cfg: SyntheticConfig, rng: np.random.Generator, n: int, first: int = 1
) -> pd.DataFrame:
    """Latent parameters of customers number `first` to `first + n - 1`."""
    cats = cfg.categories
    seg = rng.choice(len(_SEGMENTS), size=n, p=_SEGMENT_SHARE)
    rate = rng.gamma(0.9, cfg.mean_rate / 0.9, size=n) * _SEGMENT_RATE[seg]
    spend = rng.lognormal(-0.125, 0.5, size=n) * _SEGMENT_SPEND[seg]
    churn = rng.gamma(1.5, 1 / cfg.mean_lifetime / 1.5, size=n) * _SEGMENT_CHURN[seg]
    base = np.array([c.preference for c in cats])
    prefs = rng.dirichlet(base * 3.0, size=n)
    existing = rng.random(n) < cfg.existing_share
    signup = np.where(
        existing,
        -rng.uniform(1, 3 * 365, size=n),
        rng.uniform(0, cfg.days - 30, size=n),
    )
    # Existing customers are alive when the data starts (memoryless, so this is exact).
    death = np.maximum(signup, 0) + rng.exponential(1 / churn)
    tier_score = seg + rng.normal(0, 0.9, size=n)
    tier = np.clip(np.floor(tier_score + 0.3), 0, len(LOYALTY_TIERS) - 1).astype(int)
    latent = pd.DataFrame(
        {
            "customer_id": [f"C{i:06d}" for i in range(first, first + n)],
            "segment": np.array(_SEGMENTS)[seg],
            "loyalty_status": np.array(LOYALTY_TIERS)[tier],
            "region": rng.choice(cfg.regions, size=n),
            "rate": rate,
            "spend_level": spend,
            "extra_lines": rng.gamma(2.0, 0.6, size=n),
            "churn": churn,
            "promo_sensitivity": rng.beta(1.0, 2.0, size=n),
            "online_share": rng.beta(1.2, 3.0, size=n),
            "signup_day": signup,
            "death_day": death,
        }
    )
    for j, c in enumerate(cats):
        latent[f"pref_{c.name}"] = prefs[:, j]
    return latent


def _make_products(cfg: SyntheticConfig, rng: np.random.Generator) -> pd.DataFrame:
    k = cfg.products_per_category
    rows = []
    for c in cfg.categories:
        price = rng.lognormal(np.log(c.price) - c.price_sigma**2 / 2, c.price_sigma, size=k)
        rows.append(
            pd.DataFrame(
                {
                    "product_category": c.name,
                    "product_name": [f"{c.name.title()} item {i + 1}" for i in range(k)],
                    "unit_price": np.round(price, 2),
                    "current_stock_level": rng.integers(0, 500, size=k),
                }
            )
        )
    products = pd.concat(rows, ignore_index=True)
    products.insert(0, "product_id", [f"P{i:04d}" for i in range(1, len(products) + 1)])
    return products


def _make_stores(cfg: SyntheticConfig, start: pd.Timestamp) -> pd.DataFrame:
    rows = [
        {
            "store_id": f"S{r * cfg.stores_per_region + k + 1:02d}",
            "store_name": f"{region.title()} Store {k + 1}",
            "store_city": f"{region.title()} City {k + 1}",
            "store_region": region,
            "opening_date": start - pd.Timedelta(days=400 * (k + 1)),
            "store_type": "in-store",
        }
        for r, region in enumerate(cfg.regions)
        for k in range(cfg.stores_per_region)
    ]
    for name in ("web", "mobile"):
        rows.append(
            {
                "store_id": f"S{len(rows) + 1:02d}",
                "store_name": f"Online ({name})",
                "store_city": "Online",
                "store_region": "national",
                "opening_date": start - pd.Timedelta(days=365),
                "store_type": name,
            }
        )
    return pd.DataFrame(rows)


def _make_promotions(
    cfg: SyntheticConfig, start: pd.Timestamp, rng: np.random.Generator
) -> pd.DataFrame:
    begins = np.arange(0, cfg.days + 60, 11) + rng.integers(0, 5, size=(cfg.days + 60) // 11 + 1)
    n = len(begins)
    cats = np.array([c.name for c in cfg.categories])[rng.integers(0, len(cfg.categories), n)]
    length = rng.integers(4, 12, size=n)
    pct = rng.choice([10.0, 15.0, 20.0, 25.0, 30.0], size=n)
    first = start + pd.to_timedelta(begins, unit="D")
    return pd.DataFrame(
        {
            "promotion_id": [f"PR{i:03d}" for i in range(1, n + 1)],
            "promotion_name": [f"{p:.0f}% off {c}" for p, c in zip(pct, cats, strict=True)],
            "start_date": first,
            "end_date": first + pd.to_timedelta(length - 1, unit="D"),
            "discount_percentage": pct,
            "applicable_category": cats,
        }
    )


LOYALTY_RULES = pd.DataFrame(
    {
        "rule_id": ["R1", "R2"],
        "rule_name": ["1 point per 10 spent", "50 bonus points from 2000 per basket"],
        "points_per_unit_spend": [0.1, 0.0],
        "min_spend_threshold": [0.0, 2000.0],
        "bonus_points": [0.0, 50.0],
    }
)


def _daily_rate(latent: pd.DataFrame, calendar: np.ndarray, promo_any: np.ndarray) -> np.ndarray:
    """Purchase rate per customer and day (customers × days), ignoring whether alive."""
    lift = 1.0 + latent["promo_sensitivity"].to_numpy()[:, None] * promo_any[None, :]
    return latent["rate"].to_numpy()[:, None] * calendar[None, :] * lift


def _category_means(cfg: SyntheticConfig, products: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """Mean product price and mean units per line, per category, as the generator draws them."""
    price = products.groupby("product_category")["unit_price"].mean()
    price = price.loc[[c.name for c in cfg.categories]].to_numpy()
    units = np.array([1.0 + c.extra_units for c in cfg.categories])
    return price, units


def _shared_tables(cfg: SyntheticConfig, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """The tables every customer shares: stores, products, promotions, loyalty rules."""
    start = pd.Timestamp(cfg.start)
    products = _make_products(cfg, rng)
    stores = _make_stores(cfg, start)
    promotions = _make_promotions(cfg, start, rng)
    return {
        "stores": stores,
        "products": products,
        "promotion_details": promotions,
        "loyalty_rules": LOYALTY_RULES,
    }


@dataclass(frozen=True)
class Block:
    """One block of customers: their three tables, their latent parameters, and the
    numbers of their first transaction and line (ids run on across blocks)."""

    tables: dict[str, pd.DataFrame]
    latent: pd.DataFrame
    next_tx: int
    next_line: int


def iter_blocks(
    cfg: SyntheticConfig = SyntheticConfig(), *, random_state: int = 0
) -> tuple[dict[str, pd.DataFrame], Iterator[Block]]:
    """The shared tables and an iterator over blocks of :attr:`SyntheticConfig.block_customers`.

    Block 0 is drawn from ``default_rng(random_state)`` exactly as a data set of that many
    customers always was (so the project's 20,000-customer data set is unchanged); block k
    from its own stream ``default_rng([random_state, k])``. Only one block is in memory at
    a time, and the data does not depend on how blocks are grouped when written.
    """
    if cfg.block_customers < 1:
        raise ValueError(f"block_customers must be at least 1; got {cfg.block_customers}.")
    size = cfg.block_customers
    rng = np.random.default_rng(random_state)
    latent0 = _draw_latent(cfg, rng, min(cfg.n_customers, size))
    shared = _shared_tables(cfg, rng)

    def blocks() -> Iterator[Block]:
        block = _draw_block(cfg, shared, latent0, rng, 1, 1)
        yield block
        for k in range(1, -(-cfg.n_customers // size)):
            rng_k = np.random.default_rng([random_state, k])
            n = min(size, cfg.n_customers - k * size)
            latent = _draw_latent(cfg, rng_k, n, first=k * size + 1)
            block = _draw_block(cfg, shared, latent, rng_k, block.next_tx, block.next_line)
            yield block

    return shared, blocks()


def generate(
    cfg: SyntheticConfig = SyntheticConfig(), *, random_state: int = 0
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Generate the seven tables and the customers' latent parameters, in memory.

    The blocks of :func:`iter_blocks`, concatenated.

    Returns
    -------
    tables : dict of DataFrame
        The seven tables of :data:`clvmodel.schema.TABLES`, keyed by name.
    latent : DataFrame
        One row per customer with the parameters :func:`expected_spend` needs.
    """
    shared, blocks = iter_blocks(cfg, random_state=random_state)
    parts = list(blocks)
    tables = _concat_tables(shared, [b.tables for b in parts])
    latent = parts[0].latent if len(parts) == 1 else pd.concat([b.latent for b in parts])
    return tables, latent.reset_index(drop=True)


def _concat_tables(
    shared: dict[str, pd.DataFrame], blocks: list[dict[str, pd.DataFrame]]
) -> dict[str, pd.DataFrame]:
    """The seven tables, in schema order, from the shared tables and blocks."""

    def whole(name: str) -> pd.DataFrame:
        if len(blocks) == 1:
            return blocks[0][name]
        return pd.concat([b[name] for b in blocks], ignore_index=True)

    return {t: shared[t] if t in shared else whole(t) for t in TABLES}


def _draw_block(
    cfg: SyntheticConfig,
    shared: dict[str, pd.DataFrame],
    latent: pd.DataFrame,
    rng: np.random.Generator,
    first_tx: int,
    first_line: int,
) -> Block:
    """Transactions, lines and customer details of the customers of `latent`.

    The draws from `rng` come in a fixed order (transactions, lines, stores, customer
    details): one seed gives one data set.
    """
    stores, products = shared["stores"], shared["products"]
    promotions = shared["promotion_details"]
    start = pd.Timestamp(cfg.start)
    dates = pd.date_range(start, periods=cfg.days, freq="D")
    cat_names = tuple(c.name for c in cfg.categories)
    promo = promotion_calendar(promotions, dates, cat_names)
    cust, tday, is_return = _draw_transactions(cfg, latent, dates, promo, rng)
    n_tx = len(cust)
    line_tx, line_cat, product_idx, quantity, discount = _draw_lines(
        cfg, latent, promo, cust, tday, is_return, rng
    )
    price = products["unit_price"].to_numpy()[product_idx]
    level = latent["spend_level"].to_numpy()[cust[line_tx]]
    line_return = is_return[line_tx]
    amount = price * quantity * level * (1 - discount) * np.where(line_return, -1.0, 1.0)
    amount = np.round(amount, 2)
    # Which promotion gave the discount: the running one on that category with that percentage.
    line_dates = dates[tday[line_tx]]
    promo_id = _promotion_ids(promotions, line_dates, np.array(cat_names)[line_cat], discount)
    store_idx = _draw_stores(cfg, latent, cust, rng)

    tx_ids = np.char.add("T", np.char.zfill(np.arange(first_tx, first_tx + n_tx).astype(str), 7))
    tx_total = np.bincount(line_tx, weights=amount, minlength=n_tx)
    number = latent["customer_id"].str.slice(1).astype("int64").to_numpy()
    phone = np.char.add("+91-9", np.char.zfill(number.astype(str), 9))
    header = pd.DataFrame(
        {
            "transaction_id": tx_ids,
            "customer_id": latent["customer_id"].to_numpy()[cust],
            "store_id": stores["store_id"].to_numpy()[store_idx],
            "transaction_date": dates[tday],
            "total_amount": np.round(tx_total, 2),
            "customer_phone": phone[cust],
        }
    )
    line_items = pd.DataFrame(
        {
            "line_item_id": np.char.add(
                "L", np.char.zfill(np.arange(first_line, first_line + len(line_tx)).astype(str), 8)
            ),
            "transaction_id": tx_ids[line_tx],
            "product_id": products["product_id"].to_numpy()[product_idx],
            "promotion_id": promo_id,
            "quantity": quantity,
            "line_item_amount": amount,
        }
    )
    customers = _customer_details(latent, header, start, rng, phone)
    tables = {
        "customer_details": customers,
        "store_sales_header": header,
        "store_sales_line_items": line_items,
    }
    return Block(tables, latent, first_tx + n_tx, first_line + len(line_tx))


def _draw_transactions(
    cfg: SyntheticConfig,
    latent: pd.DataFrame,
    dates: pd.DatetimeIndex,
    promo: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Purchases and returns of each living customer per day (Poisson): their customer
    (row of `latent`), day and whether each is a return, by customer, day, purchases first."""
    day = np.arange(cfg.days)
    alive = (day[None, :] >= latent["signup_day"].to_numpy()[:, None]) & (
        day[None, :] < latent["death_day"].to_numpy()[:, None]
    )
    rate = _daily_rate(latent, calendar_multiplier(dates), promo.max(axis=1) > 0) * alive
    buys = rng.poisson(rate)
    returns = rng.poisson(rate * cfg.return_rate)
    cust_b, day_b = np.nonzero(buys)
    cust_b, day_b = np.repeat(cust_b, buys[cust_b, day_b]), np.repeat(day_b, buys[cust_b, day_b])
    cust_r, day_r = np.nonzero(returns)
    del buys, returns, rate, alive
    cust = np.concatenate([cust_b, cust_r])
    tday = np.concatenate([day_b, day_r])
    is_return = np.r_[np.zeros(len(cust_b), bool), np.ones(len(cust_r), bool)]
    order = np.lexsort((is_return, tday, cust))
    return cust[order], tday[order], is_return[order]


def _draw_lines(
    cfg: SyntheticConfig,
    latent: pd.DataFrame,
    promo: np.ndarray,
    cust: np.ndarray,
    tday: np.ndarray,
    is_return: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, ...]:
    """The lines of the transactions: purchases get 1 + Poisson(κ_i) lines, returns exactly
    one. Per line: its transaction, category, product (row of the products), quantity and
    the promotion's discount (a fraction)."""
    n_lines = np.where(is_return, 1, 1 + rng.poisson(latent["extra_lines"].to_numpy()[cust]))
    line_tx = np.repeat(np.arange(len(cust)), n_lines)
    line_cust, line_day = cust[line_tx], tday[line_tx]
    prefs = latent[[f"pref_{c.name}" for c in cfg.categories]].to_numpy()
    cum = prefs.cumsum(axis=1)[line_cust]
    line_cat = (rng.random(len(line_tx))[:, None] > cum[:, :-1]).sum(axis=1)
    k = cfg.products_per_category
    product_idx = line_cat * k + rng.integers(0, k, size=len(line_tx))
    extra = np.array([c.extra_units for c in cfg.categories])[line_cat]
    line_return = is_return[line_tx]
    quantity = np.where(line_return, 1, 1 + rng.poisson(extra))
    discount = np.where(line_return, 0.0, promo[line_day, line_cat])
    return line_tx, line_cat, product_idx, quantity, discount


def _draw_stores(
    cfg: SyntheticConfig, latent: pd.DataFrame, cust: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """The store of each transaction (row of the stores): online (web or mobile) by the
    customer's online share, else a store of the home region, one visit in ten elsewhere."""
    n_tx = len(cust)
    online = rng.random(n_tx) < latent["online_share"].to_numpy()[cust]
    region_idx = pd.Index(cfg.regions).get_indexer(latent["region"].to_numpy()[cust])
    away = rng.random(n_tx) < 0.1
    region_idx = np.where(away, rng.integers(0, len(cfg.regions), n_tx), region_idx)
    physical = region_idx * cfg.stores_per_region + rng.integers(0, cfg.stores_per_region, n_tx)
    n_physical = len(cfg.regions) * cfg.stores_per_region
    web_or_mobile = n_physical + rng.integers(0, 2, size=n_tx)
    return np.where(online, web_or_mobile, physical)


def _promotion_ids(
    promotions: pd.DataFrame, when: pd.DatetimeIndex, category: np.ndarray, discount: np.ndarray
) -> np.ndarray:
    """The id of a promotion running on each line's day for its category at its discount."""
    out = np.full(len(when), None, dtype=object)
    hit = discount > 0
    if not hit.any():
        return out
    lines = pd.DataFrame(
        {"row": np.flatnonzero(hit), "date": when[hit], "cat": category[hit], "pct": discount[hit]}
    )
    promos = promotions.assign(pct=promotions["discount_percentage"] / 100.0)
    pairs = lines.merge(promos, left_on=["cat", "pct"], right_on=["applicable_category", "pct"])
    running = (pairs["date"] >= pairs["start_date"]) & (pairs["date"] <= pairs["end_date"])
    first = pairs[running].drop_duplicates("row")
    out[first["row"].to_numpy()] = first["promotion_id"].to_numpy()
    return out


def _customer_details(
    latent: pd.DataFrame,
    header: pd.DataFrame,
    start: pd.Timestamp,
    rng: np.random.Generator,
    phone: np.ndarray,
) -> pd.DataFrame:
    points = pd.Series(loyalty_points(header["total_amount"], LOYALTY_RULES)).groupby(
        header["customer_id"].to_numpy()
    )
    last = header.groupby("customer_id")["transaction_date"].max()
    ids = latent["customer_id"]
    names = _NAMES[rng.integers(0, len(_NAMES), len(latent))]
    return pd.DataFrame(
        {
            "customer_id": ids,
            "first_name": names,
            "email": [
                f"{n.lower()}.{i.lower()}@example.com" for n, i in zip(names, ids, strict=True)
            ],
            "loyalty_status": latent["loyalty_status"],
            # Snapshots at export time, as real exports have them; features never read them.
            "total_loyalty_points": ids.map(points.sum()).fillna(0.0).round(1),
            "last_purchase_date": ids.map(last),
            "segment_id": latent["segment"],
            "customer_phone": phone,
            "customer_since": (start + pd.to_timedelta(np.floor(latent["signup_day"]), unit="D")),
        }
    )


def p_alive(
    latent: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    cutoff: str | pd.Timestamp,
    *,
    cfg: SyntheticConfig = SyntheticConfig(),
) -> np.ndarray:
    """P(alive on the cutoff day | latent parameters, observed history), per row of `latent`.

    A customer is surely alive at their last transaction (or at signup, or when the data
    starts for earlier customers). Since then they either died, at an exponential time,
    or stayed alive and happened to make no transaction on the quiet days in between.
    Bayes' rule over the death day, with the exact daily rates, gives the probability.
    """
    start = pd.Timestamp(cfg.start)
    c0 = (pd.Timestamp(cutoff) - start).days
    header = tables["store_sales_header"]
    day = (header["transaction_date"] - start).dt.days
    before = day < c0
    last = day[before].groupby(header.loc[before, "customer_id"].to_numpy()).max()
    last = last.reindex(latent["customer_id"]).to_numpy(dtype=float)
    anchor = np.fmax(np.fmax(latent["signup_day"].to_numpy(), 0.0), last)  # NaN-safe max
    first = np.minimum(np.floor(anchor) + 1, c0)  # first quiet day
    mu = latent["churn"].to_numpy()
    dates = pd.date_range(start, periods=max(c0, 1), freq="D")
    promo = promotion_calendar(
        tables["promotion_details"], dates, tuple(c.name for c in cfg.categories)
    )
    events = _daily_rate(latent, calendar_multiplier(dates), promo.max(axis=1) > 0)[:, :c0]
    events *= 1.0 + cfg.return_rate  # returns, too, happen only while alive
    days = np.arange(c0)[None, :]
    quiet = days >= first[:, None]
    cum = np.cumsum(np.where(quiet, events, 0.0), axis=1)  # quiet-day rate up to day d
    # Survival to the start of each day 0..c0 (one exp per cell: day d + 1 is column d + 1).
    ends = np.arange(c0 + 1)[None, :]
    surv = np.exp(-mu[:, None] * np.maximum(ends - anchor[:, None], 0.0))
    # Death in (d, d + 1] for a quiet day d: alive and silent on quiet days up to d.
    die = np.where(quiet, (surv[:, :-1] - surv[:, 1:]) * np.exp(-cum), 0.0).sum(axis=1)
    die += 1.0 - np.exp(-mu * (first - anchor))  # death before the first quiet day
    stay = np.exp(-mu * (c0 - anchor)) * np.exp(-cum[:, -1] if c0 else 0.0)
    return stay / (stay + die)


def expected_spend(
    latent: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    cutoff: str | pd.Timestamp,
    *,
    horizon: int = 30,
    given: str = "history",
    cfg: SyntheticConfig = SyntheticConfig(),
) -> pd.DataFrame:
    """The oracle: each customer's true expected spend over [cutoff, cutoff + horizon).

    Integrates over purchases, baskets, returns and future drop-out, knowing the
    customer's latent parameters. ``given="history"`` (the default, the limit for any
    model that sees the transactions) weighs that by :func:`p_alive`; ``given="state"``
    also knows whether the customer is still alive, which no data reveals: a stricter
    bound.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (customers signed up before the cutoff), columns
        ``expected_total``, ``expected_<category>`` per category, ``p_purchase``, ``p_alive``.
    """
    if given not in ("history", "state"):
        raise ValueError(f"given must be 'history' or 'state'; got {given!r}.")
    start = pd.Timestamp(cfg.start)
    c0 = (pd.Timestamp(cutoff) - start).days
    latent = latent[latent["signup_day"] < c0]
    if given == "state":
        alive = (latent["death_day"].to_numpy() > c0).astype(float)
    else:
        alive = p_alive(latent, tables, cutoff, cfg=cfg)
    dates = pd.date_range(pd.Timestamp(cutoff), periods=horizon, freq="D")
    cat_names = tuple(c.name for c in cfg.categories)
    promo = promotion_calendar(tables["promotion_details"], dates, cat_names)
    rate = _daily_rate(latent, calendar_multiplier(dates), promo.max(axis=1) > 0)
    k = np.arange(horizon + 1)
    survival = np.exp(-latent["churn"].to_numpy()[:, None] * k[None, :])  # given alive at c0
    expected_tx = rate * survival[:, :-1]  # customers × days

    price, units = _category_means(cfg, tables["products"])
    prefs = latent[[f"pref_{c}" for c in cat_names]].to_numpy()
    level = latent["spend_level"].to_numpy()
    lines = 1.0 + latent["extra_lines"].to_numpy()
    # Per transaction-day: bought lines at discounted price, minus return_rate single-unit returns.
    bought = expected_tx[:, :, None] * (1 - promo[None, :, :])  # customers × days × categories
    per_cat = (lines[:, None] * prefs * level[:, None] * price * units) * bought.sum(axis=1)
    per_cat -= cfg.return_rate * expected_tx.sum(axis=1)[:, None] * prefs * level[:, None] * price
    per_cat *= alive[:, None]
    out = pd.DataFrame(per_cat, columns=[f"expected_{c}" for c in cat_names], index=latent.index)
    out.insert(0, "expected_total", per_cat.sum(axis=1))

    # P(no purchase | alive) = Σ_k P(die after day k) e^{-Λ_k} + P(alive throughout) e^{-Λ_H}.
    cum = np.cumsum(rate, axis=1)
    die_after = survival[:, :-1] - survival[:, 1:]
    p_none = (die_after * np.exp(-cum)).sum(axis=1) + survival[:, -1] * np.exp(-cum[:, -1])
    out["p_purchase"] = alive * (1.0 - p_none)
    out["p_alive"] = alive
    out.index = latent["customer_id"].to_numpy()
    out.index.name = "customer_id"
    return out


def ground_truth(
    latent: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    cutoffs: list[pd.Timestamp],
    *,
    horizon: int = 30,
    given: str = "history",
    cfg: SyntheticConfig = SyntheticConfig(),
) -> pd.DataFrame:
    """:func:`expected_spend` stacked over several cutoffs, with a ``cutoff`` column."""
    frames = [
        expected_spend(latent, tables, c, horizon=horizon, given=given, cfg=cfg).assign(cutoff=c)
        for c in cutoffs
    ]
    out = pd.concat(frames).reset_index()
    return out[["customer_id", "cutoff", *[c for c in out if c.startswith(("expected", "p_"))]]]


def monthly_cutoffs(cfg: SyntheticConfig, *, horizon: int = 30) -> list[pd.Timestamp]:
    """Month starts after the first month whose whole horizon lies inside the data."""
    start = pd.Timestamp(cfg.start)
    end = start + pd.Timedelta(days=cfg.days)
    months = pd.date_range(start + pd.offsets.MonthBegin(1), end, freq="MS")
    return [m for m in months if m + pd.Timedelta(days=horizon) <= end]


def write_dataset(
    folder: str | Path,
    cfg: SyntheticConfig = SyntheticConfig(),
    *,
    random_state: int = 0,
    layout: str = "csv",
    n_parts: int | None = None,
    chunk_customers: int | None = None,
    n_jobs: int = 1,
) -> Path:
    """Generate and write the seven tables, the latent parameters and the ground truth.

    Parameters
    ----------
    layout : {"csv", "parquet"}
        ``csv``: gzip CSV files, everything generated in memory first. ``parquet``: the
        partitioned layout of :mod:`clvmodel.partitions`, written chunk by chunk, so
        memory stays flat whatever the number of customers; the latent parameters and
        the ground truth (rows by customer, then cutoff) are parts too.
    n_parts : int, optional
        Parts of the Parquet layout; default :func:`clvmodel.partitions.default_parts`.
    chunk_customers : int, optional
        Customers generated and written at a time (Parquet only): a whole number of
        :attr:`SyntheticConfig.block_customers`, the default. The data read back is the
        same whatever the chunk size.
    n_jobs : int, default=1
        Processes computing the ground truth of chunks (Parquet only), most of the work;
        the data does not depend on it.

    Returns
    -------
    Path
        `folder`, created if needed.

    Raises
    ------
    ValueError
        If `cfg` asks for no customers, has an unreadable start date, or covers too few
        days for one month start with a whole 30-day horizon after it (61 days always do);
        for an unknown layout or a chunk size that is not a whole number of blocks.
    """
    if cfg.n_customers < 1:
        raise ValueError(f"The number of customers must be at least 1; got {cfg.n_customers}.")
    if layout not in ("csv", "parquet"):
        raise ValueError(f"layout must be 'csv' or 'parquet'; got {layout!r}.")
    chunk = chunk_customers or cfg.block_customers
    if chunk < 1 or chunk % cfg.block_customers:
        raise ValueError(
            f"chunk_customers must be a whole number of blocks of {cfg.block_customers} "
            f"customers; got {chunk_customers}."
        )
    cutoffs = monthly_cutoffs(cfg)
    if not cutoffs:
        raise ValueError(
            f"{cfg.days} days from {cfg.start} leave no month start with a whole 30-day "
            "horizon after it, so there is no ground truth to write; use at least 61 days."
        )
    folder = Path(folder)
    if layout == "parquet":
        return _write_partitioned(folder, cfg, random_state, cutoffs, n_parts, chunk, n_jobs)
    tables, latent = generate(cfg, random_state=random_state)
    write_tables(tables, folder)
    opts = {"index": False, "compression": {"method": "gzip", "mtime": 0}}
    latent.round(5).to_csv(folder / LATENT_FILE, **opts)
    truth = _rounded_truth(ground_truth(latent, tables, cutoffs, cfg=cfg))
    truth.to_csv(folder / TRUTH_FILE, date_format="%Y-%m-%d", **opts)
    return folder


def _rounded_truth(truth: pd.DataFrame) -> pd.DataFrame:
    """Whole currency units and 3 decimals keep the file small; expected_spend is exact."""
    truth = truth.round({c: 0 for c in truth if c.startswith("expected")})
    return truth.round({"p_purchase": 3, "p_alive": 3})


def _chunk_truth(
    latent: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    cutoffs: list[pd.Timestamp],
    cfg: SyntheticConfig,
) -> pd.DataFrame:
    """A chunk's ground truth, rows by customer then cutoff (the same whatever the chunks)."""
    truth = _rounded_truth(ground_truth(latent, tables, cutoffs, cfg=cfg))
    who = pd.Index(latent["customer_id"]).get_indexer(truth["customer_id"])
    return truth.iloc[np.argsort(who, kind="stable")]


def _write_partitioned(
    folder: Path,
    cfg: SyntheticConfig,
    random_state: int,
    cutoffs: list[pd.Timestamp],
    n_parts: int | None,
    chunk: int,
    n_jobs: int,
) -> Path:
    """Chunks drawn here in order and written as drawn; their ground truth (most of the
    time) in `n_jobs` processes, written in order as it comes back: a chunk's tables are
    never held while its truth is computed."""
    from concurrent.futures import Future, ProcessPoolExecutor

    def chunks() -> Iterator[tuple[dict[str, pd.DataFrame], pd.DataFrame]]:
        pending: list[Block] = []
        for i, block in enumerate(blocks, 1):
            pending.append(block)
            del block  # dropped with the chunk, before the next block is drawn
            if len(pending) * size >= chunk or i * size >= cfg.n_customers:
                tables = {t: pd.concat([b.tables[t] for b in pending], ignore_index=True)
                          for t in pending[0].tables}  # fmt: skip
                latent = pd.concat([b.latent for b in pending], ignore_index=True)
                pending = []
                yield tables, latent
                del tables, latent

    size = cfg.block_customers
    shared, blocks = iter_blocks(cfg, random_state=random_state)
    truth_tables = {t: shared[t] for t in ("products", "promotion_details")}
    pool = ProcessPoolExecutor(n_jobs) if n_jobs > 1 else None
    queue: list[Future] = []
    try:
        with PartitionWriter(folder, n_parts or default_parts(cfg.n_customers)) as writer:
            writer.write_shared(shared)
            for tables, latent in chunks():
                header = tables["store_sales_header"][["customer_id", "transaction_date"]]
                args = (latent, truth_tables | {"store_sales_header": header}, cutoffs, cfg)
                # Written now: only the ground truth waits (each table's parts still get
                # their chunks in order), so no chunk's tables stay in memory.
                writer.append(tables | {"latent_customers": latent.round(5)})
                del tables
                if pool is None:
                    writer.append({"ground_truth": _chunk_truth(*args)})
                    continue
                queue.append(pool.submit(_chunk_truth, *args))
                if len(queue) > n_jobs:
                    writer.append({"ground_truth": queue.pop(0).result()})
            for truth in queue:
                writer.append({"ground_truth": truth.result()})
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return folder


def read_latent(folder: str | Path) -> pd.DataFrame | None:
    """The latent parameters written with a synthetic data set, or None for real data."""
    if is_partitioned(folder):
        data = open_partitioned(folder)
        return data.read_table("latent_customers") if "latent_customers" in data.parts else None
    path = Path(folder) / LATENT_FILE
    if not path.exists():
        return None
    return pd.read_csv(path, dtype={"customer_id": str})
