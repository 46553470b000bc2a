"""The Explanations & model tab: what the model is and how well it did (importance, quality
by decile or calibration, every model against the baselines), the model card, and
/model_info (the health check).
"""

from __future__ import annotations

import os
from pathlib import Path

import gradio as gr
import pandas as pd

from clvapp.format import metric_text, number
from clvapp.state import AppState, Served
from clvmodel import plots
from clvmodel.comparison import model_comparison

#: Metrics in words, for the tables a person reads (the API keeps the short names).
METRIC_NAMES = {
    "mae": "Mean absolute error",
    "rmse": "Root mean squared error",
    "r2": "R²",
    "gini": "Gini",
    "spearman": "Spearman rank correlation",
    "sum_ratio": "Predicted / actual total",
    "auc": "AUC",
    "brier": "Brier score",
    "log_loss": "Log loss",
    "mean_predicted": "Mean predicted probability",
    "observed_rate": "Observed purchase rate",
}

#: Models in words; ``{h}`` is the horizon in days.
MODEL_NAMES = {
    "zero": "Zero (nobody buys)",
    "last_30d": "Last 30 days again",
    "rate_x_horizon": "Past daily spend × {h} days",
    "train_mean": "Average of the training months",
    "train_rate": "Purchase rate of the training months",
    "ridge": "Ridge regression",
    "logistic": "Logistic regression",
    "random_forest": "Random forest",
    "xgboost": "XGBoost",
    "xgboost_tweedie": "XGBoost (Tweedie loss)",
    "lightgbm": "LightGBM",
    "lightgbm_tweedie": "LightGBM (Tweedie loss)",
    "bgnbd_ml": "BG/NBD (maximum likelihood)",
    "hybrid": "Hybrid of the booster and BG/NBD",
    "oracle": "Oracle (the true expectation given the history)",
    "oracle_alive_known": "Oracle that also knows who is still active",
}


def model_name(name: str, horizon: int) -> str:
    """A model's name in words (an unknown name as it is, underscores as spaces)."""
    return MODEL_NAMES.get(name, name.replace("_", " ")).format(h=horizon)


def _metric(x: object) -> str:
    """:func:`metric_text`, with no "-0.000": a metric that rounds to zero is 0."""
    if x is None or pd.isna(x):
        return ""
    x = float(x)
    return metric_text(x if abs(x) >= 100 else round(x, 3) + 0.0)


def headline_metrics(state: AppState) -> dict:
    """What users get, per target: the test metrics of the served predictions."""
    out = {}
    for target, report in state.model.report_.targets.items():
        spend = report.kind == "spend"
        keys = ("mae", "rmse", "r2", "gini") if spend else ("auc", "brier", "log_loss")
        entry = {"model": report.deployed, **{k: number(report.served.get(k)) for k in keys}}
        if report.interval is not None:
            entry["interval_80_coverage"] = number(report.interval.coverage)
        out[target] = entry
    return out


def _status(state: AppState) -> str:
    """Whether a prediction of typical values works: "ok", "degraded" or the error."""
    model = state.model
    try:
        typical = model.typical_.reindex(model.feature_names_).to_frame().T
        return "ok" if model.predict_features(typical).notna().all(axis=None) else "degraded"
    except ValueError as exc:
        return f"error: {exc}"


def model_info(state: AppState) -> dict:
    """Model version, training date and cutoffs, categories, features, headline test
    metrics, and status "ok" when a prediction works (the health check)."""
    model, meta = state.model, state.meta
    scores = state.scorer.scores(reasons=False)
    return {
        "status": _status(state),
        "model_version": state.version,
        "trained_at": meta.get("trained_at"),
        "currency": state.currency,
        "horizon_days": meta.get("horizon_days"),
        "default_as_of": f"{state.default_as_of:%Y-%m-%d}",
        "cutoffs": meta.get("cutoffs"),
        "categories": list(model.categories),
        "targets": {
            t: meta["targets"].get(t, {}).get("model") for t in model.feature_config_.targets
        },
        "cold_start_model": "cold_start" in meta.get("targets", {}),
        "features": list(model.feature_names_),
        "headline_metrics": headline_metrics(state),
        "data": meta.get("data"),
        "customers_with_history": int((~scores["cold_start"]).sum()),
        "customers_scored": len(scores),
    }


def comparison_table(state: AppState, target: str) -> pd.DataFrame:
    """:func:`clvmodel.comparison.model_comparison`, models, roles and metrics in words."""
    table = model_comparison(state.model.report_.targets[target])
    metrics = [c for c in table.columns if c not in ("model", "role")]
    horizon = state.model.feature_config_.horizon
    table = table.assign(
        model=table["model"].map(lambda m: model_name(m, horizon)),
        **{c: table[c].map(_metric) for c in metrics},
    )
    names = {"model": "Model", "role": "Role"} | {
        c: METRIC_NAMES.get(c, c.replace("_", " ")) for c in metrics
    }
    return table.rename(columns=names)


def model_views(state: AppState, target: str):
    """The importance chart, the quality chart and the comparison table of a target."""
    report = state.model.report_.targets[target]
    importance = plots.importance_plot(report.importance, title=f"{target}: feature importance")
    if report.kind == "spend":
        quality = plots.decile_plot(
            pd.DataFrame(report.deciles), title=f"{target}: mean spend by decile (test)",
            currency=state.currency,
        )  # fmt: skip
    else:
        quality = plots.reliability_plot(
            pd.DataFrame(report.reliability), title="Purchase probability: calibration (test)"
        )
    return importance, quality, comparison_table(state, target)


def _training_text(meta: dict) -> str:
    """How the model was trained and what the test figures measure, from the metadata:
    with a refit, the served model has seen the test month."""
    cutoffs = meta.get("cutoffs", {})
    train, test = cutoffs.get("train", []), cutoffs.get("test", "?")
    text = (
        f"**Training**: {len(train)} monthly cutoffs from {train[0] if train else '?'} to "
        f"{train[-1] if train else '?'}; model chosen on the {cutoffs.get('validation', '?')} "
        f"cutoff and scored below on the {test} cutoff, which that fit had not seen."
    )
    if meta.get("params", {}).get("refit"):
        n = len(train) + 2
        text += (
            f" The served model is that recipe fitted again on all {n} cutoffs, the "
            f"validation and test months included: the figures below measure the recipe on a "
            f"month it had not seen, not the served model, which has seen {test}. The "
            "model card's backtest measures the refitted model on months after its data."
        )
    return text + (
        " Each target's model is the best of several against simple baselines; the oracle "
        "knows each synthetic customer's true buying rates and is the ceiling."
    )


def about_markdown(state: AppState) -> str:
    meta, model = state.meta, state.model
    data = meta.get("data", {})
    return (
        f"**Model {state.version}**, trained {meta.get('trained_at', '?')}. It predicts each "
        f"customer's net spend over the next {model.feature_config_.horizon} days, in total "
        f"and for the categories {', '.join(model.categories)}, each with an "
        f"{round(model.interval * 100)}% prediction "
        "interval, and the probability of buying at all.\n\n"
        f"{_training_text(meta)}\n\n"
        f"**Data**: {data.get('n_customers', '?'):,} customers, "
        f"{data.get('n_transactions', '?'):,} transactions from {data.get('first_date', '?')} "
        f"to {data.get('last_date', '?')}"
        f"{' (synthetic)' if data.get('synthetic') else ''}; fingerprint "
        f"`{data.get('fingerprint', '?')}`. Predictions are made as of "
        f"{state.default_as_of:%Y-%m-%d} unless you choose an earlier date.\n\n"
        f"{len(model.feature_names_)} features, built from history strictly before the "
        "as-of date." + (f" Amounts are in {state.currency}." if state.currency else "")
    )


def _card_markdown() -> str:
    url = os.environ.get("CLV_MODEL_CARD_URL")
    return (
        "### Model card\nThe model card describes the intended use, data, metrics and "
        "limits of the model." + (f" Read it [on the Hub]({url})." if url else " Download it here:")
    )


def build(served: Served, demo: gr.Blocks, model_card: Path) -> None:
    """The tab and its events; /model_info also runs when the page loads."""
    state = served.current()
    with gr.Tab("Explanations & model"):
        gr.Markdown(about_markdown(state))
        target = gr.Dropdown(
            choices=state.model.feature_config_.targets, value="total", label="Target"
        )
        importance, quality, comparison = model_views(state, "total")
        gr.Markdown(
            "For a spend target the right-hand chart compares mean predicted and actual "
            "spend by decile; for **purchase** it is the calibration of the probability."
        )
        with gr.Row():
            importance_plot = gr.Plot(value=importance, show_label=False)
            quality_plot = gr.Plot(value=quality, show_label=False)
        table = gr.Dataframe(
            value=comparison,
            label="Every model against the baselines and the oracle (test cutoff)",
            interactive=False,
        )
        gr.Markdown(_card_markdown())
        if model_card.is_file():
            gr.File(value=str(model_card), label="model_card.md", elem_id="model-card")
        info_button = gr.Button("Model info and health check")
        info = gr.JSON(label="/model_info")
    target.change(
        served.bind(model_views), target, [importance_plot, quality_plot, table],
        api_visibility="private",
    )  # fmt: skip
    gr.on(
        [demo.load, info_button.click], served.bind(model_info), None, info, api_name="model_info"
    )
