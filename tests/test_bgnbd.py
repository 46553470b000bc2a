"""The BG/NBD + Gamma-Gamma comparator: RFM by hand, the missing-package message, units.

The RFM tests need only pandas. Fitting needs pymc-marketing, which is a benchmark
dependency (``benchmarks/requirements.txt``), not a core one: those tests are skipped,
with the reason, where it is not installed.
"""

import os
import sys

import numpy as np
import pandas as pd
import pytest

from clvmodel import bgnbd, dataset
from clvmodel.features import FeatureConfig, build_targets

CUTOFF = "2025-06-01"
CATEGORIES = ("electronics", "grocery", "home", "sports")


def _with_extra_purchase(tables):
    """C1 also buys 30 of grocery on 2025-05-28, the day of T3: one purchase day, 300."""
    header = tables["store_sales_header"]
    extra = header[header["transaction_id"] == "T3"].assign(transaction_id="T11", total_amount=30.0)
    tables["store_sales_header"] = pd.concat([header, extra], ignore_index=True)
    lines = tables["store_sales_line_items"]
    line = lines[lines["line_item_id"] == "L4"].assign(
        line_item_id="L12", transaction_id="T11", quantity=1.0, line_item_amount=30.0
    )
    tables["store_sales_line_items"] = pd.concat([lines, line], ignore_index=True)
    return tables


@pytest.mark.parametrize(
    "cutoff", [CUTOFF, pd.Timestamp(CUTOFF), pd.Timestamp(CUTOFF + " 15:30")], ids=str
)
def test_rfm_summary_by_hand(tiny_tables, cutoff):
    data = dataset.from_tables(tiny_tables)
    got = bgnbd.rfm_summary(data, cutoff)
    # C1: purchases on 03-02 (1200), 05-12 (500), 05-28 (270); the -1000 return on 05-30 is
    # not a purchase. Repeat days 2; 05-28 is 87 days after 03-02, the cutoff 91 days.
    # C2: one purchase on 04-15 (47 days before the cutoff); T6 on the cutoff day is future.
    # C3 bought only after the cutoff: absent.
    expected = pd.DataFrame(
        {
            "frequency": [2.0, 0.0],
            "recency": [87.0, 0.0],
            "T": [91.0, 47.0],
            "monetary_value": [(500 + 270) / 2, 0.0],
        },
        index=pd.Index(["C1", "C2"], name="customer_id"),
    )
    pd.testing.assert_frame_equal(got, expected, check_index_type=False)


def test_rfm_summary_counts_a_day_once(tiny_tables):
    data = dataset.from_tables(_with_extra_purchase(tiny_tables))
    got = bgnbd.rfm_summary(data, CUTOFF).loc["C1"]
    assert got["frequency"] == 2  # two transactions on 05-28 are one purchase day
    assert got["monetary_value"] == pytest.approx((500 + 270 + 30) / 2)


def test_rfm_summary_without_purchases_raises(tiny_tables):
    data = dataset.from_tables(tiny_tables)
    with pytest.raises(ValueError, match=r"no purchase .* before the cutoff 2025-03-01"):
        bgnbd.rfm_summary(data, "2025-03-01")


def test_category_shares_by_hand(tiny_tables):
    data = dataset.from_tables(tiny_tables)
    got = bgnbd.category_shares(data, CUTOFF, CATEGORIES)
    # C1's positive lines: grocery 200 + 270, electronics 1000, home 500 (the return is out).
    assert got.loc["C1"].to_dict() == pytest.approx(
        {"electronics": 1000 / 1970, "grocery": 470 / 1970, "home": 500 / 1970, "sports": 0.0}
    )
    assert got.loc["C2"].to_dict() == pytest.approx(
        {"electronics": 0.0, "grocery": 0.0, "home": 1.0, "sports": 0.0}
    )
    assert "C3" not in got.index


def test_missing_pymc_marketing_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "pymc_marketing", None)  # import now raises
    summary = pd.DataFrame(
        {"frequency": [1.0, 0.0], "recency": [5.0, 0.0], "T": [10.0, 3.0], "monetary_value": 1.0},
        index=pd.Index(["a", "b"], name="customer_id"),
    )
    with pytest.raises(ImportError, match=r"pip install -r benchmarks/requirements\.txt"):
        bgnbd.fit_bgnbd_gg(summary)


def test_summary_without_columns_is_refused():
    with pytest.raises(ValueError, match=r"lacks the columns \['T', 'monetary_value'\]"):
        bgnbd.fit_bgnbd_gg(pd.DataFrame({"frequency": [1.0], "recency": [2.0]}))


# --------------------------------------------------------------------------- fitting

AS_OF = "2025-08-01"


@pytest.fixture(scope="module")
def fitted(small_data):
    try:
        import pymc_marketing  # noqa: F401
    except ImportError:
        reason = (
            "pymc-marketing is a benchmark dependency: pip install -r benchmarks/requirements.txt"
        )
        if os.environ.get("CI", "").lower() == "true":  # .ci/run installs it: prove it there
            pytest.fail(f"cannot run in CI: {reason}", pytrace=False)
        pytest.skip(reason)
    summary = bgnbd.rfm_summary(small_data, AS_OF)
    return summary, bgnbd.fit_bgnbd_gg(summary)  # ~20-30 s: PyTensor compiles once


def test_30_day_expectations_are_in_days_not_months(small_data, fitted):
    summary, models = fitted
    pred = bgnbd.predict_bgnbd_gg(models, summary, horizon_days=30)
    cutoff = pd.Timestamp(AS_OF)
    tx = small_data.transactions
    window = tx[
        (tx["date"] >= cutoff)
        & (tx["date"] < cutoff + pd.Timedelta(days=30))
        & (tx["amount"] > 0)
        & tx["customer_id"].isin(summary.index)
    ]
    realised_days = len(window.drop_duplicates(["customer_id", "date"]))
    # 30 "months" would be ~30x too many, 30 days / 30 ~30x too few.
    assert pred["expected_purchases"].sum() == pytest.approx(realised_days, rel=0.2)
    bought = window["customer_id"].nunique() / len(summary)
    assert pred["p_purchase"].mean() == pytest.approx(bought, rel=0.2)
    y = build_targets(small_data, cutoff, FeatureConfig.from_data(small_data), summary.index)
    assert pred["expected_spend"].sum() == pytest.approx(y["target_total"].sum(), rel=0.3)


def test_prediction_columns_and_probability_formula(fitted):
    summary, models = fitted
    pred = bgnbd.predict_bgnbd_gg(models, summary, horizon_days=30, cutoff=AS_OF)
    assert pred.index.names == ["cutoff", "customer_id"]
    columns = ["expected_purchases", "expected_basket", "expected_spend", "p_alive", "p_purchase"]
    assert list(pred) == columns
    assert np.isfinite(pred.to_numpy()).all()
    assert pred["p_purchase"].between(0, 1).all()
    np.testing.assert_allclose(
        pred["expected_spend"], pred["expected_purchases"] * pred["expected_basket"]
    )
    # One-time buyers get the population mean basket.
    one_time = (summary["frequency"] == 0).to_numpy()
    population = float(np.asarray(models.gamma_gamma.expected_new_customer_spend()).squeeze())
    np.testing.assert_allclose(pred["expected_basket"].to_numpy()[one_time], population)
    # For repeat buyers our P(no purchase) is pymc-marketing's own.
    frame = summary.reset_index()
    lib = models.bgnbd.expected_probability_no_purchase(t=30, data=frame).values.reshape(-1)
    repeat = ~one_time
    np.testing.assert_allclose(1 - pred["p_purchase"].to_numpy()[repeat], lib[repeat], atol=1e-9)
    with pytest.raises(ValueError, match="horizon_days must be a whole number"):
        bgnbd.predict_bgnbd_gg(models, summary, horizon_days=30.5)


def test_expectations_split_the_total_by_category_share(small_data, fitted):
    _, models = fitted
    frame, same = bgnbd.bgnbd_gg_expectations(small_data, AS_OF, CATEGORIES, models=models)
    assert same is models
    parts = frame[[f"expected_{c}" for c in CATEGORIES]].sum(axis=1)
    np.testing.assert_allclose(parts, frame["expected_total"], rtol=1e-9)
    assert {"p_purchase", "p_alive"} <= set(frame)
