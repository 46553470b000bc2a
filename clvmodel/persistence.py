"""Save and load models with skops, and metadata as strict JSON.

Models are written with :func:`skops.io.dump` and read back with
:func:`skops.io.load` and an explicit, reviewed list of trusted types
(:data:`TRUSTED_TYPES`). Nothing here uses pickle or joblib, and nothing
trusts whatever a file happens to contain: a file holding a type that is not
on the list is refused with :class:`UntrustedArtifactError`.

What gets saved per prediction target is a plain dict bundle such as
``{"model": est, "lower": est_or_None, "upper": est_or_None}``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import skops.io as sio

from clvmodel.features import FeatureConfig
from clvmodel.report import FitReport

__all__ = [
    "TRUSTED_TYPES",
    "UntrustedArtifactError",
    "file_fingerprint",
    "folder_fingerprint",
    "load_fitted",
    "load_json",
    "load_model",
    "load_scores",
    "load_summary",
    "save_fitted",
    "save_json",
    "save_model",
    "save_scores",
    "save_summary",
    "tree_fingerprint",
]

# Types that skops 0.16 does not trust by default but that our own models need.
# Built by dumping each supported estimator and reading get_untrusted_types()
# (see tests/test_persistence.py, which round-trips every one of them).
# Everything else (sklearn estimators, FrozenEstimator, IsotonicRegression, numpy
# arrays and ufuncs such as np.arcsinh, dict/list/None) is trusted by skops itself.
# Keep it sorted; review every addition.
TRUSTED_TYPES: tuple[str, ...] = (
    # A log too short for boosters (BG/NBD's four numbers), a category predicted from its
    # share of the total (two strings): data only, no code.
    "clvmodel.training.BGNBDOnly",
    "clvmodel.training.BGNBDPurchase",
    "clvmodel.training.ShareOfTotal",
    # LightGBM (LGBMRegressor with any objective, LGBMClassifier, and the
    # calibrated LGBMClassifier): OrderedDict appears only as the type object that
    # is the default_factory of the defaultdicts in `best_score_`, plus the
    # wrappers and the Booster, which skops rebuilds from LightGBM's model string.
    "collections.OrderedDict",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
    "lightgbm.sklearn.LGBMRegressor",
    # Linear pipelines (SimpleImputer -> arcsinh -> StandardScaler -> Ridge or
    # LogisticRegression, also inside CalibratedClassifierCV): SimpleImputer
    # stores the fitted dtype in `_fit_dtype`.
    "numpy.dtype",
    # CalibratedClassifierCV (isotonic, around FrozenEstimator of any classifier):
    # the private per-class calibrator holder.
    "sklearn.calibration._CalibratedClassifier",
    # RandomForestRegressor / RandomForestClassifier. skops 0.16 deliberately does
    # not trust Tree: its node indices are used without bounds checks, so a crafted
    # file can crash predict(). Acceptable only because we load our own artifacts.
    "sklearn.tree._tree.Tree",
    # XGBoost (XGBRegressor squarederror/tweedie, XGBClassifier, and the calibrated
    # XGBClassifier): the wrappers and the Booster.
    "xgboost.core.Booster",
    "xgboost.sklearn.XGBClassifier",
    "xgboost.sklearn.XGBRegressor",
)

_SKOPS_COMPRESSION = zipfile.ZIP_DEFLATED


class UntrustedArtifactError(ValueError):
    """A model file (or object) holds types that are not in :data:`TRUSTED_TYPES`."""


def _untrusted_message(what: str, types: list[str]) -> str:
    return (
        f"{what} contains types that are not on clvmodel's reviewed list: {types}. "
        "Only load artifacts you produced with train.py; if you added a model type, "
        "review it and add it to clvmodel.persistence.TRUSTED_TYPES."
    )


def _not_on_list(untrusted: Iterable[str]) -> list[str]:
    return sorted(set(untrusted) - set(TRUSTED_TYPES))


def _write_atomic(data: bytes, path: Path) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _require_file(path: Path, what: str) -> None:
    if not path.exists():
        raise FileNotFoundError(f"No {what} file at {path}.")
    if not path.is_file():
        raise ValueError(f"Expected the path of a {what} file, got {path}, which is not a file.")


def save_model(obj: Any, path: str | os.PathLike[str]) -> Path:
    """Save a fitted model (or a dict bundle of models) with skops.

    The object is serialized with :func:`skops.io.dumps`, checked against
    :data:`TRUSTED_TYPES` so that an artifact :func:`load_model` would refuse is
    never written, then written atomically. Parent folders are created.

    Parameters
    ----------
    obj : object
        A fitted estimator, or a dict such as
        ``{"model": est, "lower": est_or_None, "upper": est_or_None}``.
    path : str or path-like
        Destination, conventionally ending in ``.skops``. Overwritten if present.

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    UntrustedArtifactError
        If ``obj`` holds a type outside :data:`TRUSTED_TYPES`; nothing is written.

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> import tempfile, pathlib
    >>> model = Ridge().fit([[0.0], [1.0]], [0.0, 1.0])
    >>> out = save_model(model, pathlib.Path(tempfile.mkdtemp()) / "m.skops")
    >>> load_model(out).predict([[2.0]]).round(3).tolist()
    [1.0]
    """
    path = Path(path)
    data = sio.dumps(obj, compression=_SKOPS_COMPRESSION)
    bad = _not_on_list(sio.get_untrusted_types(data=data))
    if bad:
        raise UntrustedArtifactError(
            _untrusted_message(f"The {type(obj).__name__} to be saved to {path}", bad)
        )
    _write_atomic(data, path)
    return path


def load_model(path: str | os.PathLike[str]) -> Any:
    """Load a model saved by :func:`save_model`, trusting only :data:`TRUSTED_TYPES`.

    The types in the file are listed first with
    :func:`skops.io.get_untrusted_types` and compared with the reviewed constant;
    then :func:`skops.io.load` is called with ``trusted=list(TRUSTED_TYPES)``
    (never ``trusted=True``, never the list read from the file), so skops checks
    the types again while loading.

    Parameters
    ----------
    path : str or path-like
        A ``.skops`` file written by :func:`save_model`.

    Returns
    -------
    object
        The estimator or dict bundle that was saved.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``path`` is not a skops archive.
    UntrustedArtifactError
        If the file holds types outside :data:`TRUSTED_TYPES`.
    """
    path = Path(path)
    _require_file(path, "model")
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ValueError(
            f"{path} is not a skops model archive ({type(exc).__name__}: {exc}). "
            "Expected a .skops file written by clvmodel.persistence.save_model."
        ) from exc
    bad = _not_on_list(untrusted)
    if bad:
        raise UntrustedArtifactError(_untrusted_message(str(path), bad))
    try:
        return sio.load(path, trusted=list(TRUSTED_TYPES))
    except (zipfile.BadZipFile, KeyError) as exc:
        raise ValueError(
            f"{path} is a damaged skops model archive ({type(exc).__name__}: {exc}). "
            "Re-create it with train.py."
        ) from exc


def _json_key(key: Any, where: str) -> str | int | float | bool | None:
    value = _to_jsonable(key, where)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"save_json cannot use a {type(key).__name__} as a JSON key at {where}.")


def _to_jsonable(obj: Any, where: str = "$") -> Any:
    """Convert ``obj`` to plain JSON types; NaN, inf and missing values become None."""
    if obj is None or isinstance(obj, str | bool):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return _to_jsonable(float(obj), where)
    if obj is pd.NaT or obj is pd.NA:
        return None
    if isinstance(obj, np.datetime64):
        return _to_jsonable(pd.Timestamp(obj), where)
    if isinstance(obj, np.timedelta64):
        return _to_jsonable(pd.Timedelta(obj), where)
    if isinstance(obj, _dt.datetime | _dt.date | _dt.time | pd.Timedelta):
        # pd.Timestamp is a datetime subclass; Timedelta.isoformat() gives "P1DT0H0M0S".
        return obj.isoformat()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, np.ndarray):
        return [_to_jsonable(v, f"{where}[{i}]") for i, v in enumerate(obj.tolist())]
    if isinstance(obj, Mapping):
        out = {}
        for key, value in obj.items():
            out[_json_key(key, where)] = _to_jsonable(value, f"{where}.{key}")
        return out
    if isinstance(obj, list | tuple):
        return [_to_jsonable(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    raise TypeError(
        f"save_json cannot store a {type(obj).__name__} (at {where}). Expected dicts, "
        "lists, tuples, str, numbers, bool, None, numpy scalars or arrays, "
        "pandas/datetime timestamps, or paths; convert it first."
    )


def save_json(obj: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``obj`` as strict JSON (indent 2, key order kept).

    numpy scalars and arrays become Python numbers and lists, timestamps
    (``pd.Timestamp``, ``datetime``, ``np.datetime64``) become ISO 8601 strings
    via ``isoformat()`` (e.g. ``"2024-06-30T00:00:00"``), paths become strings,
    and NaN, ±inf, ``pd.NaT`` and ``pd.NA`` become ``null``. Parent folders
    are created and the file is written atomically.

    Parameters
    ----------
    obj : object
        Usually a dict of metadata or metrics.
    path : str or path-like
        Destination ``.json`` file. Overwritten if present.

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    TypeError
        If ``obj`` holds a value that has no JSON form; the message says where.

    Examples
    --------
    >>> import numpy as np, pandas as pd, tempfile, pathlib
    >>> out = save_json({"mae": np.float32(0.5), "r2": np.nan,
    ...                  "cutoff": pd.Timestamp("2024-06-30")},
    ...                 pathlib.Path(tempfile.mkdtemp()) / "meta.json")
    >>> load_json(out)
    {'mae': 0.5, 'r2': None, 'cutoff': '2024-06-30T00:00:00'}
    """
    path = Path(path)
    text = json.dumps(
        _to_jsonable(obj), indent=2, sort_keys=False, allow_nan=False, ensure_ascii=False
    )
    _write_atomic((text + "\n").encode("utf-8"), path)
    return path


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def load_json(path: str | os.PathLike[str]) -> dict:
    """Read a JSON object written by :func:`save_json`.

    Parameters
    ----------
    path : str or path-like
        A ``.json`` file whose top level is an object.

    Returns
    -------
    dict

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not strict JSON (``NaN`` and ``Infinity`` are refused) or
        its top level is not an object.
    """
    path = Path(path)
    _require_file(path, "JSON")
    try:
        data = json.loads(path.read_text(encoding="utf-8"), parse_constant=_reject_constant)
    except ValueError as exc:  # includes JSONDecodeError and UnicodeDecodeError
        raise ValueError(f"{path} is not a valid JSON file: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(
            f"{path} must hold a JSON object at the top level, got {type(data).__name__}."
        )
    return data


def file_fingerprint(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> str:
    """Return a short SHA-256 fingerprint of some files' names and contents.

    Each file contributes its base name and its bytes; files are sorted first,
    so the order of ``paths`` does not matter, and the folder they live in does
    not either. Used as the data fingerprint in model metadata.

    Parameters
    ----------
    paths : path or iterable of paths
        One file or several files.

    Returns
    -------
    str
        The first 16 hex characters of the SHA-256 digest.

    Raises
    ------
    ValueError
        If ``paths`` is empty or one of them is not a file.
    FileNotFoundError
        If one of the files does not exist.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    entries = []
    for p in paths:
        p = Path(p)
        _require_file(p, "data")
        with p.open("rb") as f:
            entries.append((p.name, _content_digest(f)))
    if not entries:
        raise ValueError("The 'paths' argument of file_fingerprint must name at least one file.")
    return _combine(entries)


def _content_digest(f: BinaryIO) -> bytes:
    """SHA-256 of a file's whole content, read in 1 MiB chunks."""
    content = hashlib.sha256()
    for chunk in iter(lambda: f.read(1 << 20), b""):
        content.update(chunk)
    return content.digest()


def _combine(entries: list[tuple[str, bytes]]) -> str:
    """The fingerprint of (name, digest) pairs, in sorted order."""
    total = hashlib.sha256()
    for name, digest in sorted(entries):
        encoded = name.encode("utf-8")
        total.update(len(encoded).to_bytes(8, "big") + encoded + digest)
    return total.hexdigest()[:16]


MODELS_DIR = "models"
METADATA_FILE = "metadata.json"
METRICS_FILE = "metrics.json"


def write_artifacts(
    folder: str | os.PathLike[str], bundles: dict[str, dict], metadata: dict, metrics: dict
) -> dict:
    """Write one skops file per target plus ``metadata.json`` and ``metrics.json``.

    ``metadata["targets"][target]["file"]`` records where each bundle went, relative to
    `folder`, so readers never guess file names. Returns the metadata as written.
    """
    folder = Path(folder)
    metadata = dict(metadata)
    targets = dict(metadata.get("targets", {}))
    for target, bundle in bundles.items():
        rel = f"{MODELS_DIR}/{target}.skops"
        save_model(bundle, folder / rel)
        targets[target] = {**targets.get(target, {}), "file": rel}
    metadata["targets"] = targets
    save_json(metadata, folder / METADATA_FILE)
    save_json(metrics, folder / METRICS_FILE)
    return metadata


def read_artifacts(folder: str | os.PathLike[str]) -> tuple[dict[str, dict], dict]:
    """Load every target's bundle (trusted types only) and the metadata of `folder`."""
    folder = Path(folder)
    _require_file(folder / METADATA_FILE, "artifact metadata")
    metadata = load_json(folder / METADATA_FILE)
    bundles = {t: load_model(folder / spec["file"]) for t, spec in metadata["targets"].items()}
    return bundles, metadata


def save_fitted(model: Any, folder: str | os.PathLike[str], metadata: dict | None = None) -> Path:
    """Write a fitted :class:`clvmodel.CLVModel` to `folder` (:func:`write_artifacts`): one
    skops file per target (and the cold-start part), its parameters and fitted scalars in
    ``metadata.json`` beside `metadata`, its report as ``metrics.json``."""
    bundles = dict(model.bundles_)
    if model.cold_ is not None:
        bundles["cold_start"] = model.cold_
    report = model.report_
    fitted = {
        "config_id": model.config_id(),
        "params": model.model_params(),
        "feature_names": model.feature_names_,
        "feature_config": model.feature_config_.to_dict(),
        "sigma": model.sigma_,
        "cold_sigma": model.cold_sigma_,
        "shared_error": model.shared_error_,
        "typical_features": model.typical_.round(4).to_dict(),
        "horizon_days": model.feature_config_.horizon,
        "default_as_of": model.info_.get("default_as_of"),
        "cutoffs": model.info_.get("cutoffs"),
        "info": model.info_,
        "targets": {
            t: {"model": report.targets[t].chosen, "kind": report.targets[t].kind}
            for t in model.bundles_
        },
    }
    write_artifacts(folder, bundles, {**(metadata or {}), **fitted}, report.to_dict())
    return Path(folder)


def load_fitted(cls: type, folder: str | os.PathLike[str]) -> Any:
    """The model :func:`save_fitted` wrote, as an instance of `cls` (checked: the feature
    list this version builds, every target's model, the configuration id)."""
    bundles, metadata = read_artifacts(folder)
    if "params" not in metadata or "sigma" not in metadata:
        raise ValueError(
            f"{folder} holds artifacts of an older clvmodel (no model parameters or "
            "spread). Retrain with `python train.py`."
        )
    model = cls(**_params_from_json(metadata["params"]))
    config = FeatureConfig.from_dict(metadata["feature_config"])
    names = list(metadata["feature_names"])
    if names != config.feature_names:
        added = sorted(set(config.feature_names) - set(names))
        dropped = sorted(set(names) - set(config.feature_names))
        raise ValueError(
            "The artifacts were trained on a different feature list than this version of "
            f"clvmodel builds (new: {added or 'none'}; gone: {dropped or 'none'}; or a "
            "different order). Retrain with `python train.py`."
        )
    missing = sorted(set(config.targets) - set(bundles))
    if missing:
        raise ValueError(f"The artifacts have no model for target(s) {missing}.")
    _restore(model, bundles, metadata, config, names)
    model.report_ = FitReport.from_dict(load_json(Path(folder) / METRICS_FILE))
    saved_id = _saved_config_id(model, metadata["params"])
    if saved_id != metadata.get("config_id"):
        raise ValueError(
            f"{folder}: the saved configuration id {metadata.get('config_id')!r} does not "
            f"match the parameters and features stored beside it ({saved_id!r}): "
            "the files were edited or mixed from two models. Retrain."
        )
    return model


def _saved_config_id(model: Any, saved_params: dict) -> str:
    """The configuration id of `model` over the parameters that were saved.

    Artifacts saved before a parameter existed (``max_categories``, ``category_map``) load
    with its default, which their id did not cover; with every parameter saved this is
    :meth:`clvmodel.CLVModel.config_id` (tests/test_persistence.py checks it).
    """
    params = {k: v for k, v in model.model_params().items() if k in saved_params}
    spec = {"params": params, "features": list(model.feature_names_)}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def _restore(model: Any, bundles: dict, metadata: dict, config: FeatureConfig, names: list) -> None:
    """Set the fitted attributes of `model` from what :func:`save_fitted` wrote."""
    model.feature_config_ = config
    model.feature_names_ = names
    model.n_features_in_ = len(names)
    model.cold_ = bundles.pop("cold_start", None)
    model.bundles_ = bundles
    model.sigma_ = float(metadata["sigma"])
    cold_sigma = metadata.get("cold_sigma")
    model.cold_sigma_ = None if cold_sigma is None else float(cold_sigma)
    model.shared_error_ = {t: float(v) for t, v in (metadata.get("shared_error") or {}).items()}
    model.typical_ = pd.Series(metadata.get("typical_features", {}), dtype="float64")
    model.info_ = dict(metadata.get("info", {}))
    model.metadata_ = metadata


def _params_from_json(params: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}


def folder_fingerprint(folder: str | os.PathLike[str]) -> str:
    """:func:`file_fingerprint` of every file directly in `folder`: how ``train.py``
    stamps the data folder it trained on."""
    return file_fingerprint(sorted(p for p in Path(folder).iterdir() if p.is_file()))


SCORES_FILE = "scores.parquet"
_SCORES_KEY = b"clvmodel"


_PARQUET_MAGIC = b"PAR1"


def _parquet_digest(f: BinaryIO, size: int) -> bytes | None:
    """SHA-256 of a Parquet file's size and footer (None if `f` has no plain footer).

    A Parquet file ends with its footer (the file metadata), the footer's length (4 bytes,
    little-endian) and ``PAR1``.
    """
    if size < 12:
        return None
    f.seek(size - 8)
    tail = f.read(8)
    length = int.from_bytes(tail[:4], "little")
    if tail[4:] != _PARQUET_MAGIC or length + 12 > size:
        return None  # not Parquet, or an encrypted footer ("PARE"): hash it whole
    f.seek(size - 8 - length)
    return hashlib.sha256(size.to_bytes(8, "big") + f.read(length)).digest()


def tree_fingerprint(folder: str | os.PathLike[str]) -> str:
    """The fingerprint of a partitioned data set (every file under `folder`): how
    ``train.py`` stamps the scores and summary it saves, and how the app checks them
    before serving them, without reading the data (hashing a million customers' 1.3 GB
    whole took 2 to 10 s at every start; their footers take a tenth of a second).

    Each file counts with its path relative to `folder` (so the folder may move, but a
    part may not move to another table); a ``.parquet`` file with its size and its footer
    (schema, rows per row group, every column chunk's offset, sizes, encodings and
    statistics: min, max, null count), any other file (the layout file) with its whole
    content. So it sees files added, removed or renamed, rows added or removed, and any
    rewrite that changes a file's size or a column chunk's size or statistics: a part
    written again from other data, in practice. It does not see a change that keeps all of
    those: values edited in place within their chunk's range to values that compress to
    the same length, or bytes corrupted on disk. CSV folders keep the whole-content
    :func:`folder_fingerprint`.
    """
    folder = Path(folder)
    entries = []
    for p in sorted(p for p in folder.rglob("*") if p.is_file()):
        with p.open("rb") as f:
            digest = _parquet_digest(f, p.stat().st_size) if p.suffix == ".parquet" else None
            if digest is None:
                f.seek(0)
                digest = _content_digest(f)
        entries.append((p.relative_to(folder).as_posix(), digest))
    if not entries:
        raise ValueError(f"{folder} holds no files to fingerprint.")
    return _combine(entries)


def _save_stamped(frame: pd.DataFrame, path: Path, *, as_of: str, data_fingerprint: str) -> Path:
    table = pa.Table.from_pandas(frame, preserve_index=True)
    stamp = json.dumps({"as_of": as_of, "data_fingerprint": data_fingerprint}).encode()
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), _SCORES_KEY: stamp})
    pq.write_table(table, path)
    return path


def _load_stamped(path: Path, *, as_of: str, data_fingerprint: str) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    table = pq.read_table(path)
    stamp = json.loads((table.schema.metadata or {}).get(_SCORES_KEY, b"{}"))
    if stamp != {"as_of": as_of, "data_fingerprint": data_fingerprint}:
        return None
    return table.to_pandas()


def save_scores(
    scores: pd.DataFrame, folder: str | os.PathLike[str], *, as_of: str, data_fingerprint: str
) -> Path:
    """Save every customer's predictions as of one day, with the data they came from.

    ``train.py`` saves them for the day after its data ends, so that the app, started on
    that same data, does not spend ~2 s predicting everyone again (:func:`load_scores`).
    Parquet holds data only: reading it runs no code.
    """
    return _save_stamped(scores, Path(folder) / SCORES_FILE, as_of=as_of,
                         data_fingerprint=data_fingerprint)  # fmt: skip


def load_scores(
    folder: str | os.PathLike[str], *, as_of: str, data_fingerprint: str
) -> pd.DataFrame | None:
    """The scores :func:`save_scores` wrote, if they are for this day and this data.

    None when there are none, or they were made as of another day or from other data
    (then the caller predicts afresh).
    """
    return _load_stamped(Path(folder) / SCORES_FILE, as_of=as_of,
                         data_fingerprint=data_fingerprint)  # fmt: skip


#: What :func:`save_summary` writes beside the scores, by name.
SUMMARY_FILES = {
    "profiles": "profiles.parquet",
    "list_features": "list_features.parquet",
    "revenue": "revenue.parquet",
}


def save_summary(
    summary: dict[str, pd.DataFrame],
    folder: str | os.PathLike[str],
    *,
    as_of: str,
    data_fingerprint: str,
) -> list[Path]:
    """Save what the app needs about every customer of a big base besides their scores
    (see :func:`clvmodel.source.score_and_summarize`), stamped as :func:`save_scores`
    stamps them."""
    unknown = sorted(set(summary) - set(SUMMARY_FILES))
    if unknown:
        raise ValueError(f"unknown summary table(s) {unknown}; expected {list(SUMMARY_FILES)}.")
    stamp = {"as_of": as_of, "data_fingerprint": data_fingerprint}
    return [
        _save_stamped(frame, Path(folder) / SUMMARY_FILES[name], **stamp)
        for name, frame in summary.items()
    ]


def load_summary(
    folder: str | os.PathLike[str], *, as_of: str, data_fingerprint: str
) -> dict[str, pd.DataFrame] | None:
    """The tables :func:`save_summary` wrote, if all are there for this day and data."""
    out = {}
    for name, file in SUMMARY_FILES.items():
        frame = _load_stamped(Path(folder) / file, as_of=as_of, data_fingerprint=data_fingerprint)
        if frame is None:
            return None
        out[name] = frame
    return out
