import json
import re
import shutil
import zipfile

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
import xgboost as xgb
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from clvmodel.persistence import (
    TRUSTED_TYPES,
    UntrustedArtifactError,
    file_fingerprint,
    folder_fingerprint,
    load_json,
    load_model,
    load_scores,
    save_json,
    save_model,
    save_scores,
    tree_fingerprint,
)
from clvmodel.training import BGNBDOnly, BGNBDPurchase, ShareOfTotal

ALLOWED_PREFIXES = (
    "clvmodel.training.",
    "collections.",
    "lightgbm.",
    "numpy.",
    "sklearn.",
    "xgboost.",
)


# ---------------------------------------------------------------- tiny data


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    X[rng.random(X.shape) < 0.05] = np.nan
    spend = np.abs(rng.normal(size=200)) * (rng.random(200) < 0.6)
    bought = (spend > 0).astype(int)
    return X, spend, bought


X, Y_REG, Y_CLF = _data()
X_ISO = np.nan_to_num(X[:, 0])


def _linear(est):
    return Pipeline(
        [
            ("impute", SimpleImputer()),
            ("asinh", FunctionTransformer(np.arcsinh)),
            ("scale", StandardScaler()),
            ("est", est),
        ]
    )


def _lgbm_clf():
    return lgb.LGBMClassifier(n_estimators=5, n_jobs=1, verbose=-1, random_state=0)


def _xgb_clf():
    return xgb.XGBClassifier(n_estimators=5, n_jobs=1, random_state=0)


def _calibrated(base):
    base.fit(X, Y_CLF)
    return CalibratedClassifierCV(FrozenEstimator(base), method="isotonic")


# name -> (unfitted estimator factory, target); the names are the test ids.
ESTIMATORS = {
    "ridge-pipeline": (lambda: _linear(Ridge()), Y_REG),
    "logistic-pipeline": (lambda: _linear(LogisticRegression()), Y_CLF),
    "random-forest-regressor": (
        lambda: RandomForestRegressor(n_estimators=5, n_jobs=1, random_state=0),
        Y_REG,
    ),
    "random-forest-classifier": (
        lambda: RandomForestClassifier(n_estimators=5, n_jobs=1, random_state=0),
        Y_CLF,
    ),
    "xgb-squarederror": (
        lambda: xgb.XGBRegressor(
            objective="reg:squarederror", n_estimators=5, n_jobs=1, random_state=0
        ),
        Y_REG,
    ),
    "xgb-tweedie": (
        lambda: xgb.XGBRegressor(objective="reg:tweedie", n_estimators=5, n_jobs=1, random_state=0),
        Y_REG,
    ),
    "xgb-classifier": (_xgb_clf, Y_CLF),
    "lgbm-regression": (
        lambda: lgb.LGBMRegressor(objective="regression", n_estimators=5, n_jobs=1, verbose=-1),
        Y_REG,
    ),
    "lgbm-tweedie": (
        lambda: lgb.LGBMRegressor(objective="tweedie", n_estimators=5, n_jobs=1, verbose=-1),
        Y_REG,
    ),
    "lgbm-quantile-0.1": (
        lambda: lgb.LGBMRegressor(
            objective="quantile", alpha=0.1, n_estimators=5, n_jobs=1, verbose=-1
        ),
        Y_REG,
    ),
    "lgbm-classifier": (_lgbm_clf, Y_CLF),
    "calibrated-lgbm": (lambda: _calibrated(_lgbm_clf()), Y_CLF),
    "calibrated-xgb": (lambda: _calibrated(_xgb_clf()), Y_CLF),
    "calibrated-logistic-pipeline": (
        lambda: _calibrated(_linear(LogisticRegression())),
        Y_CLF,
    ),
    "isotonic": (lambda: IsotonicRegression(out_of_bounds="clip"), Y_REG),
}


def _inputs(name):
    return X_ISO if name == "isotonic" else X


@pytest.fixture(scope="module")
def fitted():
    """Every supported estimator, fitted once for the whole module."""
    return {name: factory().fit(_inputs(name), y) for name, (factory, y) in ESTIMATORS.items()}


def _assert_same_predictions(original, loaded, inputs):
    np.testing.assert_array_equal(loaded.predict(inputs), original.predict(inputs))
    if hasattr(original, "predict_proba"):
        np.testing.assert_array_equal(loaded.predict_proba(inputs), original.predict_proba(inputs))


class _Untrusted:
    """A type skops has never heard of."""

    def __init__(self):
        self.value = 1


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_round_trip_gives_identical_predictions(fitted, name, tmp_path):
    est = fitted[name]
    path = save_model(est, tmp_path / f"{name}.skops")
    loaded = load_model(path)
    assert type(loaded) is type(est)
    _assert_same_predictions(est, loaded, _inputs(name))


def test_bundle_round_trips_with_none_values(fitted, tmp_path):
    bundles = {
        "point-only": {"model": fitted["lgbm-tweedie"], "lower": None, "upper": None},
        "with-interval": {
            "model": fitted["lgbm-regression"],
            "lower": fitted["lgbm-quantile-0.1"],
            "upper": fitted["xgb-squarederror"],
        },
    }
    for name, bundle in bundles.items():
        loaded = load_model(save_model(bundle, tmp_path / f"{name}.skops"))
        assert type(loaded) is dict
        assert list(loaded) == ["model", "lower", "upper"]
        for key, est in bundle.items():
            if est is None:
                assert loaded[key] is None
            else:
                _assert_same_predictions(est, loaded[key], X)


def test_save_model_creates_parents_and_returns_path(fitted, tmp_path):
    target = tmp_path / "a" / "b" / "model.skops"
    out = save_model(fitted["ridge-pipeline"], str(target))
    assert out == target
    assert target.is_file()
    assert zipfile.is_zipfile(target)
    assert sorted(p.name for p in target.parent.iterdir()) == ["model.skops"]


# ---------------------------------------------------------------- the reviewed list


def test_trusted_types_is_short_sorted_and_reviewed():
    assert isinstance(TRUSTED_TYPES, tuple)
    assert list(TRUSTED_TYPES) == sorted(TRUSTED_TYPES)
    assert len(set(TRUSTED_TYPES)) == len(TRUSTED_TYPES)
    assert len(TRUSTED_TYPES) <= 14
    for name in TRUSTED_TYPES:
        assert name.startswith(ALLOWED_PREFIXES), name


def test_trusted_types_are_exactly_what_the_supported_models_need(fitted):
    needed = set()
    share = {
        "share-of-total": ShareOfTotal("share_toys", "2 buyer(s) in the training rows"),
        "bgnbd-only": BGNBDOnly("the log is short"),
        "bgnbd-purchase": BGNBDPurchase([0.5, 10.0, 1.0, 2.0], 30, ["txn_count_lifetime"]),
    }
    for name, est in {**fitted, **share}.items():
        untrusted = set(sio.get_untrusted_types(data=sio.dumps(est)))
        assert untrusted <= set(TRUSTED_TYPES), (name, untrusted - set(TRUSTED_TYPES))
        needed |= untrusted
    # Nothing on the list that no supported model needs.
    assert needed == set(TRUSTED_TYPES)


def test_share_of_total_round_trips(tmp_path):
    model = ShareOfTotal("share_toys", "2 buyer(s) in the training rows")
    loaded = load_model(save_model({"model": model, "level": 1.0}, tmp_path / "s.skops"))["model"]
    assert vars(loaded) == vars(model)
    x = pd.DataFrame({"share_toys": [0.0, 0.25, 1.5]})
    np.testing.assert_array_equal(loaded.predict(x, np.array([10.0, 8.0, 2.0])), [0.0, 2.0, 2.0])


def test_load_model_passes_the_reviewed_list_never_true(fitted, tmp_path, monkeypatch):
    path = save_model(fitted["lgbm-classifier"], tmp_path / "m.skops")
    seen = []
    real_load = sio.load

    def spy(file, trusted=None):
        seen.append(trusted)
        return real_load(file, trusted=trusted)

    monkeypatch.setattr(sio, "load", spy)
    load_model(path)
    assert len(seen) == 1
    assert type(seen[0]) is list
    assert seen[0] == list(TRUSTED_TYPES)


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("make", "type_name"),
    [
        (_Untrusted, "_Untrusted"),
        (lambda: KNeighborsRegressor(algorithm="kd_tree").fit(np.nan_to_num(X), Y_REG), "KDTree"),
    ],
    ids=["custom-class", "kneighbors"],
)
def test_load_model_refuses_untrusted_types(make, type_name, tmp_path, monkeypatch):
    path = tmp_path / "evil.skops"
    sio.dump(make(), path)

    def must_not_load(*args, **kwargs):
        raise AssertionError("skops.io.load must not be reached for an untrusted file")

    monkeypatch.setattr(sio, "load", must_not_load)
    with pytest.raises(UntrustedArtifactError, match=re.escape(type_name)) as info:
        load_model(path)
    message = str(info.value)
    assert str(path) in message
    assert "not on clvmodel's reviewed list" in message
    assert "clvmodel.persistence.TRUSTED_TYPES" in message
    assert isinstance(info.value, ValueError)


def test_save_model_refuses_untrusted_types_and_writes_nothing(tmp_path):
    path = tmp_path / "evil.skops"
    with pytest.raises(UntrustedArtifactError, match="_Untrusted"):
        save_model({"model": _Untrusted(), "lower": None}, path)
    assert list(tmp_path.iterdir()) == []


def _zip_without_schema(path):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "not a model")


@pytest.mark.parametrize(
    "write",
    [
        lambda p: p.write_bytes(b"hello"),
        lambda p: p.write_bytes(b""),
        _zip_without_schema,
    ],
    ids=["hello-bytes", "empty-file", "zip-without-schema"],
)
def test_load_model_rejects_a_file_that_is_not_a_skops_archive(write, tmp_path):
    path = tmp_path / "model.skops"
    write(path)
    with pytest.raises(ValueError, match=re.escape(str(path))) as info:
        load_model(path)
    assert not isinstance(info.value, UntrustedArtifactError)


def test_load_model_missing_file(tmp_path):
    path = tmp_path / "nope.skops"
    with pytest.raises(FileNotFoundError, match=re.escape(str(path))):
        load_model(path)


# ---------------------------------------------------------------- json


def test_save_json_converts_numpy_pandas_and_nan(tmp_path):
    meta = {
        "n_rows": np.int64(1200),
        "mae": np.float32(0.5),
        "r2": np.nan,
        "gini": np.float64(np.inf),
        "ok": np.bool_(True),
        "cutoff": pd.Timestamp("2024-06-30"),
        "deciles": np.array([1.5, np.nan, 3.0]),
        "nested": {"when": pd.Timestamp("2024-06-30 12:30"), "missing": pd.NaT},
        "tuple": (1, np.int32(2)),
    }
    path = save_json(meta, tmp_path / "sub" / "meta.json")
    assert path == tmp_path / "sub" / "meta.json"
    text = path.read_text(encoding="utf-8")
    assert "NaN" not in text
    assert "Infinity" not in text
    assert '\n  "n_rows": 1200,' in text  # indent=2
    loaded = json.loads(text)
    assert loaded == {
        "n_rows": 1200,
        "mae": 0.5,
        "r2": None,
        "gini": None,
        "ok": True,
        "cutoff": "2024-06-30T00:00:00",
        "deciles": [1.5, None, 3.0],
        "nested": {"when": "2024-06-30T12:30:00", "missing": None},
        "tuple": [1, 2],
    }
    assert list(loaded) == list(meta)  # key order kept, not sorted
    assert pd.Timestamp(loaded["cutoff"]) == meta["cutoff"]
    assert load_json(path) == loaded


def test_save_json_refuses_objects_without_a_json_form(tmp_path):
    with pytest.raises(TypeError, match=r"object \(at \$\.bad\)"):
        save_json({"bad": object()}, tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()


def test_load_json_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "nope.json"))):
        load_json(tmp_path / "nope.json")
    not_strict = tmp_path / "nan.json"
    not_strict.write_text('{"a": NaN}', encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(str(not_strict))):
        load_json(not_strict)
    top_list = tmp_path / "list.json"
    top_list.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ValueError, match="JSON object"):
        load_json(top_list)


# ---------------------------------------------------------------- fingerprint


def _write(folder, name, data):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def test_file_fingerprint(tmp_path):
    a = _write(tmp_path / "one", "tx.csv", b"customer_id,amount\n1,10.0\n")
    b = _write(tmp_path / "one", "extra.csv", b"x\n1\n")
    a2 = _write(tmp_path / "two", "tx.csv", b"customer_id,amount\n1,10.0\n")
    b2 = _write(tmp_path / "two", "extra.csv", b"x\n1\n")

    fp = file_fingerprint([a, b])
    assert re.fullmatch(r"[0-9a-f]{16}", fp)
    assert file_fingerprint([b, a]) == fp  # order of paths is irrelevant
    assert file_fingerprint([str(a2), str(b2)]) == fp  # same names and bytes elsewhere
    assert file_fingerprint(a) == file_fingerprint([a])
    assert file_fingerprint([a]) != fp

    a2.write_bytes(b"customer_id,amount\n1,10.1\n")  # one byte changed
    assert file_fingerprint([a2, b2]) != fp
    renamed = _write(tmp_path / "three", "tx_renamed.csv", a.read_bytes())
    assert file_fingerprint([renamed, b]) != fp


def test_file_fingerprint_errors(tmp_path):
    with pytest.raises(ValueError, match="at least one file"):
        file_fingerprint([])
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "missing.csv"))):
        file_fingerprint([tmp_path / "missing.csv"])


def test_tree_fingerprint_sees_files_by_their_place_in_the_tree(tmp_path):
    root = tmp_path / "data"
    for table, value in (("a", 1.0), ("b", 2.0)):
        (root / table).mkdir(parents=True)
        pd.DataFrame({"x": [value]}).to_parquet(root / table / "part-0.parquet")
    _write(root, "_layout.json", b'{"n_parts": 1}')
    _write(root, "notes.parquet", b"not parquet")  # no footer: hashed whole
    fp = tree_fingerprint(root)
    assert re.fullmatch(r"[0-9a-f]{16}", fp)
    assert tree_fingerprint(shutil.copytree(root, tmp_path / "elsewhere")) == fp

    (root / "a" / "part-0.parquet").rename(root / "part-0.parquet")  # parts swapped
    (root / "b" / "part-0.parquet").rename(root / "a" / "part-0.parquet")
    (root / "part-0.parquet").rename(root / "b" / "part-0.parquet")
    assert tree_fingerprint(root) != fp
    for i, (name, text) in enumerate(
        (("_layout.json", b'{"n_parts": 2}'), ("notes.parquet", b"not parquez"))
    ):
        other = shutil.copytree(tmp_path / "elsewhere", tmp_path / f"edited{i}")
        _write(other, name, text)
        assert tree_fingerprint(other) != fp, name
    with pytest.raises(ValueError, match="no files"):
        tree_fingerprint(tmp_path / "elsewhere" / "nothing")


def test_saved_scores_load_only_for_the_same_day_and_data(tmp_path):
    scores = pd.DataFrame(
        {"predicted_total": [1.5, 0.0], "reason_1": ["↑ a", ""], "cold_start": [False, True]},
        index=pd.Index(["007", "C2"], name="customer_id"),
    )
    save_scores(scores, tmp_path, as_of="2026-10-01", data_fingerprint="abc")
    back = load_scores(tmp_path, as_of="2026-10-01", data_fingerprint="abc")
    pd.testing.assert_frame_equal(back, scores, check_dtype=False)
    assert list(back.index) == ["007", "C2"]  # IDs stay text
    assert load_scores(tmp_path, as_of="2026-09-30", data_fingerprint="abc") is None
    assert load_scores(tmp_path, as_of="2026-10-01", data_fingerprint="other") is None
    assert load_scores(tmp_path / "none", as_of="2026-10-01", data_fingerprint="abc") is None


def test_folder_fingerprint_follows_the_files_not_the_folder(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "t.csv").write_text("x\n1\n")
    assert folder_fingerprint(tmp_path / "a") == folder_fingerprint(tmp_path / "b")
    (tmp_path / "b" / "t.csv").write_text("x\n2\n")
    assert folder_fingerprint(tmp_path / "a") != folder_fingerprint(tmp_path / "b")
