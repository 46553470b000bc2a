"""Training on a transaction log with --as-of, and the scoring CLI end to end.

Two quick models are trained once for the module, both as of ``AS_OF``: one on a log
whose rows from ``AS_OF`` on are wild (amounts x1000, a new customer, a new category),
one on the same log cut before ``AS_OF``. If anything dated from ``AS_OF`` on were read,
the two would differ.
"""

import json

import pandas as pd
import pytest

import train
from clvmodel.cli import score
from clvmodel.model import CLVModel, prediction_columns
from clvmodel.prediction import CustomerScorer
from clvmodel.transactions import read_transactions

AS_OF = "2025-10-15"
QUICK = ["--quick", "--cutoffs", "3", "--models", "ridge",
         "--probability-models", "logistic"]  # fmt: skip


def _log(small_data) -> pd.DataFrame:
    """The small data set as a log; IDs made all digits with leading zeros ("00000042")."""
    lines = small_data.lines.merge(
        small_data.transactions[["transaction_id", "store_id"]], on="transaction_id"
    )
    return pd.DataFrame(
        {
            "customer_id": "00" + lines["customer_id"].str.slice(1),
            "transaction_date": lines["date"].dt.strftime("%Y-%m-%d"),
            "amount": lines["amount"],
            "category": lines["category"],
            "quantity": lines["quantity"],
            "store_id": lines["store_id"],
            "transaction_id": lines["transaction_id"],
        }
    )


@pytest.fixture(scope="module")
def logs(small_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("logs")
    log = _log(small_data)
    future = log["transaction_date"] >= AS_OF
    assert future.sum() > 100 and (~future).sum() > 1000
    wild = log.copy()
    wild.loc[future, "amount"] *= 1000
    newcomer = pd.DataFrame(
        {
            "customer_id": "99999999",
            "transaction_date": [AS_OF, "2025-10-20"],  # the as-of day itself is the future
            "amount": [1e6, -5.0],
            "category": "yachts",
            "quantity": 1,
            "store_id": "S99",
            "transaction_id": ["TX1", "TX2"],
        }
    )
    paths = {
        "wild": folder / "wild.csv",
        "cut": folder / "cut.csv",
        "no_category": folder / "no_category.csv",
    }
    pd.concat([wild, newcomer]).to_csv(paths["wild"], index=False)
    log[~future].to_csv(paths["cut"], index=False)
    log[~future].drop(columns="category").to_csv(paths["no_category"], index=False)
    return paths


@pytest.fixture(scope="module")
def models(logs, tmp_path_factory):
    """Artifacts trained as of AS_OF on the wild log and on the cut one."""
    out = {}
    for name in ("wild", "cut"):
        folder = tmp_path_factory.mktemp(f"artifacts_{name}")
        code = train.main(
            ["--transactions", str(logs[name]), "--as-of", AS_OF, "--out", str(folder),
             "--card", str(folder / "model_card.md"), *QUICK]
        )  # fmt: skip
        assert code == 0
        out[name] = folder
    return out


def _json(path):
    return json.loads(path.read_text())


# ------------------------------------------------------------------------- train --as-of


def test_as_of_reads_nothing_from_that_day(models):
    wild, cut = (_json(models[k] / "metrics.json") for k in ("wild", "cut"))
    wild_meta, cut_meta = (_json(models[k] / "metadata.json") for k in ("wild", "cut"))

    wild.pop("train_seconds"), cut.pop("train_seconds")
    assert wild == cut
    for key in ("feature_names", "feature_config", "typical_features", "cutoffs", "targets",
                "absent_feature_groups", "default_as_of"):  # fmt: skip
        assert wild_meta[key] == cut_meta[key], key
    for key in ("first_date", "last_date", "n_customers", "n_transactions", "as_of"):
        assert wild_meta["data"][key] == cut_meta["data"][key], key
    assert "yachts" not in wild_meta["feature_config"]["categories"]
    assert wild_meta["default_as_of"] == AS_OF
    assert wild_meta["cutoffs"]["test"] == "2025-09-01"  # its 30 days end before AS_OF
    assert wild_meta["data"]["format"] == "transaction log"
    assert wild_meta["currency"] == "" == wild["currency"]  # a log names no currency unless told


def test_log_model_lists_absent_feature_groups(models):
    meta = _json(models["cut"] / "metadata.json")

    absent = [g["group"] for g in meta["absent_feature_groups"]]
    assert absent == ["products", "channel", "regions", "promotions", "attributes",
                      "loyalty_points"]  # fmt: skip
    assert all(g["needs"] and g["features"] for g in meta["absent_feature_groups"])
    assert "loyalty_points" not in meta["feature_names"]


# ---------------------------------------------------------------------------- score CLI


def _run(capsys, *argv) -> tuple[int, str]:
    code = score.main([str(a) for a in argv])
    return code, capsys.readouterr().err


def _read(path) -> pd.DataFrame:
    if str(path).endswith(".xlsx"):
        return pd.read_excel(path, dtype=str, keep_default_na=False)
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_score_cli_writes_every_customer_with_the_app_scorer(models, logs, tmp_path, capsys):
    output = tmp_path / "scores.csv"

    code, err = _run(capsys, "--artifacts", models["cut"], "--transactions", logs["cut"],
                     "--as-of", AS_OF, "--output", output)  # fmt: skip

    assert code == 0, err
    out = _read(output)
    predictor = CLVModel.load(models["cut"])
    data = read_transactions(logs["cut"]).data
    expected = CustomerScorer(predictor, data).scores(AS_OF)
    assert list(out.columns) == ["customer_id", "as_of", *expected.columns]
    assert set(prediction_columns(predictor.categories)) <= set(out.columns)
    # Every customer with history, IDs exactly as in the log (leading zeros kept).
    assert out["customer_id"].tolist() == expected.index.tolist()
    assert set(out["customer_id"]) == set(pd.read_csv(logs["cut"], dtype=str)["customer_id"])
    assert out["customer_id"].str.startswith("00").all()
    assert (out["as_of"] == AS_OF).all()
    pd.testing.assert_series_equal(
        out["predicted_total"].astype(float),
        expected["predicted_total"].round(2).reset_index(drop=True),
        check_names=False,
    )
    assert out["purchase_probability"].astype(float).between(0, 1).all()


def test_score_cli_as_of_ignores_later_rows_and_writes_excel(models, logs, tmp_path, capsys):
    cut, wild = tmp_path / "cut.xlsx", tmp_path / "wild.xlsx"

    for log, output in ((logs["cut"], cut), (logs["wild"], wild)):
        code, err = _run(capsys, "--artifacts", models["cut"], "--transactions", log,
                         "--as-of", AS_OF, "--output", output)  # fmt: skip
        assert code == 0, err

    pd.testing.assert_frame_equal(_read(wild), _read(cut))
    assert _read(cut)["customer_id"].str.startswith("00").all()


def test_score_cli_maps_columns(models, logs, tmp_path, capsys):
    renamed = pd.read_csv(logs["cut"], dtype=str).rename(
        columns={"customer_id": "Kunde", "transaction_date": "Datum"}
    )
    renamed.to_csv(tmp_path / "renamed.csv", index=False)

    code, err = _run(capsys, "--artifacts", models["cut"], "--transactions",
                     tmp_path / "renamed.csv", "--map", "Kunde=customer_id", "--map",
                     "Datum=transaction_date", "--as-of", AS_OF, "--output",
                     tmp_path / "mapped.csv")  # fmt: skip

    assert code == 0, err
    _run(capsys, "--artifacts", models["cut"], "--transactions", logs["cut"],
         "--as-of", AS_OF, "--output", tmp_path / "plain.csv")  # fmt: skip
    pd.testing.assert_frame_equal(_read(tmp_path / "mapped.csv"), _read(tmp_path / "plain.csv"))


def test_score_cli_on_the_seven_tables(trained_artifacts, small_data_dir, tmp_path, capsys):
    output = tmp_path / "scores.csv"

    code, err = _run(capsys, "--artifacts", trained_artifacts, "--data", small_data_dir,
                     "--as-of", AS_OF, "--output", output)  # fmt: skip

    assert code == 0, err
    out = _read(output)
    assert out["customer_id"].is_unique and len(out) > 100
    assert out["customer_id"].str.match(r"^C\d{6}$").all()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"drop": "amount"}, r"missing column\(s\) \['amount'\]", id="missing-column"),
        pytest.param(
            {"log": "no_category"}, r"trained on categories \['electronics'", id="categories"
        ),
        pytest.param({"output": "scores.json"}, "a file ending in .csv or .xlsx", id="output"),
        pytest.param({"as_of": "someday"}, "as_of must be a date", id="as-of"),
        pytest.param({"as_of": "2020-01-01"}, "no transactions before", id="as-of-early"),
        pytest.param({"artifacts": "nowhere"}, "nowhere", id="artifacts"),
    ],
)
def test_score_cli_user_errors_exit_1_with_one_line(models, logs, tmp_path, capsys, change,
                                                    message):  # fmt: skip
    log = logs[change.get("log", "cut")]
    if "drop" in change:
        log = tmp_path / "log.csv"
        pd.read_csv(logs["cut"], dtype=str).drop(columns=change["drop"]).to_csv(log, index=False)
    artifacts = tmp_path / change["artifacts"] if "artifacts" in change else models["cut"]

    code, err = _run(capsys, "--artifacts", artifacts, "--transactions", log,
                     "--as-of", change.get("as_of", AS_OF),
                     "--output", tmp_path / change.get("output", "scores.csv"))  # fmt: skip

    assert code == 1
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert pd.Series([err]).str.contains(message).item(), err
    assert not (tmp_path / "scores.csv").exists()


def test_score_cli_usage_errors_exit_1(capsys):
    code = None
    with pytest.raises(SystemExit) as exc:
        score.main(["--artifacts", "a", "--output", "b.csv"])
    code = exc.value.code
    assert code == 1
    assert "one of the arguments --data --transactions is required" in capsys.readouterr().err


def test_log_without_category_trains_and_scores_total_only(logs, tmp_path, capsys):
    artifacts, output = tmp_path / "artifacts", tmp_path / "scores.csv"
    assert train.main(
        ["--transactions", str(logs["no_category"]), "--as-of", AS_OF, "--out", str(artifacts),
         "--card", str(tmp_path / "model_card.md"), "--currency", " EUR ", *QUICK]
    ) == 0  # fmt: skip

    code, err = _run(capsys, "--artifacts", artifacts, "--transactions", logs["no_category"],
                     "--output", output)  # fmt: skip

    assert code == 0, err
    meta = _json(artifacts / "metadata.json")
    assert set(meta["targets"]) >= {"total", "purchase"}
    assert meta["feature_config"]["categories"] == []
    assert meta["currency"] == "EUR" == _json(artifacts / "metrics.json")["currency"]
    assert "categories" in [g["group"] for g in meta["absent_feature_groups"]]
    columns = _read(output).columns.tolist()
    assert columns[:2] == ["customer_id", "as_of"]
    assert [c for c in columns if c.startswith("predicted_") and "total" not in c] == []
    assert set(prediction_columns(())) <= set(columns)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--data", "no/such/folder"], "no/such/folder"),
        (["--transactions", "no_such.csv"], "no_such.csv"),
        (["--data", "no/such/folder", "--map", "a=customer_id"], "--map"),
        (["--cutoffs", "0"], "n_cutoffs"),
    ],
    ids=["missing-folder", "missing-log", "map-for-tables", "bad-option"],
)
def test_train_user_errors_exit_1_with_one_line(argv, message, tmp_path, caplog):
    code = train.main([*argv, "--out", str(tmp_path / "a"), "--card", str(tmp_path / "c.md")])

    assert code == 1
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "\n" not in errors[0] and message in errors[0], errors
    assert not (tmp_path / "a").exists()
