"""Customer lists: each kind's rule and ranking, filters, limits and messages."""

import numpy as np
import pandas as pd
import pytest

from clvmodel import lists

IDS = ["C1", "C2", "C3", "C4", "C5", "C6", "C7"]


@pytest.fixture
def scores():
    """Predict rows: C4 and C5 are cold-start; C2 and C6 tie on expected total."""
    return pd.DataFrame(
        {
            "as_of": "2025-06-01",
            "predicted_total": [100.0, 200.0, 50.0, 120.0, 30.0, 200.0, 5.0],
            "predicted_total_low": 0.0,
            "predicted_total_high": 500.0,
            "predicted_food": [80.0, 200.0, 10.0, 60.0, 15.0, 190.0, 5.0],
            "predicted_food_low": 0.0,
            "predicted_food_high": 400.0,
            "predicted_toys": [20.0, 0.0, 40.0, 60.0, 15.0, 10.0, 0.0],
            "predicted_toys_low": 0.0,
            "predicted_toys_high": 100.0,
            "purchase_probability": [0.9, 0.3, 0.2, 0.8, 0.6, 0.95, 0.1],
            "predicted_total_median": 10.0,
            "reason_1": ["spent a lot", "", "", "no purchase yet", "no purchase yet", "", ""],
            "reason_2": ["", "", "", "", "", "", ""],
            "reason_3": ["often online", "", "", "", "", "", ""],
            "cold_start": [False, False, False, True, True, False, False],
        },
        index=pd.Index(IDS, name="customer_id"),
    )


@pytest.fixture
def profiles():
    return pd.DataFrame(
        {
            "segment": ["premium", "basic", "basic", "premium", "basic", "premium", "basic"],
            "loyalty_tier": ["gold", "silver", "gold", "1", "gold", "silver", "gold"],
            "region": ["north", "south", "north", None, None, "south", "north"],
            "channel": ["online", "in-store", "online", None, None, "online", "in-store"],
            "last_purchase": pd.to_datetime(
                ["2025-05-30", "2025-03-01", "2025-01-01", None, None, "2025-05-01", "2023-01-01"]
            ),
            "days_since_last": [2.0, 92.0, 151.0, np.nan, np.nan, 31.0, 882.0],
        },
        index=pd.Index(IDS, name="customer_id"),
    )


@pytest.fixture
def features():
    """Customers with history only: C4 and C5 (cold start) are absent."""
    return pd.DataFrame(
        {
            "spend_365d": [1000.0, 800.0, 2000.0, 500.0, 0.0],
            "spend_food_365d": [800.0, 800.0, 400.0, 490.0, 0.0],
            "spend_toys_365d": [200.0, 0.0, 1600.0, 10.0, 0.0],
            "share_food": [0.8, 1.0, 0.2, 0.97, 1.0],
            "share_toys": [0.2, 0.0, 0.8, 0.03, 0.0],
            "txn_count_365d": [10.0, 4.0, 12.0, 3.0, 0.0],
        },
        index=pd.Index(["C1", "C2", "C3", "C6", "C7"], name="customer_id"),
    )


def _ids(frame):
    return frame["customer_id"].tolist()


def test_kinds_are_described():
    assert {"top", "lapse", "cross_sell", "new"} <= set(lists.LIST_KINDS)
    assert all(isinstance(text, str) and text for text in lists.LIST_KINDS.values())


def test_score_categories_reads_the_predict_columns(scores):
    assert lists.score_categories(scores) == ["food", "toys"]


def test_top_list_whole_frame(scores, profiles, features):
    out = lists.customer_list(scores, profiles, features, kind="top", n=3)
    expected = pd.DataFrame(
        {
            "rank": [1, 2, 3],
            "customer_id": ["C2", "C6", "C1"],  # C2 and C6 tie at 200: by ID
            "segment": ["basic", "premium", "premium"],
            "loyalty_tier": ["silver", "silver", "gold"],
            "region": ["south", "south", "north"],
            "channel": ["in-store", "online", "online"],
            "days_since_last": [92.0, 31.0, 2.0],
            "expected_total": [200.0, 200.0, 100.0],
            "expected_food": [200.0, 190.0, 80.0],
            "expected_toys": [0.0, 10.0, 20.0],
            "purchase_probability": [0.3, 0.95, 0.9],
            "reason": ["", "", "spent a lot; often online"],
        }
    )
    pd.testing.assert_frame_equal(out, expected, check_dtype=False)


def test_top_by_category_skips_cold_start(scores, profiles, features):
    out = lists.customer_list(scores, profiles, features, kind="top", target="toys")
    # C4 expects 60 on toys but never bought: only in the "new" list.
    assert _ids(out) == ["C3", "C1", "C6", "C2", "C7"]
    assert out["rank"].tolist() == [1, 2, 3, 4, 5]


def test_lapse_ranks_spend_at_risk(scores, profiles, features):
    out = lists.customer_list(scores, profiles, features, kind="lapse")
    # P(buy) < 0.5 and past spend > 0: C3 (2000 × 0.8 = 1600), C2 (800 × 0.7 = 560).
    # C7 (P 0.1) spent nothing in 365 days; C1 and C6 are likely to buy.
    assert _ids(out) == ["C3", "C2"]
    assert out["past_spend_365d"].tolist() == [2000.0, 800.0]
    assert list(out.columns[-2:]) == ["reason", "past_spend_365d"]


def test_lapse_on_a_category_uses_its_past_spend(scores, profiles, features):
    out = lists.customer_list(scores, profiles, features, kind="lapse", target="food")
    # C2: 800 × 0.7 = 560 beats C3: 400 × 0.8 = 320.
    assert _ids(out) == ["C2", "C3"]
    assert out["past_spend_365d"].tolist() == [800.0, 400.0]


def test_lapse_threshold_is_strict(scores, profiles, features):
    scores.loc["C1", "purchase_probability"] = lists.LAPSE_MAX_PROBABILITY
    scores.loc["C6", "purchase_probability"] = lists.LAPSE_MAX_PROBABILITY - 0.01
    out = lists.customer_list(scores, profiles, features, kind="lapse")
    assert _ids(out) == ["C3", "C2", "C6"]  # 1600, 560, 500 × 0.51 = 255


def test_cross_sell_finds_spenders_missing_the_category(scores, profiles, features):
    out = lists.customer_list(scores, profiles, features, kind="cross_sell", target="toys")
    # Share of toys < 0.05: C2 (0), C6 (0.03), C7 (0); ranked by expected total, tie by ID.
    assert _ids(out) == ["C2", "C6", "C7"]
    assert out["main_category"].tolist() == ["food", "food", "food"]
    assert list(out.columns[-2:]) == ["reason", "main_category"]


def test_cross_sell_needs_spend_on_another_category(scores, profiles, features):
    features.loc["C7", ["share_food", "share_toys"]] = 0.0  # only returns, say
    out = lists.customer_list(scores, profiles, features, kind="cross_sell", target="toys")
    assert _ids(out) == ["C2", "C6"]


def test_cross_sell_main_category_ties_follow_category_order(scores, profiles, features):
    scores["predicted_books"] = scores["predicted_books_low"] = 1.0
    scores["predicted_books_high"] = 2.0
    features["share_books"] = [0.0, 0.0, 0.0, 0.0, 0.5]
    features.loc["C7", "share_food"] = 0.5
    out = lists.customer_list(scores, profiles, features, kind="cross_sell", target="toys")
    assert out.set_index("customer_id")["main_category"].to_dict() == {
        "C2": "food",
        "C6": "food",
        "C7": "food",
    }
    out = lists.customer_list(
        scores,
        profiles,
        features,
        kind="cross_sell",
        target="toys",
        categories=["books", "food", "toys"],
    )
    assert out.set_index("customer_id").loc["C7", "main_category"] == "books"


def test_new_lists_only_cold_start(scores, profiles, features):
    out = lists.customer_list(scores, profiles, features, kind="new")
    assert _ids(out) == ["C4", "C5"]
    assert out["reason"].tolist() == ["no purchase yet", "no purchase yet"]
    out = lists.customer_list(scores, profiles, features, kind="new", target="toys")
    assert _ids(out) == ["C4", "C5"]


@pytest.mark.parametrize(
    ("kind", "target"),
    [("top", "total"), ("top", "toys"), ("lapse", "total"), ("cross_sell", "toys")],
    ids=["top", "top-toys", "lapse", "cross_sell"],
)
def test_cold_start_customers_appear_only_in_new(scores, profiles, features, kind, target):
    # Even made attractive for every rule, a never-bought customer stays out.
    scores.loc["C4", ["predicted_total", "predicted_toys"]] = 10_000.0
    scores.loc["C4", "purchase_probability"] = 0.1
    out = lists.customer_list(scores, profiles, features, kind=kind, target=target)
    assert not {"C4", "C5"} & set(_ids(out))


def test_without_cold_start_column_no_history_means_new(scores, profiles, features):
    scores = scores.drop(columns="cold_start")
    assert _ids(lists.customer_list(scores, profiles, features, kind="new")) == ["C4", "C5"]
    assert "C4" not in _ids(lists.customer_list(scores, profiles, features, kind="top"))


def test_top_and_new_need_no_features(scores, profiles):
    out = lists.customer_list(scores, profiles, None, kind="top", n=2)
    assert _ids(out) == ["C2", "C6"]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"segment": "premium"}, ["C6", "C1"]),
        ({"segment": ["premium", "basic"], "region": "north"}, ["C1", "C3", "C7"]),
        ({"channel": ("online",), "loyalty_tier": "silver"}, ["C6"]),
        ({"segment": []}, []),
    ],
    ids=["one-value", "list-and-second-column", "tuple", "empty-list"],
)
def test_where_filters_on_profile_columns(scores, profiles, features, where, expected):
    out = lists.customer_list(scores, profiles, features, kind="top", where=where)
    assert _ids(out) == expected


def test_where_compares_as_strings(scores, profiles, features):
    out = lists.customer_list(scores, profiles, features, kind="new", where={"loyalty_tier": 1})
    assert _ids(out) == ["C4"]


def test_where_applies_before_the_limit(scores, profiles, features):
    out = lists.customer_list(
        scores, profiles, features, kind="top", n=1, where={"segment": "basic"}
    )
    assert _ids(out) == ["C2"]
    out = lists.customer_list(
        scores, profiles, features, kind="top", n=1, where={"channel": "online"}
    )
    assert _ids(out) == ["C6"]


@pytest.mark.parametrize("n", [1, 2, np.int64(4), 10_000])
def test_n_limits_the_list(scores, profiles, features, n):
    out = lists.customer_list(scores, profiles, features, kind="top", n=n)
    assert len(out) == min(int(n), 5)
    assert out["rank"].tolist() == list(range(1, len(out) + 1))


def test_ties_are_ranked_by_id_whatever_the_row_order(scores, profiles, features):
    scores["predicted_total"] = 50.0
    rng = np.random.default_rng(0)
    first = lists.customer_list(scores, profiles, features, kind="top")
    assert _ids(first) == ["C1", "C2", "C3", "C6", "C7"]
    for _ in range(3):
        shuffled = scores.iloc[rng.permutation(len(scores))]
        again = lists.customer_list(shuffled, profiles, features.iloc[::-1], kind="top")
        pd.testing.assert_frame_equal(again, first)


def test_missing_forecast_is_left_out(scores, profiles, features):
    scores.loc["C2", ["predicted_total", "purchase_probability"]] = np.nan
    assert "C2" not in _ids(lists.customer_list(scores, profiles, features, kind="top"))
    assert "C2" not in _ids(lists.customer_list(scores, profiles, features, kind="lapse"))


def test_reasons_join_skipping_empty_and_missing(scores, profiles, features):
    scores["reason_1"] = scores["reason_1"].astype(object)
    scores.loc["C1", "reason_1"] = None
    scores.loc["C1", "reason_2"] = "bought last week"
    out = lists.customer_list(scores, profiles, features, kind="top")
    assert out.set_index("customer_id").loc["C1", "reason"] == "bought last week; often online"
    out = lists.customer_list(
        scores.drop(columns=["reason_1", "reason_2", "reason_3"]), profiles, features, kind="top"
    )
    assert (out["reason"] == "").all()


def test_profile_columns_shown_are_those_present(scores, profiles, features):
    out = lists.customer_list(scores, profiles[["segment"]], features, kind="top")
    assert list(out.columns[:4]) == ["rank", "customer_id", "segment", "expected_total"]
    assert "last_purchase" not in out


def test_empty_list_keeps_its_columns(scores, profiles, features):
    scores["purchase_probability"] = 0.9
    out = lists.customer_list(scores, profiles, features, kind="lapse")
    assert out.empty
    assert list(out.columns[:2]) == ["rank", "customer_id"]
    assert "past_spend_365d" in out


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "best"}, r"unknown list kind 'best'; choose one of \['top', 'lapse'"),
        ({"kind": "top", "n": 0}, r"n must be an integer from 1 to 10000; got 0"),
        ({"kind": "top", "n": 10_001}, r"from 1 to 10000; got 10001"),
        ({"kind": "top", "n": 2.5}, r"got 2.5"),
        ({"kind": "top", "n": True}, r"got True"),
        (
            {"kind": "top", "target": "shoes"},
            r"unknown target 'shoes'.*\['total', 'food', 'toys'\]",
        ),
        (
            {"kind": "cross_sell"},
            r"'cross_sell' needs target to be the category.*\['food', 'toys'\]",
        ),
        ({"kind": "top", "where": {"store": "S1"}}, r"cannot filter on 'store'.*\['segment'"),
        ({"kind": "top", "where": {"last_purchase": "x"}}, r"cannot filter on 'last_purchase'"),
        ({"kind": "top", "categories": ["food", "pets"]}, r"scores lack \['predicted_pets'\]"),
        ({"kind": "top", "categories": "food"}, r"list of names, not the string 'food'"),
    ],
    ids=[
        "kind",
        "n-zero",
        "n-too-big",
        "n-float",
        "n-bool",
        "target",
        "cross-sell-total",
        "where-absent-column",
        "where-not-a-profile",
        "categories",
        "categories-string",
    ],
)
def test_bad_arguments_name_value_and_options(scores, profiles, features, kwargs, match):
    with pytest.raises(ValueError, match=match):
        lists.customer_list(scores, profiles, features, **kwargs)


def test_missing_features_say_what_to_pass(scores, profiles, features):
    with pytest.raises(ValueError, match=r"features lack 'spend_365d'; pass build_features"):
        lists.customer_list(scores, profiles, features.drop(columns="spend_365d"), kind="lapse")
    with pytest.raises(ValueError, match=r"needs features \('share_food'\); got None"):
        lists.customer_list(scores, profiles, None, kind="cross_sell", target="toys")


def test_duplicate_customers_are_refused(scores, profiles, features):
    doubled = pd.concat([scores, scores.iloc[:1]])
    with pytest.raises(ValueError, match=r"one row per customer; 'C1' appears twice"):
        lists.customer_list(doubled, profiles, features, kind="top")


# ------------------------------------------------------------------ loyal, multi-category, minimum


def test_kinds_table_names_every_kind_in_words():
    assert list(lists.LIST_KINDS) == list(lists.KINDS)
    assert {"category_loyal", "multi_category"} <= set(lists.KINDS)
    assert lists.KINDS["cross_sell"].label == "Cross-sell"
    assert all(k.label and "_" not in k.label for k in lists.KINDS.values())
    assert lists.KINDS["top"].options == ("min_expected",)
    assert lists.describe("category_loyal", "food").endswith("; only those loyal to 'food'")
    assert "total" not in lists.describe("category_loyal", "total")
    assert lists.describe("top", "total", 5000).endswith("at least 5,000.00 of it")


def test_category_loyal_is_over_70_percent_in_one_category_ranked_in_it(scores, profiles, features):
    features.loc["C7", "share_food"] = lists.LOYAL_MIN_SHARE  # exactly 70%: not over
    out = lists.customer_list(scores, profiles, features, kind="category_loyal")
    # by expected spend in the loyal category: C2 food 200, C6 food 190, C1 food 80,
    # C3 toys 40 (C3 expects 50 in total but is loyal to toys)
    assert _ids(out) == ["C2", "C6", "C1", "C3"]
    assert out["loyal_category"].tolist() == ["food", "food", "food", "toys"]
    assert out["loyal_share"].tolist() == [1.0, 0.97, 0.8, 0.8]
    assert (out["loyal_share"] > 0.7).all()
    assert list(out.columns[-3:]) == ["reason", "loyal_category", "loyal_share"]
    toys = lists.customer_list(scores, profiles, features, kind="category_loyal", target="toys")
    assert _ids(toys) == ["C3"]
    food = lists.customer_list(scores, profiles, features, kind="category_loyal", target="food")
    assert _ids(food) == ["C2", "C6", "C1"]


def test_category_loyal_leaves_out_cold_start_and_customers_without_shares(
    scores, profiles, features
):
    features.loc["C2", ["share_food", "share_toys"]] = 0.0  # only returns, say
    out = lists.customer_list(scores, profiles, features, kind="category_loyal")
    assert not {"C2", "C4", "C5"} & set(_ids(out))


@pytest.fixture
def three_categories(scores, features):
    """A third category, books, and the items bought per category in the last 365 days."""
    scores["predicted_books"] = scores["predicted_books_low"] = 0.0
    scores["predicted_books_high"] = 1.0
    features["share_books"] = 0.0
    items = {"food": [3, 2, 1, 5, 0], "toys": [1, 0, 1, 2, 0], "books": [1, 0, 0, 1, 0]}
    for c, n in items.items():
        features[f"lines_{c}_365d"] = np.asarray(n, dtype="float64")
    return scores, features


def test_multi_category_is_three_or_more_categories_in_the_last_year(three_categories, profiles):
    scores, features = three_categories
    out = lists.customer_list(scores, profiles, features, kind="multi_category")
    # C1 and C6 bought food, toys and books; C3 two categories, C2 one, C7 none
    assert _ids(out) == ["C6", "C1"]
    assert out["categories_365d"].tolist() == [3, 3]
    assert (out["categories_365d"] >= lists.MULTI_MIN_CATEGORIES).all()
    by_toys = lists.customer_list(scores, profiles, features, kind="multi_category", target="toys")
    assert _ids(by_toys) == ["C1", "C6"]  # toys 20 and 10


def test_multi_category_needs_three_categories_and_their_items(scores, profiles, features):
    with pytest.raises(ValueError, match=r"at least 3 categories; this one has 2"):
        lists.customer_list(scores, profiles, features, kind="multi_category")
    scores["predicted_books"] = scores["predicted_books_low"] = scores["predicted_books_high"] = 0
    with pytest.raises(ValueError, match=r"features lack 'lines_food_365d'"):
        lists.customer_list(scores, profiles, features, kind="multi_category")


def test_list_features_cover_every_kind():
    names = lists.list_features(["food", "toys"])
    assert {"spend_365d", "share_food", "lines_toys_365d"} <= set(names)


@pytest.mark.parametrize(
    ("minimum", "expected"),
    [(None, ["C2", "C6", "C1", "C3", "C7"]), (100, ["C2", "C6", "C1"]), (150.5, ["C2", "C6"]),
     (1e6, [])],
    ids=["none", "at-least-inclusive", "above", "nobody"],
)  # fmt: skip
def test_top_takes_a_minimum_expected_spend(scores, profiles, features, minimum, expected):
    out = lists.customer_list(scores, profiles, features, kind="top", min_expected=minimum)
    assert _ids(out) == expected
    assert (out["expected_total"] >= (minimum or 0)).all()


def test_minimum_expected_spend_is_on_the_target(scores, profiles, features):
    out = lists.customer_list(
        scores, profiles, features, kind="top", target="toys", min_expected=20
    )
    assert _ids(out) == ["C3", "C1"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "lapse", "min_expected": 10}, r"min_expected applies to the lists \['top'\]"),
        ({"kind": "top", "min_expected": -1}, r"min_expected must be a number >= 0.*got -1"),
        ({"kind": "top", "min_expected": float("nan")}, r"got nan"),
        ({"kind": "top", "min_expected": "5"}, r"got '5'"),
    ],
    ids=["other-kind", "negative", "nan", "text"],
)
def test_bad_minimum_expected_spend_is_refused(scores, profiles, features, kwargs, match):
    with pytest.raises(ValueError, match=match):
        lists.customer_list(scores, profiles, features, **kwargs)


# ------------------------------------------------------------------ filters: every group shown


def test_where_is_case_insensitive_and_unknown_is_the_group_without_a_value(
    scores, profiles, features
):
    north = lists.customer_list(scores, profiles, features, kind="top", where={"region": "North"})
    assert _ids(north) == ["C1", "C3", "C7"]
    spaced = lists.customer_list(
        scores, profiles, features, kind="new", where={"region": " NORTH "}
    )
    assert _ids(spaced) == []
    unknown = lists.customer_list(
        scores, profiles, features, kind="new", where={"region": "Unknown"}
    )
    assert _ids(unknown) == ["C4", "C5"]  # no purchase, so no region: the "unknown" group
