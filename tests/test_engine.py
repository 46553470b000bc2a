"""Partition by partition: features, targets and scores of a partitioned data set equal
those of the whole data, in this process and on a Dask LocalCluster."""

import json

import pandas as pd
import pytest

from clvmodel.cli import score as score_cli
from clvmodel.dataset import from_tables
from clvmodel.engine import map_parts
from clvmodel.features import FeatureConfig, build_features, build_targets
from clvmodel.model import CLVModel
from clvmodel.partitions import open_partitioned, partition_of, write_partitioned
from clvmodel.sample import training_data
from clvmodel.schema import read_tables
from clvmodel.score_folder import SCORES_FILE

CUTOFF = pd.Timestamp("2025-09-01")


@pytest.fixture(scope="module")
def parted(small_data_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("parted_engine")
    write_partitioned(read_tables(small_data_dir), folder, n_parts=3)
    return open_partitioned(folder)


@pytest.fixture(scope="module")
def model(trained_artifacts):
    return CLVModel.load(trained_artifacts)


def _features(data, part, cutoff, config):
    return build_features(data.part(part), cutoff, config)


def test_features_and_targets_by_part_equal_the_whole(small_data, parted):
    config = FeatureConfig.from_data(small_data)
    whole = build_features(small_data, CUTOFF, config)

    by_part = pd.concat(map_parts(_features, parted, CUTOFF, config)).sort_index()
    targets = pd.concat(
        build_targets(parted.part(p), CUTOFF, config, parts.index)
        for p, parts in zip(parted, map_parts(_features, parted, CUTOFF, config), strict=True)
    ).sort_index()

    pd.testing.assert_frame_equal(by_part, whole, check_exact=True)
    pd.testing.assert_frame_equal(targets, build_targets(small_data, CUTOFF, config, whole.index))


def test_scores_by_part_equal_the_whole(small_data, parted, model):
    whole = model.predict(small_data)

    by_part = model.predict(parted)

    assert by_part["cold_start"].any()  # cold-start customers are scored per part too
    pd.testing.assert_frame_equal(by_part, whole, check_exact=True)
    as_of = model.predict(parted, as_of="2025-06-15", reasons=False)
    pd.testing.assert_frame_equal(
        as_of, model.predict(small_data, as_of="2025-06-15", reasons=False), check_exact=True
    )


def test_small_parts_that_end_before_the_base_are_scored_as_of_its_end(
    small_data_dir, small_data, model, tmp_path
):
    tables = read_tables(small_data_dir)
    many = open_partitioned(write_partitioned(tables, tmp_path / "many", n_parts=40))
    ends = [many.part(p).last_date for p in range(5)]
    assert min(ends) < many.last_date  # parts whose last purchase is before the base's

    by_part = model.predict(many, reasons=False)

    # Equal to the last bits but for 3 of 400 customers, off by about 3e-16 (relative) in
    # parts of 6 to 9 customers: floating-point work done over arrays of another size.
    pd.testing.assert_frame_equal(by_part, model.predict(small_data, reasons=False),
                                  check_exact=False, rtol=1e-12, atol=0)  # fmt: skip
    with pytest.raises(ValueError, match="no transactions before the as-of date 2020-01-01"):
        model.predict(many, as_of="2020-01-01")


def test_a_part_without_customers_is_skipped(small_data_dir, model, tmp_path):
    tables = read_tables(small_data_dir)
    gone = partition_of(tables["customer_details"]["customer_id"], 3) == 2
    keep = set(tables["customer_details"].loc[~gone, "customer_id"])
    header = tables["store_sales_header"]
    header = header[header["customer_id"].isin(keep)]
    lines = tables["store_sales_line_items"]
    tables |= {
        "customer_details": tables["customer_details"][~gone],
        "store_sales_header": header,
        "store_sales_line_items": lines[lines["transaction_id"].isin(header["transaction_id"])],
    }
    parted = open_partitioned(write_partitioned(tables, tmp_path, n_parts=3))

    assert parted.tables(2)["customer_details"].empty
    pd.testing.assert_frame_equal(
        model.predict(parted, reasons=False),
        model.predict(from_tables(tables), reasons=False),
        check_exact=True,
    )


def _rows(path):
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_score_cli_on_partitioned_data_writes_the_same_rows(
    trained_artifacts, small_data_dir, parted, tmp_path
):
    args = ["--artifacts", str(trained_artifacts), "--as-of", "2025-08-01"]

    assert (
        score_cli.main([*args, "--data", str(small_data_dir), "--output", str(tmp_path / "a.csv")])
        == 0
    )
    assert score_cli.main([*args, "--data", parted.path, "--output", str(tmp_path / "b.csv")]) == 0

    whole, by_part = _rows(tmp_path / "a.csv"), _rows(tmp_path / "b.csv")
    # Written part after part: rows come in part order, each part's as predict orders them.
    parts = partition_of(by_part["customer_id"], parted.n_parts)
    assert (pd.Series(parts).diff().dropna() >= 0).all()
    order = by_part.sort_values(["cold_start", "customer_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(order, whole)
    assert not list(tmp_path.glob("*.xlsx"))  # only the file asked for


def test_predict_parts_scores_one_part_at_a_time(parted, model):
    parts = model.predict_parts(parted, reasons=False)

    first = next(parts)

    ids = first["customer_id"].to_numpy()
    assert len(ids) and (partition_of(ids, parted.n_parts) == 0).all()
    rest = [p for p in parts if p is not None]
    everyone = pd.concat([first, *rest])
    assert len(everyone) == len(model.predict(parted, reasons=False))


def test_scores_folder_holds_each_part_and_equals_predict(
    parted, model, trained_artifacts, tmp_path
):
    folder = tmp_path / "scores"

    rows = model.write_predictions(parted, folder, as_of="2025-08-01")

    whole = model.predict(parted, as_of="2025-08-01")
    assert rows == len(whole)
    manifest = json.loads((folder / SCORES_FILE).read_text())
    assert manifest == {"layout": "clvmodel-scores", "version": 1, "as_of": "2025-08-01",
                        "n_parts": 3, "rows": rows}  # fmt: skip
    files = sorted(p.name for p in folder.glob("part-*.parquet"))
    assert files == [f"part-0000{p}.parquet" for p in range(3)]
    for p, name in enumerate(files):  # each file holds its data part's customers
        ids = pd.read_parquet(folder / name)["customer_id"]
        assert (partition_of(ids, 3) == p).all()
    read = pd.read_parquet(folder).sort_values(["cold_start", "customer_id"])
    pd.testing.assert_frame_equal(read.reset_index(drop=True), whole, check_exact=True)

    # The CLI writes the same folder, replacing an earlier run's parts, never mixing them.
    (folder / "part-00007.parquet").write_bytes(b"stale")
    args = ["--artifacts", str(trained_artifacts), "--data", parted.path, "--as-of", "2025-08-01"]
    assert score_cli.main([*args, "--output", str(folder)]) == 0
    assert sorted(p.name for p in folder.glob("part-*.parquet")) == files
    again = pd.read_parquet(folder).sort_values(["cold_start", "customer_id"])
    pd.testing.assert_frame_equal(again.reset_index(drop=True), whole, check_exact=True)


def test_scores_folder_refuses_a_folder_of_other_files(
    parted, model, tmp_path, capsys, trained_artifacts, small_data_dir
):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")

    with pytest.raises(ValueError, match=r"notes\.txt"):
        model.write_predictions(parted, folder)
    code = score_cli.main(["--artifacts", str(trained_artifacts), "--data", str(small_data_dir),
                           "--output", str(folder)])  # fmt: skip

    assert code == 1 and "not scores (notes.txt)" in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_score_cli_folder_output_of_whole_data_is_one_part(
    trained_artifacts, small_data_dir, small_data, model, tmp_path
):
    out = tmp_path / "scores"

    code = score_cli.main(["--artifacts", str(trained_artifacts), "--data", str(small_data_dir),
                           "--output", f"{out}/"])  # fmt: skip

    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == [SCORES_FILE, "part-00000.parquet"]
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "part-00000.parquet"), model.predict(small_data), check_exact=True
    )


def test_engine_errors_are_plain(model, parted, small_data_dir, trained_artifacts, capsys):
    with pytest.raises(ValueError, match=r"'engine' parameter of CLVModel must be a str among"):
        CLVModel(engine="spark").check_params()
    with pytest.raises(ValueError, match="needs engine='dask'"):
        CLVModel(scheduler="tcp://x:1").check_params()
    with pytest.raises(ValueError, match="is after the data"):
        model.predict(parted, as_of="2030-01-01")
    code = score_cli.main(["--artifacts", str(trained_artifacts), "--data", str(small_data_dir),
                           "--output", "x.csv", "--engine", "dask"])  # fmt: skip
    assert code == 1
    assert "scores partitioned data" in capsys.readouterr().err


def test_engine_is_not_part_of_the_model(model):
    assert (
        model.set_params(engine="dask").config_id() == model.set_params(engine="local").config_id()
    )


def test_dask_local_cluster_scores_as_in_process(parted, model, tmp_path):
    distributed = pytest.importorskip("distributed")
    local = model.predict(parted)

    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        on_dask = model
        on_dask.set_params(engine="dask", scheduler=cluster.scheduler_address)
        try:
            scores = on_dask.predict(parted)
            rows = on_dask.write_predictions(parted, tmp_path / "scores")
            # The training sample: each worker filters its parts; the rows are gathered.
            sampled, sample = training_data(parted, 150, engine="dask",
                                            scheduler=cluster.scheduler_address)  # fmt: skip
        finally:
            on_dask.set_params(engine="local", scheduler=None)

    pd.testing.assert_frame_equal(scores, local, check_exact=True)
    # Workers wrote their own parts.
    written = pd.read_parquet(tmp_path / "scores").sort_values(["cold_start", "customer_id"])
    assert rows == len(local)
    pd.testing.assert_frame_equal(written.reset_index(drop=True), local, check_exact=True)
    here, here_sample = training_data(parted, 150)
    assert sample == here_sample and sample.customers < 200
    pd.testing.assert_frame_equal(sampled.transactions, here.transactions, check_exact=True)
    pd.testing.assert_frame_equal(sampled.customers, here.customers, check_exact=True)


def test_scores_folder_at_a_url(parted, model):
    fsspec = pytest.importorskip("fsspec")

    rows = model.write_predictions(parted, "memory://scores-url/out", reasons=False)

    fs = fsspec.filesystem("memory")
    names = sorted(p.rsplit("/", 1)[-1] for p in fs.ls("/scores-url/out", detail=False))
    assert names == [SCORES_FILE, "part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    read = pd.concat(
        pd.read_parquet(f"memory://scores-url/out/{n}") for n in names if n.endswith(".parquet")
    )
    assert rows == len(read) == len(model.predict(parted, reasons=False))
