"""The committed artifacts load with trusted types only and match today's features."""

from pathlib import Path

import pytest
import skops.io as sio

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
