"""Categories: pooling the small ones as "other", renaming by a mapping, one mapping for
features and targets, and the --categories file."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from clvmodel import dataset
from clvmodel.features import (
    OTHER,
    FeatureConfig,
    build_features,
    build_targets,
    check_compatible,
    map_categories,
)
from clvmodel.loading import read_category_map

CUTOFF = pd.Timestamp("2025-06-01")


@pytest.fixture
def tiny_data(tiny_tables) -> dataset.RetailData:
    # Net spend over the whole data: home 1,500, electronics 1,000, grocery 470.
    return dataset.from_tables(tiny_tables)


def test_past_max_categories_the_largest_keep_targets_and_the_rest_are_other(tiny_data):
    whole = FeatureConfig.from_data(tiny_data)
    assert whole.categories == ("electronics", "grocery", "home") and whole.category_map == ()
    assert FeatureConfig.from_data(tiny_data, max_categories=3) == whole
    pooled = FeatureConfig.from_data(tiny_data, max_categories=2)
    assert pooled.categories == ("home", OTHER)
    assert pooled.pooled == ["electronics", "grocery"] and pooled.renamed == {}
    x0, x = (build_features(tiny_data, CUTOFF, c) for c in (whole, pooled))
    for suffix in ("30d", "365d"):
        np.testing.assert_allclose(
            x[f"spend_other_{suffix}"],
            x0[f"spend_electronics_{suffix}"] + x0[f"spend_grocery_{suffix}"],
        )
    np.testing.assert_allclose(x["spend_home_365d"], x0["spend_home_365d"])
    y0 = build_targets(tiny_data, CUTOFF, whole, x0.index)
    y = build_targets(tiny_data, CUTOFF, pooled, x.index)
    np.testing.assert_allclose(y["target_other"], y0["target_electronics"] + y0["target_grocery"])
    np.testing.assert_allclose(y["target_total"], y0["target_total"])


def test_a_mapping_renames_and_merges_before_pooling(tiny_data):
    config = FeatureConfig.from_data(tiny_data, category_map={"electronics": "tech"})
    assert config.categories == ("grocery", "home", "tech")
    assert config.renamed == {"electronics": "tech"}
    x0 = build_features(tiny_data, CUTOFF, FeatureConfig.from_data(tiny_data))
    x = build_features(tiny_data, CUTOFF, config)
    np.testing.assert_allclose(x["spend_tech_365d"], x0["spend_electronics_365d"])
    merged = FeatureConfig.from_data(tiny_data, category_map={"electronics": "home"})
    assert merged.categories == ("grocery", "home")
    # Renamed first, then pooled: grocery (as food) and electronics are the smaller two.
    both = FeatureConfig.from_data(tiny_data, max_categories=2, category_map={"grocery": "food"})
    assert both.categories == ("home", OTHER)
    assert dict(both.category_map) == {"electronics": OTHER, "grocery": OTHER}


def test_a_category_new_in_later_data_joins_other(tiny_data):
    config = FeatureConfig.from_data(tiny_data, max_categories=2)
    lines = tiny_data.lines.copy()
    lines.loc[lines.index[0], "category"] = "garden"
    later = dataclasses.replace(tiny_data, lines=lines)
    assert map_categories(later, config).categories == ("home", OTHER)
    check_compatible(config, later)  # no refusal: "garden" is pooled
    mapped = map_categories(tiny_data, config)
    assert map_categories(mapped, config) is mapped  # mapped data is left as it is
    assert map_categories(tiny_data, FeatureConfig.from_data(tiny_data)) is tiny_data


def test_the_mapping_is_saved_with_the_config(tiny_data):
    config = FeatureConfig.from_data(tiny_data, max_categories=2)
    assert FeatureConfig.from_dict(config.to_dict()) == config
    old = {k: v for k, v in config.to_dict().items() if k != "category_map"}
    assert FeatureConfig.from_dict(old).category_map == ()
    with pytest.raises(ValueError, match="max_categories must be at least 2"):
        FeatureConfig.from_data(tiny_data, max_categories=1)


def test_read_category_map(tmp_path):
    path = tmp_path / "map.csv"
    path.write_text(
        "Source,Category\nFROZEN PIZZA,Frozen Grocery\nice,frozen grocery\nice,frozen grocery\n"
    )
    assert read_category_map(path) == {"frozen_pizza": "frozen_grocery", "ice": "frozen_grocery"}
    path.write_text("from,to\na,b\n")
    with pytest.raises(ValueError, match="needs the columns source and category"):
        read_category_map(path)
    path.write_text("source,category\na,b\n,c\n")
    with pytest.raises(ValueError, match=r"empty source or category on line\(s\) \[3\]"):
        read_category_map(path)
    path.write_text("source,category\na,b\na,c\n")
    with pytest.raises(ValueError, match="two categories"):
        read_category_map(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_category_map(tmp_path / "none.csv")


def test_train_options_set_the_parameters(tmp_path):
    from clvmodel.cli.train import format_parser

    parser = format_parser()
    args = parser.parse_args([])
    assert args.max_categories == 10 and args.categories is None
    args = parser.parse_args(["--max-categories", "0", "--categories", "map.csv"])
    assert args.max_categories == 0 and args.categories == "map.csv"
