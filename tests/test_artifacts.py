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


def test_committed_metrics_are_reproduced_by_predict_on_the_test_cutoff(repo_model):
    """metrics.json's served figures are what CLVModel.predict_features gives today."""
    from clvmodel.dataset import load_data
    from clvmodel.evaluation import probability_metrics, spend_metrics
    from clvmodel.features import build_features, build_targets
    from clvmodel.model import PROBABILITY

    data = load_data(ROOT / "data")
    day = repo_model.report_.cutoffs["test"]
    x = build_features(data, day, repo_model.feature_config_)
    y = build_targets(data, day, repo_model.feature_config_, x.index)
    served = repo_model.predict_features(x, reasons=False)
    for target, report in repo_model.report_.targets.items():
        truth = y[f"target_{target}"].to_numpy()
        if report.kind == "probability":
            got = probability_metrics(truth, served[PROBABILITY])
        else:
            got = spend_metrics(truth, served[f"predicted_{target}"])
        for key, value in got.items():
            assert value == pytest.approx(report.served[key], rel=1e-9, nan_ok=True), (target, key)
