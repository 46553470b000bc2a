"""Joined retail data: example customers for the app."""

import pandas as pd

from clvmodel.dataset import example_customers


def test_example_customers_span_last_year_spend_and_are_deterministic(small_data):
    ids = example_customers(small_data)
    assert len(ids) == 4 and ids == example_customers(small_data)
    tx = small_data.transactions
    recent = tx[tx["date"] > small_data.last_date - pd.Timedelta(days=365)]
    spend = recent.groupby("customer_id")["amount"].sum()
    values = [spend[i] for i in ids]
    assert values == sorted(values, reverse=True)  # big spenders first
    assert values[0] >= spend.quantile(0.95)
