"""The feature registry is the one source: every column, label, group and range comes from it."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clvmodel import batch, catalogue, dataset
from clvmodel.card import make_card
from clvmodel.features import ALL_GROUPS, FEATURE_GROUPS, FeatureConfig, registry
from clvmodel.features.history import History
from clvmodel.report import FitReport

ROOT = Path(__file__).resolve().parents[1]

# A transaction log: dates, amounts, stores and channel, no products, categories,
# promotions, quantities, customer details or loyalty rules.
LOG = FeatureConfig((), ("north", "online"), (), groups=("stores", "channel", "regions"))


@pytest.fixture
def retail(tiny_tables) -> dataset.RetailData:
    return dataset.from_tables(tiny_tables)


@pytest.fixture(params=["retail", "log"])
def config(request, retail) -> FeatureConfig:
    return FeatureConfig.from_data(retail) if request.param == "retail" else LOG


def test_every_column_has_exactly_one_entry(config):
    names = config.feature_names
    assert len(names) == len(set(names))
    producers = {n: [e for e in registry.entries() if n in _names_of(e, config)] for n in names}
    for name, entries in producers.items():
        assert len(entries) == 1, name
        found = registry.find(name)
        assert found is not None and found[0] is entries[0], name
        entry = found[0]
        assert entry.label and entry.phrase.count("{v}") == 1, name
        assert entry.unit in catalogue.UNITS, name
        assert entry.group in registry.DISPLAY_GROUPS, name
        assert isinstance(entry.valid, registry.Range), name
        assert entry.needs is None or entry.needs in config.groups, name
    if config is LOG:
        assert not any(n.startswith(("share_", "promo", "lines_")) for n in names)


def _names_of(entry: registry.Feature, config: FeatureConfig) -> list[str]:
    blocks = [b for b in registry.REGISTRY if isinstance(b, registry.Block)]
    for block in blocks:
        if entry in block.members:
            values = getattr(config, block.over)
            return [n for v in values for n in entry.names(config, {block.key: v})]
    return entry.names(config)


def test_each_computation_gives_the_columns_of_its_entries(retail, config):
    history = History.before(retail, pd.Timestamp("2025-06-01"), config)
    names = set(config.feature_names)
    given = set()
    for compute in registry.computations(config):
        columns = set(compute(history))
        own = {n for e in registry.entries() if e.compute is compute for n in _names_of(e, config)}
        assert columns == own & names, compute.__name__
        given |= columns
    assert given == names


def test_optional_groups_are_the_entries_needs():
    needs = {e.needs for e in registry.entries()} - {None}
    assert needs == set(ALL_GROUPS)
    for entry in registry.entries():
        if entry.needs:  # the description of the group names the feature
            assert entry.name.split("{")[0] in FEATURE_GROUPS[entry.needs][1], entry.name


def test_catalogue_and_card_groups_are_the_registry_groups(config):
    names = config.feature_names
    grouped = catalogue.group_features(names)
    assert list(grouped) == [g for g in registry.DISPLAY_GROUPS if g in grouped]
    for group, members in grouped.items():
        assert members == [n for n in names if registry.find(n)[0].group == group]
        pattern = dict(catalogue.GROUPS)[group]
        assert all(pd.Series(members).str.fullmatch(pattern)), group
    metadata = {"feature_names": names, "feature_config": config.to_dict()}
    report = FitReport.from_dict(json.loads((ROOT / "artifacts" / "metrics.json").read_text()))
    card = make_card(report, metadata)
    features = card.split("## Features", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in features.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[1:] == [f"| {g} | {len(m)} |" for g, m in grouped.items()]


def _outside(valid: registry.Range) -> float:
    if not valid.bounded:
        return 0.0
    if valid.whole is not None:
        return valid.low + 0.5
    return valid.low - 1 if math.isfinite(valid.low) else valid.high + 1


def test_what_if_ranges_are_the_registry_ranges(config):
    names = config.feature_names
    for name in names:
        valid = registry.find(name)[0].valid
        inside = 0.0 if valid.low <= 0 <= valid.high else valid.low
        table = pd.DataFrame({name: [str(inside), str(_outside(valid)), "1e12", "-1e12"]})
        errors = batch.validate_features(table, names)[1]
        assert errors[0] == "", name
        expected = [bool(valid.outside(v)) for v in [_outside(valid), 1e12, -1e12]]
        assert [e != "" for e in errors[1:]] == expected, name
        if valid.bounded:
            assert errors[1].startswith(valid.message(name)), name


def test_range_messages():
    assert registry.NON_NEGATIVE.message("x") == "x must be >= 0; got "
    assert registry.UNIT_INTERVAL.message("x") == "x must be between 0 and 1; got "
    month = registry.find("cutoff_month")[0].valid
    assert month.message("cutoff_month") == "cutoff_month must be a whole month number 1..12; got "
    assert month.outside(np.array([0, 1, 6.5, 12, 13, np.nan])).tolist() == [
        True, False, True, False, True, False,
    ]  # fmt: skip
    assert not registry.ANY.bounded and registry.feature_range("unknown") is registry.ANY


def test_spend_columns():
    assert registry.spend_column("total", 30) == "spend_30d"
    assert registry.spend_column("home_garden", 365) == "spend_home_garden_365d"
    assert registry.share_column("home") == "share_home"
    info = catalogue.feature_info("spend_30d")
    assert (info.own_window, catalogue.feature_info("spend_365d").phrase) == (
        30,
        "spent {v} in the last year",
    )
