"""The committed artifacts load with trusted types only and match today's features."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio

from clvmodel.dataset import load_data
from clvmodel.features import FeatureConfig
from clvmodel.model import CLVModel
from clvmodel.persistence import TRUSTED_TYPES, load_json

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"


@pytest.fixture(scope="module")
def metadata() -> dict:
    if not (ARTIFACTS / "metadata.json").exists():
        pytest.fail("artifacts/ is missing: run `python train.py` and commit artifacts/")
    return load_json(ARTIFACTS / "metadata.json")


def test_committed_artifacts_load_and_match_the_feature_list(metadata):
    model = CLVModel.load(ARTIFACTS)  # raises when the feature list is stale
    assert model.feature_names_ == FeatureConfig.from_dict(metadata["feature_config"]).feature_names
    assert set(model.bundles_) == set(model.feature_config_.targets)


def test_committed_models_use_reviewed_types_only(metadata):
    for spec in metadata["targets"].values():
        untrusted = set(sio.get_untrusted_types(file=ARTIFACTS / spec["file"]))
        assert untrusted <= set(TRUSTED_TYPES), spec["file"]


def test_model_card_was_written_by_the_same_run(metadata):
    card = (ROOT / "model_card.md").read_text()
    assert metadata["model_version"] in card


@pytest.fixture(scope="module")
def saved_and_served(repo_model) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``artifacts/scores.parquet`` (what ``train.py`` saved: ``CustomerScorer.scores()``,
    reasons included) and today's ``predict`` of ``data/`` in the same form."""
    saved = pd.read_parquet(ARTIFACTS / "scores.parquet")
    served = repo_model.predict(load_data(ROOT / "data")).set_index("customer_id")
    assert (served.pop("as_of") == "2026-10-01").all()
    return saved, served


def test_committed_artifacts_score_the_committed_data_as_saved(saved_and_served):
    saved, served = saved_and_served
    assert served.index.equals(saved.index)
    assert list(served.columns) == list(saved.columns)
    for column in saved.columns:
        if saved[column].dtype.kind == "f":
            np.testing.assert_allclose(served[column], saved[column], rtol=0, atol=1e-12,
                                       err_msg=column)  # fmt: skip
        else:
            assert served[column].astype(saved[column].dtype).equals(saved[column]), column
