"""Short logs: weekly cutoffs when monthly ones do not fit, BG/NBD alone below that, and one
message under 60 days."""

import numpy as np
import pandas as pd
import pytest

from clvmodel.features import as_of_data, plan_cutoffs
from clvmodel.model import CLVModel


def _cut(data, days):
    return as_of_data(data, data.first_date + pd.Timedelta(days=days))


def test_the_plan_by_length(small_data):
    assert plan_cutoffs(small_data).kind == "monthly"
    four = plan_cutoffs(_cut(small_data, 120))
    assert four.kind == "weekly" and "120 days" in four.note
    *train, validation, test = four.cutoffs
    assert test - validation == pd.Timedelta(days=30)  # validation and test do not overlap
    assert all(c <= validation - pd.Timedelta(days=7) for c in train) and train
    assert np.all(np.diff(train) == pd.Timedelta(weeks=1))
    assert plan_cutoffs(_cut(small_data, 60)).kind == "bgnbd"
    with pytest.raises(ValueError, match=r"cover 50 days .*at least 60 days are needed"):
        plan_cutoffs(_cut(small_data, 50))


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("days", [60, 120])
def test_a_short_log_forecasts_and_says_how(small_data, days, tmp_path):
    data = _cut(small_data, days)
    model = CLVModel(quick=True, probability_models=("lightgbm",)).fit(data)
    plan = model.info_["cutoff_plan"]
    assert plan["kind"] == ("bgnbd" if days == 60 else "weekly")
    scores = model.predict(data, reasons=False)
    assert scores["predicted_total"].notna().all() and (scores["predicted_total"] >= 0).all()
    assert scores["purchase_probability"].between(0, 1).all()
    assert np.isfinite(model.report_.targets["total"].served["r2"])
    loaded = CLVModel.load(model.save(tmp_path / "m"))
    pd.testing.assert_frame_equal(loaded.predict(data, reasons=False), scores)
    from clvmodel.card import make_card

    assert "### A short log" in make_card(loaded.report_, loaded.metadata_)
