"""Reason codes: the strongest contributions, phrased in plain words."""

import pandas as pd

from clvmodel.reasons import reason_codes


def test_top_reasons_follow_the_largest_contributions_with_direction():
    contrib = pd.DataFrame(
        {"spend_30d": [300.0, -1.0], "days_since_last": [-50.0, -400.0], "base_value": [9.0, 9.0]},
        index=["C1", "C2"],
    )
    features = pd.DataFrame(
        {
            "spend_30d": [3000.0, 0.0],
            "days_since_last": [3.0, 250.0],
            "spend_365d": [12166.0, 100.0],
        },
        index=["C1", "C2"],
    )
    typical = pd.Series({"spend_30d": 500.0, "days_since_last": 30.0})
    out = reason_codes(contrib, features, typical, top=2)
    assert list(out.columns) == ["reason_1", "reason_2"]
    # C1: spent 3,000 in 30 days while their usual month is 12,166 / 365 * 30 = 1,000.
    assert out.loc["C1", "reason_1"] == "↑ spent 3,000 in the last 30 days (3.0× their usual)"
    assert out.loc["C1", "reason_2"] == "↓ last purchase 3 days ago (typical: 30)"
    assert out.loc["C2", "reason_1"] == "↓ last purchase 250 days ago (typical: 30)"
