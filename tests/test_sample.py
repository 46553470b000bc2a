"""Training on a reproducible sample of customers when the data has too many."""

import numpy as np
import pandas as pd
import pytest

from clvmodel.model import CLVModel
from clvmodel.partitions import open_partitioned, partition_of, write_partitioned
from clvmodel.sample import BUCKETS, training_data
from clvmodel.schema import read_tables

FAST = {
    "n_cutoffs": 4,
    "spend_models": ("ridge",),
    "probability_models": ("logistic",),
    "quick": True,
    "n_jobs": 1,
    "cold_start": False,
}


@pytest.fixture(scope="module")
def parted(small_data_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("parted")
    return open_partitioned(write_partitioned(read_tables(small_data_dir), folder, n_parts=3))


def test_in_memory_sample_is_a_hash_sample_with_all_its_rows(small_data):
    subset, sample = training_data(small_data, 100)
    n = len(small_data.customers)
    assert sample.of == n and sample.buckets == BUCKETS * 100 // n
    ids = subset.customers.index.to_numpy()
    assert sample.customers == len(ids) and 50 < len(ids) < 150
    everyone = small_data.customers.index.to_numpy()
    chosen = everyone[partition_of(everyone, BUCKETS) < sample.buckets]
    assert sorted(ids) == sorted(chosen)
    assert set(subset.transactions["customer_id"]) <= set(ids)
    mine = small_data.transactions[small_data.transactions["customer_id"].isin(ids)]
    assert len(subset.transactions) == len(mine)  # every row of the chosen customers
    assert len(subset.lines) == small_data.lines["customer_id"].isin(ids).sum()


def test_no_sample_below_the_limit(small_data):
    same, sample = training_data(small_data, len(small_data.customers))
    assert same is small_data and sample is None
    assert training_data(small_data, None) == (small_data, None)


def test_partitioned_data_gives_the_same_sample(small_data, parted):
    in_memory, a = training_data(small_data, 120)
    from_parts, b = training_data(parted, 120)
    assert a == b
    assert sorted(in_memory.customers.index) == sorted(from_parts.customers.index)
    key = ["customer_id", "transaction_id"]
    pd.testing.assert_frame_equal(
        in_memory.transactions.sort_values(key).reset_index(drop=True),
        from_parts.transactions.sort_values(key).reset_index(drop=True),
        check_like=True,
    )


def test_fit_on_a_sample_records_it_and_scores_everyone(small_data):
    model = CLVModel(**FAST, max_customers=150).fit(small_data)
    sample = model.info_["training_sample"]
    assert sample["of"] == len(small_data.customers) and sample["customers"] < 200
    assert "hash bucket" in sample["rule"]
    # the default date is the whole data's, not the sample's last purchase
    assert model.info_["default_as_of"] == f"{small_data.last_date + pd.Timedelta(days=1):%Y-%m-%d}"
    scores = model.predict(small_data, reasons=False)
    bought = small_data.transactions["customer_id"].nunique()
    assert len(scores) == bought > sample["customers"]
    assert np.isfinite(scores["predicted_total"]).all()
    whole = CLVModel(**FAST, max_customers=None).fit(small_data)
    assert whole.info_["training_sample"] is None


@pytest.mark.parametrize("value", [0, -5, 2.5, True, "many"])
def test_max_customers_is_validated_before_reading(value):
    class Untouchable:
        def __getattr__(self, name):
            raise AssertionError("the data was read before the parameters were checked")

    message = (
        r"'max_customers' parameter of CLVModel must be an int in the range \[1, inf\) or None"
    )
    with pytest.raises(ValueError, match=message):
        CLVModel(max_customers=value).fit(Untouchable())
