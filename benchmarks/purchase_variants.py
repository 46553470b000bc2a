"""What else was tried for the purchase probability, on train.py's own split.

python benchmarks/purchase_variants.py        # data/ -> benchmarks/results/purchase_variants.json

The accuracy issue asks for a Brier score within 5% of the oracle's; the shipped LightGBM /
XGBoost classifiers reach ~6%. This script scores, on the test cutoff of ``train.py``
(validation the month before, for early stopping), the shipped LightGBM set-up and the
variants that could plausibly close the gap: a more regularised LightGBM with more, slower
trees; BG/NBD's P(alive) and P(buy in the horizon) as extra features; blends with BG/NBD's
P(buy); and 18 monthly cutoffs of training history instead of 12. Synthetic data only (the
oracle comes from ``data/ground_truth.csv.gz``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import lightgbm as lgb
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from clvmodel import bgnbd_ml  # noqa: E402
from clvmodel.dataset import load_data  # noqa: E402
from clvmodel.features import FeatureConfig, build_panel, cutoff_dates  # noqa: E402
from clvmodel.training import EARLY_STOPPING_ROUNDS, PARAMS, time_split  # noqa: E402

HORIZON = 30
TUNED = {"num_leaves": 15, "min_child_samples": 100, "n_estimators": 600, "learning_rate": 0.03}


def p_buy(params: list[float], features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """BG/NBD's P(alive) and P(at least one purchase in the horizon) per customer."""
    r, alpha, a, b = params
    x, t_x, age = bgnbd_ml.rfm(features)
    odds = np.where(
        x > 0, a / np.maximum(b + x - 1, 1e-9) * ((alpha + age) / (alpha + t_x)) ** (r + x), 0.0
    )
    alive = 1 / (1 + odds)
    return alive, alive * (1 - ((alpha + age) / (alpha + age + HORIZON)) ** (r + x))


def fit(split, columns: list[str], extra: dict | None = None) -> np.ndarray:
    """LightGBM as train.py fits it (early stopping on validation); test probabilities."""
    model = lgb.LGBMClassifier(**(PARAMS["lightgbm"] | (extra or {})), random_state=0, n_jobs=2)
    stop = lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)
    y = "target_purchase"
    model.fit(
        split.train[columns],
        split.train[y],
        eval_X=split.validation[columns],
        eval_y=split.validation[y],
        callbacks=[stop],
    )
    return model.predict_proba(split.test[columns])[:, 1]


def _brier(p: np.ndarray, split) -> float:
    return float(np.mean((p - split.test["target_purchase"].to_numpy()) ** 2))


def main() -> int:
    start = time.perf_counter()
    data = load_data(ROOT / "data")
    fcfg = FeatureConfig.from_data(data, horizon=HORIZON)
    truth = pd.read_csv(
        ROOT / "data" / "ground_truth.csv.gz", dtype={"customer_id": str}, parse_dates=["cutoff"]
    ).set_index(["cutoff", "customer_id"])["p_purchase"]
    names = fcfg.feature_names
    split = time_split(build_panel(data, cutoff_dates(data, n_cutoffs=12), fcfg))
    results = {"oracle": _brier(truth.reindex(split.test.index).fillna(0.0).to_numpy(), split)}
    shipped = fit(split, names)
    results["lightgbm (as shipped)"] = _brier(shipped, split)
    results["lightgbm, regularised, 600 slower trees"] = _brier(fit(split, names, TUNED), split)
    latest = split.train.index.get_level_values("cutoff").max()
    params = bgnbd_ml.fit(split.train.xs(latest, level="cutoff", drop_level=False))
    for part in ("train", "validation", "test"):
        frame = getattr(split, part)
        frame["bg_alive"], frame["bg_p_buy"] = p_buy(params, frame)
    results["lightgbm + BG/NBD P(alive), P(buy) features"] = _brier(
        fit(split, [*names, "bg_alive", "bg_p_buy"]), split
    )
    bg = split.test["bg_p_buy"].to_numpy()
    results["BG/NBD P(buy) alone"] = _brier(bg, split)
    for w in (0.25, 0.5):
        results[f"{1 - w:g} × lightgbm + {w:g} × BG/NBD P(buy)"] = _brier(
            (1 - w) * shipped + w * bg, split
        )
    longer = time_split(build_panel(data, cutoff_dates(data, n_cutoffs=18), fcfg))
    results["lightgbm, 18 cutoffs of history"] = _brier(fit(longer, names), longer)
    out = {
        "command": "python benchmarks/purchase_variants.py",
        "seconds": round(time.perf_counter() - start, 1),
        "brier": results,
        "brier_of_oracle": {k: v / results["oracle"] for k, v in results.items()},
    }
    path = ROOT / "benchmarks" / "results" / "purchase_variants.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print("| variant (test cutoff of train.py) | Brier | × oracle's |\n|---|---:|---:|")
    for name, value in results.items():
        print(f"| {name} | {value:.4f} | {out['brier_of_oracle'][name]:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
