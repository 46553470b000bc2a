"""The app on a partitioned base (clvmodel.source): the same answers as on the whole data.

A small data set is written in the partitioned layout (3 parts) and a quick model trained
on it (train.py saves the scores and the summary the app starts from). The app module is
loaded twice more, once on the partitioned folder and once on the same data's CSV tables
with the same model, and their handlers must agree.
"""

import importlib.util
import math
import shutil
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from clvmodel.features import FeatureConfig, build_features
from clvmodel.model import CLVModel
from clvmodel.partitions import open_partitioned, write_partitioned
from clvmodel.persistence import load_json, tree_fingerprint
from clvmodel.prediction import default_as_of
from clvmodel.schema import read_tables
from clvmodel.source import (
    PartitionedSource,
    combine_summaries,
    open_source,
    score_and_summarize,
    summary_of,
)

ROOT = Path(__file__).resolve().parents[1]


def _no_progress(*args, **kwargs) -> None:
    return None


@pytest.fixture(scope="module")
def parted_dir(small_data_dir, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("parted") / "data"
    return write_partitioned(read_tables(small_data_dir), folder, n_parts=3)


@pytest.fixture(scope="module")
def parted_artifacts(parted_dir, tmp_path_factory, train_quick) -> Path:
    return train_quick(parted_dir, tmp_path_factory.mktemp("parted_artifacts"), cutoffs=3)


def _load_app(name: str, data: Path, artifacts: Path):
    """Another instance of app.py, on other data and artifacts (a module of its own)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CLV_DATA", str(data))
        mp.setenv("CLV_ARTIFACTS", str(artifacts))
        mp.syspath_prepend(str(ROOT))
        spec = importlib.util.spec_from_file_location(name, ROOT / "app.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def big_app(parted_dir, parted_artifacts):
    return _load_app("app_on_parts", parted_dir, parted_artifacts)


@pytest.fixture(scope="module")
def memory_app(small_data_dir, parted_artifacts):
    return _load_app("app_in_memory", small_data_dir, parted_artifacts)


@pytest.fixture(scope="module")
def some_ids(small_data) -> list[str]:
    """Customers of every kind: big and small spenders, and one who never bought."""
    ids = sorted(small_data.customers.index)
    never = sorted(set(ids) - set(small_data.transactions["customer_id"]))
    return [*ids[:: max(1, len(ids) // 6)][:6], *never[:1]]


def test_one_customers_rows_give_the_whole_datas_features(small_data, parted_dir, some_ids):
    config = FeatureConfig.from_data(small_data)
    parted = open_partitioned(parted_dir)
    last = small_data.last_date
    for day in (last + pd.Timedelta(days=1), last - pd.Timedelta(days=100), "2025-03-01"):
        whole = build_features(small_data, day, config)
        for cid in some_ids:
            rows = parted.customers_data([cid])
            assert list(rows.customers.index) == [cid]
            if cid not in whole.index:
                assert not (rows.transactions["date"] < pd.Timestamp(day)).any()
                continue
            mine = build_features(rows, day, config)
            pd.testing.assert_frame_equal(mine, whole.loc[[cid]], rtol=1e-9, atol=1e-9)


def test_unknown_and_no_ids_have_no_rows(parted_dir):
    parted = open_partitioned(parted_dir)
    for ids in ([], ["NOPE-1"]):
        rows = parted.customers_data(ids)
        assert rows.customers.empty and rows.transactions.empty and rows.lines.empty


def test_partitioned_data_without_saved_scores_is_refused(parted_dir, tmp_path):
    with pytest.raises(ValueError, match=r"no saved scores .* run train.py --data"):
        open_source(parted_dir, tmp_path)


def test_one_pass_scores_and_summary_equal_predict_and_summarize(parted_dir, parted_artifacts):
    data, model = open_partitioned(parted_dir), CLVModel.load(parted_artifacts)
    day = default_as_of(data)

    scores, summary = score_and_summarize(data, model, day)

    pd.testing.assert_frame_equal(scores, model.predict(data), check_exact=True)
    expected = combine_summaries([summary_of(data.part(p), model, day) for p in data])
    assert list(summary) == list(expected)
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(summary[name], frame, check_exact=True, obj=name)


def test_a_rewritten_part_makes_the_saved_scores_stale(parted_dir, parted_artifacts, tmp_path):
    moved = shutil.copytree(parted_dir, tmp_path / "moved")
    assert tree_fingerprint(moved) == tree_fingerprint(parted_dir)  # the folder may move
    assert isinstance(open_source(moved, parted_artifacts), PartitionedSource)
    changed = shutil.copytree(parted_dir, tmp_path / "changed")
    part = changed / "store_sales_line_items" / "part-00001.parquet"
    table = pq.read_table(part)  # every amount of one part up by 1, written as before
    column = table.schema.get_field_index("line_item_amount")
    amounts = pc.add(table.column(column), 1.0)
    pq.write_table(table.set_column(column, table.field(column), amounts), part)

    assert tree_fingerprint(changed) != tree_fingerprint(parted_dir)
    with pytest.raises(ValueError, match=r"no saved scores .* run train.py --data"):
        open_source(changed, parted_artifacts)


def test_the_big_app_does_not_load_the_whole_data(big_app):
    assert isinstance(big_app.SOURCE, PartitionedSource)
    assert not hasattr(big_app.SCORER, "_cache")  # no per-date cache of everyone


def test_every_customer_is_known_without_reading_the_ids(big_app, small_data):
    assert big_app.SOURCE.customer_ids.equals(small_data.customers.index.sort_values())


def test_predict_customer_is_the_same_on_parts_and_in_memory(
    big_app, memory_app, small_data, some_ids
):
    last = small_data.last_date
    for as_of in ("", f"{last - pd.Timedelta(days=60):%Y-%m-%d}", "2025-03-01"):
        for cid in some_ids:
            try:
                expected = memory_app.predict_customer(cid, as_of, progress=_no_progress)
            except gr.Error as exc:
                with pytest.raises(gr.Error, match=str(exc.message)[:40]):
                    big_app.predict_customer(cid, as_of, progress=_no_progress)
                continue
            got = big_app.predict_customer(cid, as_of, progress=_no_progress)
            assert got == expected, (cid, as_of)
            if as_of:
                explained = big_app.explain_customer(cid, as_of)
                assert explained == memory_app.explain_customer(cid, as_of)
    with pytest.raises(gr.Error, match="Unknown customer ID 'NOPE-1'"):
        big_app.predict_customer("NOPE-1", "2025-03-01", progress=_no_progress)
    with pytest.raises(gr.Error, match=r"no transactions before the cutoff|no purchase before"):
        memory_app.predict_customer(some_ids[0], "1999-01-01", progress=_no_progress)
    with pytest.raises(gr.Error, match="no purchase before 1999-01-01"):
        big_app.predict_customer(some_ids[0], "1999-01-01", progress=_no_progress)


def test_batch_scoring_by_id_is_the_same_on_parts_and_in_memory(big_app, memory_app, some_ids):
    ids = [*some_ids, "NOPE-1", ""]
    for as_of in (None, "2025-03-01"):
        got = big_app.SCORER.score(ids, as_of=as_of)
        expected = memory_app.SCORER.score(ids, as_of=as_of)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False, rtol=1e-9)


def test_lookup_chart_and_what_if_start_are_the_same(big_app, memory_app, small_data):
    cid = memory_app.EXAMPLE_IDS[0]
    big = big_app.show_lookup(*_lookup(big_app, cid))
    memory = memory_app.show_lookup(*_lookup(memory_app, cid))
    assert big[0] == memory[0]
    pd.testing.assert_frame_equal(big[1], memory[1])
    pd.testing.assert_frame_equal(big[3], memory[3])
    day = big_app.DEFAULT_AS_OF
    pd.testing.assert_frame_equal(
        big_app.SOURCE.monthly_spend(cid, day), memory_app.SOURCE.monthly_spend(cid, day)
    )
    assert big_app.load_customer(cid)[2] == memory_app.load_customer(cid)[2]


def _lookup(app, cid: str) -> tuple[dict, dict]:
    return app.predict_customer(cid, "", progress=_no_progress), app.explain_customer(cid, "")


def test_forecast_is_the_sum_of_the_saved_scores_and_matches_in_memory(big_app, memory_app):
    scores = big_app.SCORER.scores(reasons=False)
    reply = big_app.forecast("segment")
    assert reply["customers"] == len(scores)
    assert reply["total"]["expected"] == pytest.approx(scores["predicted_total"].sum(), abs=0.01)
    expected = memory_app.forecast("segment")
    _close(reply, expected)
    segment = reply["breakdown"][0]["group"]
    _close(
        big_app.forecast("loyalty_tier", "segment", segment),
        memory_app.forecast("loyalty_tier", "segment", segment),
    )
    day = big_app.DEFAULT_AS_OF
    for where in (None, {"segment": segment}, {"channel": "online"}):
        got, want = big_app._revenue_history(day, where), memory_app._revenue_history(day, where)
        for target in want:
            pd.testing.assert_frame_equal(got[target], want[target], rtol=1e-9)


def _close(got: object, expected: object) -> None:
    """Equal JSON replies, numbers to the cent (sums over parts add in another order)."""
    if isinstance(expected, dict):
        assert list(got) == list(expected)
        for k in expected:
            _close(got[k], expected[k])
    elif isinstance(expected, list):
        assert len(got) == len(expected)
        for a, b in zip(got, expected, strict=True):
            _close(a, b)
    elif isinstance(expected, float) and not math.isnan(expected):
        assert got == pytest.approx(expected, abs=0.011)
    else:
        assert got == expected


@pytest.mark.parametrize(
    ("kind", "target"),
    [("top", "total"), ("lapse", "total"), ("cross_sell", None), ("new", "total"),
     ("category_loyal", "total"), ("multi_category", "total")],
)  # fmt: skip
def test_customer_lists_are_the_same_on_parts_and_in_memory(big_app, memory_app, kind, target):
    target = target or big_app.MODEL.categories[0]
    got = big_app.customer_list(kind, 50, target)
    expected = memory_app.customer_list(kind, 50, target)
    _close(got, expected)


@pytest.mark.parametrize("handler", ["forecast", "customer_list"])
def test_everyone_at_another_date_is_refused_with_the_batch_command(big_app, handler):
    args = ("segment", None, None, "2025-03-01") if handler == "forecast" else (
        "top", 10, "total", None, None, "2025-03-01")  # fmt: skip
    with pytest.raises(gr.Error, match=r"single-customer lookups only.*clvmodel-score .*--as-of"):
        getattr(big_app, handler)(*args)


def test_model_info_counts_the_saved_scores(big_app, memory_app):
    got, expected = big_app.model_info(), memory_app.model_info()
    for key in ("status", "customers_with_history", "customers_scored", "default_as_of"):
        assert got[key] == expected[key]
    assert np.isfinite(got["customers_scored"])


def test_train_as_of_on_partitioned_data_trains_and_scores_as_on_the_tables(
    parted_dir, small_data_dir, small_data, tmp_path
):
    import train

    dates = small_data.transactions["date"]
    day = dates[dates < "2025-08-01"].max() + pd.Timedelta(days=1)
    runs = {}
    for name, folder in (("parts", parted_dir), ("tables", small_data_dir)):
        out = tmp_path / name
        code = train.main(["--data", str(folder), "--out", str(out), "--card",
                           str(tmp_path / f"{name}.md"), "--quick", "--cutoffs", "3",
                           "--as-of", f"{day:%Y-%m-%d}"])  # fmt: skip
        assert code == 0
        runs[name] = (CLVModel.load(out), load_json(out / "metadata.json")["data"], out)

    (parts, meta, out), (tables, meta_tables, out_tables) = runs["parts"], runs["tables"]
    assert parts.info_["default_as_of"] == f"{day:%Y-%m-%d}"
    for key in ("as_of", "first_date", "last_date", "n_customers", "n_transactions"):
        assert meta[key] == meta_tables[key], key
    # The same models and metrics; the metrics to the last bits only (sums over the rows,
    # which the parts hold in another order). The CSV tables' run also has the synthetic
    # oracle (read whole), which the partitioned run does not compute.
    report, report_tables = _flat(parts.report_.to_dict()), _flat(tables.report_.to_dict())
    report_tables = {k: v for k, v in report_tables.items() if "/oracle" not in k}
    report.pop("/train_seconds"), report_tables.pop("/train_seconds")
    assert report == pytest.approx(report_tables, rel=1e-12, abs=1e-12, nan_ok=True)
    scores = pd.read_parquet(out / "scores.parquet")
    pd.testing.assert_frame_equal(scores, pd.read_parquet(out_tables / "scores.parquet"),
                                  check_exact=False, rtol=1e-12)  # fmt: skip


def _flat(value, path: str = "") -> dict:
    """A nested report as ``{"/a/b[0]": leaf}``."""
    if isinstance(value, dict):
        items = [(f"{path}/{key}", item) for key, item in value.items()]
    elif isinstance(value, list):
        items = [(f"{path}[{i}]", item) for i, item in enumerate(value)]
    else:
        return {path: value}
    return {k: v for where, item in items for k, v in _flat(item, where).items()}
