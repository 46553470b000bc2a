"""Reason codes: the strongest consistent contributions, phrased in plain words.

Most checks read the numbers back out of the text, so they test what a user sees: the
arrow must agree with the comparison quoted, given the feature's direction of effect.
"""

import re

import numpy as np
import pandas as pd
import pytest

from clvmodel.catalogue import UNITS, feature_info, feature_label
from clvmodel.features import FeatureConfig, registry
from clvmodel.reasons import reason_codes

CONFIG = FeatureConfig(
    categories=("grocery", "home", "home_garden"),  # an underscore in a vocabulary value
    regions=("north", "online"),
    segments=("vip", "regular"),
)
NAMES = CONFIG.feature_names
NUMBER = r"[-+]?\d[\d,]*(?:\.\d+)?"


def _parser(name: str) -> re.Pattern:
    """The reason text of feature `name`, with its numbers as groups."""
    info = feature_info(name)
    before, after = info.phrase.split("{v}")
    suffix = re.escape(UNITS[info.unit].suffix)
    note = (
        rf" \((?:typical: (?P<t>{NUMBER}){suffix}|(?P<r>{NUMBER})× their usual"
        rf"|their usual: (?P<u>{NUMBER}){suffix})\)"
    )
    value = rf"(?P<v>{NUMBER}){suffix}"
    return re.compile(rf"(?P<arrow>[↑↓]) {re.escape(before)}{value}{re.escape(after)}{note}")


PARSERS = {name: _parser(name) for name in NAMES}


def _number(text: str) -> float:
    return float(text.replace(",", ""))


#: A value of 1 is followed by a singular word, which the phrase has in the plural.
_ONE = re.compile(r"\b1 (different |loyalty )?(day|purchase|product|category|store|item|point)\b")


def _raw(text: str) -> str:
    """A reason in plain words back in its phrase's form, numbers unchanged: "returned 103
    more than they bought" -> "spent -103", "spent nothing" -> "spent 0", "spent 500 less
    than in the 30 days before" -> "spent -500 vs the 30 days before", "1 day" -> "1 days"."""
    text = re.sub(rf"returned ({NUMBER}) more than they bought", r"spent -\1", text)
    text = text.replace("spent nothing", "spent 0")
    text = re.sub(rf"spent ({NUMBER}) more than in ", r"spent +\1 vs ", text)
    text = re.sub(rf"spent ({NUMBER}) less than in ", r"spent -\1 vs ", text)
    plural = {"category": "categories"}
    return _ONE.sub(lambda m: f"1 {m[1] or ''}{plural.get(m[2], m[2] + 's')}", text)


def _parse(text: str) -> tuple[str, re.Match]:
    """The one feature whose phrase `text` is, and the match."""
    assert "-" not in text.split("(")[0], text  # no minus sign in the words
    text = _raw(text)
    found = [(n, m) for n, p in PARSERS.items() if (m := p.fullmatch(text))]
    assert len(found) == 1, f"{text!r} matches {[n for n, _ in found]}"
    return found[0]


def _random_case(seed: int, n: int = 400):
    """Features around typical values (some equal, some nearly), random contributions."""
    rng = np.random.default_rng(seed)
    typical = pd.Series(rng.uniform(0.05, 500.0, len(NAMES)), index=NAMES)
    typical[[n for n in NAMES if n.startswith("share_") or n.endswith("_share")]] = 0.3
    typical["overdue_ratio"] = 1.2
    typical["spend_trend_30d"] = -4.0
    typical["basket_min"] = np.nan  # no typical value: never quoted
    noise = rng.lognormal(0.0, 0.6, (n, len(NAMES)))
    values = typical.to_numpy() * noise
    values[rng.random(values.shape) < 0.15] = np.nan
    equal = rng.random(values.shape) < 0.15
    values = np.where(equal, typical.to_numpy(), values)
    near = rng.random(values.shape) < 0.15
    values = np.where(near, typical.to_numpy() + rng.choice([-1, 1], values.shape) * 0.03, values)
    values[:, NAMES.index("spend_trend_30d")] = rng.normal(0.0, 300.0, n)
    values[rng.random(n) < 0.2, NAMES.index("spend_365d")] = 0.0
    recent = [NAMES.index(f"spend_{w}d") for w in (7, 30, 90)]
    values[:, recent] *= np.where(rng.random((n, 3)) < 0.1, -1.0, 1.0)  # returns exceed buys
    features = pd.DataFrame(values, columns=NAMES, index=[f"C{i}" for i in range(n)])
    contrib = pd.DataFrame(
        rng.normal(0.0, 1.0, values.shape) * rng.lognormal(0.0, 1.0, len(NAMES)),
        columns=NAMES,
        index=features.index,
    )
    contrib.iloc[rng.random(n) < 0.1, 0] = 0.0
    contrib[["cutoff_month", *[c for c in NAMES if c.startswith("segment_")]]] = 1e6
    contrib["base_value"] = 50.0
    return features, contrib, typical


def _printable(a: float, b: float, unit: str) -> bool:
    spec = UNITS[unit]
    return any(
        round(a * spec.scale, d) != round(b * spec.scale, d)
        for d in range(spec.decimals, spec.decimals + 3)
    )


def _expected(features, contrib, typical, given, top) -> list[list[str]]:
    """Row by row, the features that should be cited, strongest first (a slow reference)."""
    infos = [feature_info(n) for n in NAMES]
    values, weights = features[NAMES].to_numpy(), contrib[NAMES].to_numpy()
    flags, yearly_at = given[NAMES].to_numpy(), NAMES.index("spend_365d")
    out = []
    for v_row, c_row, g_row in zip(values, weights, flags, strict=True):
        ok = []
        for j, (name, info, v, c) in enumerate(zip(NAMES, infos, v_row, c_row, strict=True)):
            if info.direction is None or not g_row[j] or not np.isfinite(v) or c == 0:
                continue
            kind, ref, yearly = "typical", typical.get(name, np.nan), v_row[yearly_at]
            if info.own_window and g_row[yearly_at] and yearly > 0:
                kind, ref = ("ratio" if v > 0 else "usual"), yearly / 365 * info.own_window
            if not np.isfinite(ref) or v == ref:
                continue
            if np.sign(c) != info.direction * np.sign(v - ref):
                continue
            a, b, unit = (v / ref, 1.0, "ratio") if kind == "ratio" else (v, ref, info.unit)
            if _printable(a, b, unit):
                ok.append((-abs(c), j, name))
        out.append([name for *_, name in sorted(ok)[:top]])
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("with_given", [False, True])
def test_every_reason_agrees_with_the_numbers_it_quotes(seed, with_given):
    features, contrib, typical = _random_case(seed)
    rng = np.random.default_rng(100 + seed)
    given = pd.DataFrame(
        rng.random(features.shape) < (0.7 if with_given else 1.0),
        index=features.index,
        columns=features.columns,
    )
    out = reason_codes(contrib, features, typical, top=3, given=given if with_given else None)
    assert list(out.columns) == ["reason_1", "reason_2", "reason_3"]
    assert out.index.equals(features.index)
    expected = _expected(features, contrib, typical, given, 3)
    shown = 0
    for (cid, texts), names in zip(out.iterrows(), expected, strict=True):
        cited = []
        for text in texts:
            if not text:
                continue
            assert "_" not in text and not any(n in text for n in NAMES), text
            name, m = _parse(text)
            cited.append(name)
            info = feature_info(name)
            assert info.direction is not None and given.at[cid, name]
            arrow = 1 if m["arrow"] == "↑" else -1
            assert arrow == np.sign(contrib.at[cid, name])
            v = _number(m["v"])
            if m["r"] is not None:  # "(3.1× their usual)": compared with 1
                assert given.at[cid, "spend_365d"] and features.at[cid, "spend_365d"] > 0
                quoted, reference = _number(m["r"]), 1.0
            else:
                quoted, reference = v, _number(m["t"] if m["t"] is not None else m["u"])
            assert quoted != reference, text
            assert arrow == info.direction * np.sign(quoted - reference), text
            # The value quoted is the customer's, to the digits shown.
            digits = len(m["v"].split(".")[1]) if "." in m["v"] else 0
            scale = UNITS[info.unit].scale
            assert abs(v - features.at[cid, name] * scale) <= 0.5 * 10**-digits + 1e-9, text
        # Strongest first, blanks only at the end, and exactly the consistent features.
        assert cited == names, (cid, list(texts))
        assert list(texts) == [t for t in texts if t] + [""] * (3 - len(cited))
        shown += len(cited)
    assert shown > len(features)  # the data do make reasons


def test_reported_contradictions_are_gone():
    # "↓ spends 40 a day on average (typical: 35)" and "↑ 2.5× their usual gap" next to
    # "↓ last purchase 89 days ago": only the consistent one remains.
    contrib = pd.DataFrame(
        {"daily_spend_rate": [-9.0], "overdue_ratio": [8.0], "days_since_last": [-5.0]}
    )
    features = pd.DataFrame(
        {"daily_spend_rate": [40.0], "overdue_ratio": [2.5], "days_since_last": [89.0]}
    )
    typical = pd.Series({"daily_spend_rate": 35.0, "overdue_ratio": 1.0, "days_since_last": 30.0})
    out = reason_codes(contrib, features, typical)
    assert out.iloc[0].tolist() == ["↓ last purchase 89 days ago (typical: 30)", "", ""]


def test_close_numbers_get_the_digits_that_tell_them_apart():
    contrib = pd.DataFrame({"daily_spend_rate": [2.0, 2.0, 2.0], "online_share": [5.0] * 3})
    features = pd.DataFrame(
        {"daily_spend_rate": [35.4, 35.1002, 35.1], "online_share": [0.9, 0.9, 0.9]}
    )
    typical = pd.Series({"daily_spend_rate": 35.1, "online_share": 0.2})
    out = reason_codes(contrib, features, typical, top=2)
    assert out["reason_1"].tolist() == ["↑ spends 35.4 a day on average (typical: 35.1)", "", ""]
    assert (out["reason_2"] == "").all()  # online_share: no known direction


def test_own_usual_for_recent_spend_and_typical_otherwise():
    contrib = pd.DataFrame({"spend_30d": [300.0, 300.0, -1.0], "spend_365d": [0.0, 0.0, 0.0]})
    features = pd.DataFrame(
        {"spend_30d": [3000.0, 3000.0, -50.0], "spend_365d": [12166.0, 0.0, 1200.0]}
    )
    typical = pd.Series({"spend_30d": 500.0, "spend_365d": 5000.0})
    out = reason_codes(contrib, features, typical, top=1)["reason_1"].tolist()
    # 12,166 / 365 * 30 = 1,000 a month; without a yearly spend, the typical customer.
    assert out == [
        "↑ spent 3,000 in the last 30 days (3.0× their usual)",
        "↑ spent 3,000 in the last 30 days (typical: 500)",
        "↓ returned 50 more than they bought in the last 30 days (their usual: 99)",
    ]


def test_reasons_in_plain_words():
    names = ["days_since_last", "n_products", "spend_365d", "spend_trend_30d", "spend_90d"]
    features = pd.DataFrame(
        [[1.0, 1.0, -103.0, -500.0, 0.0], [2.0, 2.0, 0.0, 700.0, 0.0]], columns=names
    )
    typical = pd.Series([48.0, 20.0, 7221.0, 0.0, 1800.0], index=names)
    contrib = pd.DataFrame([[5.0, -4.0, -3.0, -2.0, -1.0], [5.0, -4.0, -3.0, 2.0, -1.0]],
                           columns=names)  # fmt: skip
    out = reason_codes(contrib, features, typical, top=5)
    assert out.iloc[0].tolist() == [
        "↑ last purchase 1 day ago (typical: 48)",
        "↓ bought 1 different product (typical: 20)",
        "↓ returned 103 more than they bought in the last year (typical: 7,221)",
        "↓ spent 500 less than in the 30 days before (typical: +0)",
        "↓ spent nothing in the last 90 days (typical: 1,800)",
    ]
    assert out.iloc[1, 3] == "↑ spent 700 more than in the 30 days before (typical: +0)"
    # with_features names the feature each reason is about, for a table of the same drivers
    cited = reason_codes(contrib, features, typical, top=5, with_features=True)
    assert cited.iloc[0, 5:].tolist() == names
    assert cited.iloc[0, :5].tolist() == out.iloc[0].tolist()


def test_values_the_user_did_not_give_are_not_cited():
    # A what-if where spend_365d was filled with its typical value.
    contrib = pd.DataFrame({"spend_365d": [50.0], "spend_30d": [20.0], "txn_count_30d": [10.0]})
    features = pd.DataFrame({"spend_365d": [7221.0], "spend_30d": [3000.0], "txn_count_30d": [9]})
    typical = pd.Series({"spend_365d": 7221.0, "spend_30d": 500.0, "txn_count_30d": 2.0})
    given = pd.DataFrame({"spend_30d": [True], "txn_count_30d": [False]})  # spend_365d absent
    out = reason_codes(contrib, features, typical, given=given).iloc[0].tolist()
    assert out == ["↑ spent 3,000 in the last 30 days (typical: 500)", "", ""]
    # Without `given`, a value equal to the typical one is still never a reason.
    out = reason_codes(contrib, features, typical).iloc[0].tolist()
    assert out == [
        "↑ spent 3,000 in the last 30 days (5.1× their usual)",  # 7,221 / 365 * 30 = 594
        "↑ 9 purchases in the last 30 days (typical: 2)",
        "",
    ]
    # One flag per column, as an array or by name, applies to every row.
    flags = np.array([True, False, True])
    assert reason_codes(contrib, features, typical, given=flags).iloc[0, 0].startswith("↑ 9 ")
    by_name = pd.Series({"txn_count_30d": True})
    assert reason_codes(contrib, features, typical, given=by_name).iloc[0, 0].startswith("↑ 9 ")
    with pytest.raises(ValueError, match="shaped like the features"):
        reason_codes(contrib, features, typical, given=np.ones((2, 3), dtype=bool))


def test_calendar_and_label_features_are_never_reasons():
    names = ["cutoff_month", "days_to_peak", "segment_vip", "region_north", "loyalty_tier"]
    contrib = pd.DataFrame([[1e6] * len(names)], columns=names)
    features = pd.DataFrame([[3.0, 60.0, 1.0, 1.0, 3.0]], columns=names)
    typical = pd.Series([6.0, 30.0, 0.0, 0.0, 1.0], index=names)
    assert reason_codes(contrib, features, typical).iloc[0].tolist() == ["", "", ""]


def test_no_rows_and_no_candidates():
    empty = pd.DataFrame(columns=["spend_30d"], dtype=float)
    out = reason_codes(empty, empty, pd.Series({"spend_30d": 1.0}), top=2)
    assert list(out.columns) == ["reason_1", "reason_2"] and out.empty
    only_base = pd.DataFrame({"base_value": [1.0, 2.0]})
    out = reason_codes(only_base, pd.DataFrame(index=range(2)), pd.Series(dtype=float))
    assert out.shape == (2, 3) and (out == "").all(axis=None)


def test_every_feature_has_a_plain_label():
    labels = [feature_label(n) for n in NAMES]
    for name, label in zip(NAMES, labels, strict=True):
        assert label and "_" not in label and label != name, (name, label)
        assert label[0].isupper(), label
    assert len(set(labels)) == len(labels)  # a table can tell them apart
    assert feature_label("spend_grocery_30d") == "Spend on grocery, last 30 days"
    assert feature_label("spend_home_garden_365d") == "Spend on home garden, last 365 days"
    assert feature_label("spend_14d") == "Spend, last 14 days"  # another window
    assert "_" not in feature_label("some_new_feature")
    for name in NAMES:  # each from the catalogue, not the fallback for unknown names
        info = feature_info(name)
        assert registry.find(name) is not None, name
        assert info.phrase.count("{v}") == 1 and "_" not in info.phrase, name
        assert info.unit in UNITS and info.direction in (1, -1, None), name
    directions = {n: feature_info(n).direction for n in NAMES}
    assert directions["days_since_last"] == directions["overdue_ratio"] == -1
    assert directions["spend_30d"] == directions["spend_grocery_30d"] == 1
    assert {directions[n] for n in NAMES if n.startswith(("segment_", "region_", "share_"))} == {
        None
    }
    exact = {f.name for f in registry.entries() if "{" not in f.name}
    assert directions["cutoff_month"] is None and exact <= set(NAMES)
