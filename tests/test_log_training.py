"""A person's own log: its columns as read, its overview, and a model trained and published."""

from __future__ import annotations

import pandas as pd
import pytest

from clvmodel.log_training import column_roles, estimate_seconds, inspect_log, train_log
from clvmodel.model import CLVModel


@pytest.fixture(scope="module")
def log_file(small_data, tmp_path_factory):
    """The small data set as a log with a shop's own column names."""
    lines = small_data.lines
    path = tmp_path_factory.mktemp("own_log") / "sales.csv"
    pd.DataFrame({
        "Customer": lines["customer_id"],
        "Day": lines["date"].dt.strftime("%Y-%m-%d"),
        "Sales": lines["amount"],
        "Category": lines["category"],
        "InvoiceNo": lines["transaction_id"],
    }).to_csv(path, index=False)  # fmt: skip
    return path


def test_column_roles_say_which_column_is_read_as_which(log_file):
    roles = column_roles(log_file, {"Customer": "customer_id", "Day": "transaction_date",
                                    "Sales": "amount"})  # fmt: skip
    assert roles == {"customer_id": "Customer", "transaction_date": "Day", "amount": "Sales",
                     "category": "Category", "transaction_id": "InvoiceNo"}  # fmt: skip


def test_column_roles_without_a_mapping_name_what_is_missing(log_file):
    with pytest.raises(ValueError, match=r"sales\.csv: missing column\(s\)"):
        column_roles(log_file)


def test_inspect_reads_as_training_does(log_file, small_data):
    mapping = {"Customer": "customer_id", "Day": "transaction_date", "Sales": "amount"}
    source, overview = inspect_log(log_file, mapping)
    assert overview.counts["lines"] == len(small_data.lines)
    assert overview.counts["customers"] == small_data.lines["customer_id"].nunique()
    assert source.info["column_mapping"] == mapping


def test_train_log_fits_publishes_and_summarizes(log_file, tmp_path):
    mapping = {"Customer": "customer_id", "Day": "transaction_date", "Sales": "amount"}
    source, _ = inspect_log(log_file, mapping)
    stages = []
    trained = train_log(source, tmp_path, currency="EUR", on_stage=stages.append,
                        model=CLVModel(quick=True, n_cutoffs=4, cold_start=False))  # fmt: skip
    assert stages == ["fitting", "publishing"]
    assert (tmp_path / "artifacts" / "metadata.json").is_file()
    assert (tmp_path / "model_card.md").is_file()
    loaded = CLVModel.load(tmp_path / "artifacts")
    assert loaded.metadata_["currency"] == "EUR"
    s = trained.summary
    assert s["customers"] == len(source.data.customers) and s["rows_refused"] == 0
    assert set(s["targets"]) == {"total", "purchase", *trained.model.categories}
    assert 0 <= s["targets"]["purchase"]["auc"] <= 1 and s["seconds"] > 0


def test_the_estimate_grows_with_the_log():
    assert 10 < estimate_seconds(1_000, 100) < estimate_seconds(1_000_000, 5_000)
