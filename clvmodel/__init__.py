"""clvmodel: each customer's spend in the next 30 days, in total and per category.

The public names below load their module on first use, so that ``clvmodel.dataset`` and
``clvmodel.schema`` import without LightGBM, XGBoost and scikit-learn: the app starts
reading its data while those (and Gradio) import.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "CLVModel": "model",
    "CustomerScorer": "prediction",
    "FeatureConfig": "features",
    "PartitionedData": "partitions",
    "RetailData": "dataset",
    "SchemaError": "schema",
    "build_features": "features",
    "build_panel": "features",
    "build_targets": "features",
    "load_data": "dataset",
    "open_partitioned": "partitions",
    "prediction_columns": "columns",
    "read_tables": "schema",
    "read_transactions": "transactions",
    "write_partitioned": "partitions",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"clvmodel.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'clvmodel' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
