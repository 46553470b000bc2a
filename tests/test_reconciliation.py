"""Categories reconciled to the total: they add up, and intervals scale with them."""

import numpy as np
import pandas as pd
import pytest

from clvmodel.reconciliation import reconcile

CATS = ("a", "b")


def _pred(total, a, b, **extra):
    return pd.DataFrame({"predicted_total": total, "predicted_a": a, "predicted_b": b, **extra})


def test_categories_add_up_to_the_total_and_keep_their_proportions():
    out = reconcile(_pred([100.0, 30.0], [30.0, 10.0], [10.0, 50.0]), CATS)
    np.testing.assert_allclose(out["predicted_a"] + out["predicted_b"], [100, 30])
    np.testing.assert_allclose(out["predicted_a"], [75, 5])  # 30:10 -> 75:25, 10:50 -> 5:25
    np.testing.assert_allclose(out["predicted_total"], [100, 30])  # the total is untouched


def test_interval_bounds_scale_by_the_same_factor():
    pred = _pred([100.0], [30.0], [10.0], predicted_a_low=[0.0], predicted_a_high=[60.0])
    out = reconcile(pred, CATS)
    assert out.loc[0, "predicted_a_high"] == pytest.approx(150.0)  # factor 100 / 40
    assert out.loc[0, "predicted_a_low"] == 0.0


def test_all_zero_categories_fall_back_to_history_then_even_split():
    pred = _pred([100.0, 100.0], [0.0, 0.0], [-5.0, 0.0])
    shares = pd.DataFrame({"share_a": [0.2, np.nan], "share_b": [0.8, np.nan]})
    out = reconcile(pred, CATS, shares=shares)
    np.testing.assert_allclose(out["predicted_a"], [20, 50])
    np.testing.assert_allclose(out["predicted_b"], [80, 50])


def test_no_categories_is_a_no_op():
    pred = pd.DataFrame({"predicted_total": [1.0]})
    pd.testing.assert_frame_equal(reconcile(pred, ()), pred)
