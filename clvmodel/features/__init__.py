"""As-of features and future-spend targets, one row per customer and cutoff.

Every feature is declared once in :mod:`~clvmodel.features.registry` (name, group, unit,
range, words, computing function); :class:`FeatureConfig` fixes the vocabularies and
windows, :func:`build_features` computes one cutoff's frame and :func:`build_panel`
stacks cutoffs with their targets. The modules:

- ``registry``: the declarations, read by the name list, the catalogue, the model card,
  the what-if ranges and the baselines.
- ``config``: :class:`FeatureConfig`, the optional groups and what data they need.
- ``history``: each customer's rows before a cutoff, as the computations read them.
- ``recency_frequency``, ``spend``, ``breadth``, ``categories``, ``habits``,
  ``attributes``, ``calendar``: the computations, one module per kind of feature.
- ``frame``: :func:`build_features`; ``panel``: cutoffs, targets, panels, as-of data.
"""

from clvmodel.features.attributes import customer_attributes
from clvmodel.features.calendar import calendar_features
from clvmodel.features.config import (
    ALL_GROUPS,
    FEATURE_GROUPS,
    OTHER,
    FeatureConfig,
    available_groups,
    check_compatible,
    map_categories,
)
from clvmodel.features.frame import build_features
from clvmodel.features.panel import (
    INDEX,
    CutoffPlan,
    as_of_data,
    build_panel,
    build_targets,
    cutoff_dates,
    plan_cutoffs,
)

__all__ = [
    "ALL_GROUPS",
    "FEATURE_GROUPS",
    "INDEX",
    "OTHER",
    "CutoffPlan",
    "FeatureConfig",
    "as_of_data",
    "available_groups",
    "build_features",
    "build_panel",
    "build_targets",
    "calendar_features",
    "check_compatible",
    "customer_attributes",
    "cutoff_dates",
    "map_categories",
    "plan_cutoffs",
]
