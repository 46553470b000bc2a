"""The overview of a log: every count, the monthly revenue, the shares and each warning."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from clvmodel.overview import describe_log, overview_json
from clvmodel.transactions import read_transactions

LOG = """customer_id,transaction_date,transaction_id,product_id,category,amount
A,2026-01-05,t1,p1,food,10
A,2026-01-05,t1,p1,food,10
A,2026-02-01,t2,p2,toys,-4
B,2026-01-20,t3,p1,food,0
,2026-01-21,t4,p1,food,5
B,2026-03-30,t5,p3,toys,30
"""


@pytest.fixture
def overview(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text(LOG)
    r = read_transactions(path)
    return describe_log(r.data, n_rows=r.n_rows, rejected=len(r.rejected),
                        anonymous=r.anonymous, today=pd.Timestamp("2026-03-01"))  # fmt: skip


def test_counts_say_what_the_log_holds(overview):
    c = overview.counts
    assert (c["rows"], c["lines"], c["anonymous"], c["customers"]) == (6, 5, 1, 2)
    assert (c["return_lines"], c["returned_amount"], c["zero_lines"]) == (1, 4.0, 1)
    assert (c["duplicated_lines"], c["future_lines"], c["days"]) == (1, 1, 85)
    assert c["net_revenue"] == pytest.approx(46.0)


def test_monthly_revenue_adds_up_to_the_net_revenue(overview):
    assert overview.monthly_revenue.sum() == pytest.approx(overview.counts["net_revenue"])
    assert list(overview.monthly_revenue.index.strftime("%Y-%m")) == [
        "2026-01", "2026-02", "2026-03"]  # fmt: skip


def test_customers_by_purchases_count_each_buyer_once(overview):
    # A bought once (t2 is a return), B once (t3 is 0): both in "1"
    assert overview.purchases_per_customer["1"] == 2
    assert overview.purchases_per_customer.sum() == 2


def test_category_shares_are_of_gross_spend_and_add_up_to_one(overview):
    assert overview.category_shares.to_dict() == pytest.approx({"toys": 0.6, "food": 0.4})


def test_each_warning_is_a_sentence_with_its_figure(overview):
    text = " ".join(overview.warnings)
    for part in [
        "1 line: exact duplicates",
        "1 line with an amount of 0",
        "1 line with a negative amount",
        "4.00",
        "1 line dated after today",
    ]:
        assert part in text, part  # fmt: skip
    assert "1 lines" not in text


def test_a_gap_and_a_spike_are_warned(tmp_path):
    days = [*pd.date_range("2026-01-01", "2026-03-31"), *pd.date_range("2026-05-01", "2026-08-31")]
    rows = pd.DataFrame({"customer_id": [f"c{i % 7}" for i in range(len(days))],
                         "transaction_date": [f"{d:%Y-%m-%d}" for d in days],
                         "amount": [100.0 if d.month == 6 else 10.0 for d in days]})  # fmt: skip
    path = tmp_path / "log.csv"
    rows.to_csv(path, index=False)
    warnings = " ".join(describe_log(read_transactions(path).data).warnings)
    assert "no line for 30 days from 2026-04-01" in warnings
    assert "2026-06 has" in warnings


def test_the_json_form_is_plain_json(overview):
    out = json.loads(json.dumps(overview_json(overview)))
    assert out["first_date"] == "2026-01-05" and out["last_date"] == "2026-03-30"
    assert out["monthly_revenue"]["2026-02"] == -4.0
    assert out["warnings"] == overview.warnings


def test_a_log_without_categories_has_no_shares(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("customer_id,transaction_date,amount\nA,2026-01-05,10\nB,2026-01-06,5\n")
    assert describe_log(read_transactions(path).data).category_shares.empty
