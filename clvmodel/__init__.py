"""clvmodel: each customer's spend in the next 30 days, in total and per category."""

from clvmodel.dataset import RetailData, load_data
from clvmodel.features import FeatureConfig, build_features, build_panel, build_targets
from clvmodel.prediction import CustomerScorer, Predictor, prediction_columns
from clvmodel.schema import SchemaError, read_tables
from clvmodel.training import TrainConfig, train_all
from clvmodel.transactions import read_transactions

__all__ = [
    "CustomerScorer",
    "FeatureConfig",
    "Predictor",
    "RetailData",
    "SchemaError",
    "TrainConfig",
    "build_features",
    "build_panel",
    "build_targets",
    "load_data",
    "prediction_columns",
    "read_tables",
    "read_transactions",
    "train_all",
]
