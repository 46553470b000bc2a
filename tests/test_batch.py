"""Batch scoring: reading uploads, scoring by ID or by features, writing results safely."""

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from clvmodel import batch
from clvmodel.model import CLVModel, prediction_columns
from clvmodel.prediction import CustomerScorer


@pytest.fixture(scope="module")
def scorer(trained_artifacts, small_data) -> CustomerScorer:
    return CustomerScorer(CLVModel.load(trained_artifacts), small_data)


@pytest.fixture(scope="module")
def known_ids(scorer) -> list[str]:
    """Three customers with history before the default as-of date."""
    return list(scorer.features().index[:3])


def _csv(tmp_path: Path, text: str, name: str = "upload.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _xlsx(tmp_path: Path, rows: list[list], name: str = "upload.xlsx") -> Path:
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    path = tmp_path / name
    wb.save(path)
    return path


# ------------------------------------------------------------------ read_upload


def test_read_csv_keeps_ids_as_text_and_normalises_header(tmp_path):
    path = _csv(tmp_path, " Customer ID ,Note\n007,a\nC000001,\n")
    table = batch.read_upload(path)
    assert list(table.columns) == ["customer_id", "note"]
    assert table["customer_id"].tolist() == ["007", "C000001"]
    assert table["note"].tolist() == ["a", ""]


@pytest.mark.parametrize("sep", [";", "\t", "|"], ids=["semicolon", "tab", "pipe"])
def test_read_csv_recognises_delimiters(tmp_path, sep):
    path = _csv(tmp_path, f"customer_id{sep}days_since_last\nC1{sep}5\n")
    assert batch.read_upload(path).to_dict("list") == {
        "customer_id": ["C1"],
        "days_since_last": ["5"],
    }


def test_read_xlsx_even_with_a_csv_extension(tmp_path):
    path = _xlsx(tmp_path, [["customer_id"], ["007"], ["C000002"]], name="really_excel.csv")
    assert batch.read_upload(path)["customer_id"].tolist() == ["007", "C000002"]


def test_read_csv_even_with_an_xlsx_extension(tmp_path):
    path = _csv(tmp_path, "customer_id\n007\n", name="really_text.xlsx")
    assert batch.read_upload(path)["customer_id"].tolist() == ["007"]


def test_read_xlsx_numbers_become_text_without_trailing_zero(tmp_path):
    path = _xlsx(tmp_path, [["days_since_last", "spend_30d"], [5, 12.5]])
    assert batch.read_upload(path).iloc[0].tolist() == ["5", "12.5"]


def test_empty_file(tmp_path):
    path = _csv(tmp_path, "", name="empty.csv")
    with pytest.raises(ValueError, match=r"empty\.csv is empty \(0 bytes\)"):
        batch.read_upload(path)


def test_header_without_rows(tmp_path):
    path = _csv(tmp_path, "customer_id\n\n", name="header_only.csv")
    with pytest.raises(ValueError, match=r"header_only\.csv has a header .* but no data rows"):
        batch.read_upload(path)


def test_size_limit_is_checked_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "MAX_UPLOAD_BYTES", 1024 * 1024)
    path = tmp_path / "big.csv"
    path.write_bytes(b"customer_id\n" + b"C000001\n" * 200_000)  # 1.6 MB
    with pytest.raises(ValueError, match=r"big\.csv is 1\.5 MB; the limit is 1\.0 MB"):
        batch.read_upload(path)


def test_binary_file_is_not_a_table(tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(ValueError, match=r"photo\.csv is not a table"):
        batch.read_upload(path)


def test_damaged_zip_is_not_a_workbook(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not really a zip archive")
    with pytest.raises(ValueError, match=r"broken\.xlsx is not a readable Excel workbook"):
        batch.read_upload(path)


def test_old_xls_asks_for_xlsx(tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    with pytest.raises(ValueError, match=r"old\.xls is an old-format Excel .* \.xlsx"):
        batch.read_upload(path)


def test_a_line_with_too_many_fields_is_a_bad_row_not_a_bad_file(tmp_path):
    path = _csv(tmp_path, 'customer_id;b\nC1;2\n"C2;x";3\nC3;3;4;5\n', name="ragged.csv")
    table = batch.read_upload(path)
    assert table["customer_id"].tolist() == ["C1", "C2;x", ""]  # quoted separators are fine
    assert table.attrs[batch.ROW_ERRORS] == {
        2: "line 4 has 4 fields where the header has 2 (C3;3;4;5); put a value that contains "
        "a semicolon in double quotes"
    }


def test_an_unquoted_formula_line_is_reported_and_the_rest_scored(scorer, tmp_path):
    known = scorer.features().index[:2]
    path = _csv(
        tmp_path,
        f'customer_id\n{known[0]}\n=HYPERLINK("a","b")\n{known[1]}\n=HYPERLINK("c","d")\n',
        name="links.csv",
    )
    table = batch.read_upload(path)
    assert len(table) == 4  # the last line is a row too, though its cells are empty
    results, summary = batch.score_table(scorer, table)
    assert (summary["rows"], summary["scored"], summary["rejected"]) == (4, 2, 2)
    assert results["error"].str.startswith("line 3 has 2 fields").tolist() == [
        False, True, False, False
    ]  # fmt: skip
    assert results.loc[3, "error"].startswith("line 5 has 2 fields where the header has 1")
    assert results.loc[[1, 3], "predicted_total"].isna().all()
    assert results.loc[[0, 2], "predicted_total"].notna().all()


def test_duplicate_columns(tmp_path):
    path = _csv(tmp_path, "customer_id,Customer ID\nC1,C2\n", name="dupes.csv")
    with pytest.raises(ValueError, match=r"duplicate column\(s\) \['customer_id'\]"):
        batch.read_upload(path)


# ------------------------------------------------------------------ score_table: IDs


def test_ids_mode_scores_good_rows_and_reports_bad_ones(scorer, known_ids):
    table = pd.DataFrame({"customer_id": [known_ids[0], "NOPE", "", known_ids[1]], "x": "1"})
    results, summary = batch.score_table(scorer, table)
    columns = prediction_columns(scorer.model.categories)
    assert list(results.columns[:2]) == ["customer_id", "as_of"]
    assert set(columns) <= set(results.columns)
    assert results.columns[-1] == "error"
    assert results["customer_id"].tolist() == [known_ids[0], "NOPE", "", known_ids[1]]
    assert results["error"].tolist() == [
        "",
        "unknown customer_id: not in the customer table",
        "empty customer_id",
        "",
    ]
    assert results.loc[[0, 3], columns].notna().all(axis=None)
    assert results.loc[[1, 2], columns].isna().all(axis=None)
    expected = scorer.scores().loc[[known_ids[0], known_ids[1]], "predicted_total"].to_numpy()
    np.testing.assert_allclose(results.loc[[0, 3], "predicted_total"], expected)
    assert summary == {
        "rows": 4,
        "scored": 2,
        "rejected": 2,
        "mode": "customer_id",
        "filled_features": [],
        "ignored_columns": ["x"],
        "as_of": f"{scorer.default_as_of:%Y-%m-%d}",
        "duplicated_rows": 0,
    }
    assert not results["duplicate"].any()


def test_ids_are_matched_by_the_one_id_rule_and_duplicates_flagged(scorer, known_ids):
    cid = known_ids[0]
    typed = [cid.lower(), f"  {cid} ", known_ids[1], "nope", "", ""]
    results, summary = batch.score_table(scorer, pd.DataFrame({"customer_id": typed}))
    assert len(results) == len(typed)  # one output row per input row
    assert results["customer_id"].tolist() == [cid, cid, known_ids[1], "nope", "", ""]
    assert results["error"].tolist()[:3] == ["", "", ""]
    assert results["duplicate"].tolist() == [True, True, False, False, False, False]
    assert summary["duplicated_rows"] == 2
    assert results.loc[0, "predicted_total"] == results.loc[1, "predicted_total"]
    assert list(results.columns[-2:]) == ["duplicate", "error"]


def test_ids_mode_bad_as_of(scorer, known_ids):
    with pytest.raises(ValueError, match="as_of must be a date"):
        batch.score_table(scorer, pd.DataFrame({"customer_id": known_ids}), as_of="yesterday")


# ------------------------------------------------------------------ score_table: features


@pytest.fixture(scope="module")
def feature_rows(scorer, known_ids) -> pd.DataFrame:
    """Three customers' real features, as text, as read_upload would give them."""
    return scorer.features().loc[known_ids].reset_index(drop=True).astype(str)


def test_features_mode_matches_scoring_by_id(scorer, known_ids, feature_rows):
    results, summary = batch.score_table(scorer, feature_rows)
    columns = prediction_columns(scorer.model.categories)
    assert list(results.columns) == [*columns, "error"]
    numbers = results[columns].select_dtypes("number").columns
    assert "predicted_total" in numbers
    np.testing.assert_allclose(
        results[numbers].to_numpy(float), scorer.scores().loc[known_ids, numbers].to_numpy(float)
    )
    assert summary["mode"] == "features"
    assert summary["as_of"] is None
    assert (summary["rows"], summary["scored"], summary["rejected"]) == (3, 3, 0)


def test_features_mode_bad_cells_reject_only_their_row(scorer, feature_rows):
    table = feature_rows.copy()
    table.loc[0, "days_since_last"] = "twelve"
    table.loc[1, "txn_count_30d"] = "-1"
    results, summary = batch.score_table(scorer, table)
    assert results.loc[0, "error"] == "days_since_last: 'twelve' is not a number"
    assert results.loc[1, "error"] == "txn_count_30d must be >= 0; got -1"
    assert results.loc[2, "error"] == ""
    assert results.loc[[0, 1], "predicted_total"].isna().all()
    assert results.loc[2, "predicted_total"] >= 0
    assert (summary["scored"], summary["rejected"]) == (1, 2)


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        (
            {"days_since_last": "40", "days_since_first": "10"},
            "days_since_last must be <= days_since_first (the last purchase cannot come "
            "before the first); got 40 > 10",
        ),
        ({"share_home": "1.5"}, "share_home must be between 0 and 1; got 1.5"),
        ({"cutoff_month": "13"}, "cutoff_month must be a whole month number 1..12; got 13"),
        ({"spend_30d": "inf"}, "spend_30d: 'inf' is not a number"),
        (
            {"days_since_last": "x", "n_stores": "-2"},
            "days_since_last: 'x' is not a number; n_stores must be >= 0; got -2",
        ),
        (
            {"txn_count_30d": "5", "txn_count_90d": "2"},
            "txn_count_30d must be <= txn_count_90d; got 5 > 2",
        ),
        (
            {"spend_90d": "900", "spend_365d": "100", "returns_365d": "50"},
            "spend_90d must be <= spend_365d plus returns_365d (returns in the last 365 days); "
            "got 900 > 100",
        ),
        ({"spend_90d": "140", "spend_365d": "100", "returns_365d": "50"}, ""),
    ],
    ids=[
        "recency-beyond-tenure",
        "share-above-one",
        "month-13",
        "infinite",
        "two-problems",
        "count-windows",
        "spend-windows",
        "spend-windows-explained-by-returns",
    ],
)
def test_range_checks(cells, message, scorer):
    results, _ = batch.score_table(scorer, pd.DataFrame({k: [v] for k, v in cells.items()}))
    assert results.loc[0, "error"] == message


def test_negative_spend_is_allowed(scorer):
    results, _ = batch.score_table(scorer, pd.DataFrame({"spend_30d": ["-250"]}))
    assert results.loc[0, "error"] == ""


def test_missing_columns_are_filled_with_typical_values(scorer):
    predictor = scorer.model
    table = pd.DataFrame({"days_since_last": ["3", "300"], "extra": ["a", "b"]})
    results, summary = batch.score_table(scorer, table)
    assert summary["filled_features"] == [
        f for f in predictor.feature_names_ if f != "days_since_last"
    ]
    assert summary["ignored_columns"] == ["extra"]
    assert summary["derived_features"] == ["overdue_ratio", "daily_spend_rate"]
    x = batch.typical_values(predictor).to_frame().T
    x = pd.concat([x, x], ignore_index=True).assign(days_since_last=[3.0, 300.0])
    # the overdue ratio follows the days since the last purchase given
    x["overdue_ratio"] = x["days_since_last"] / x["gap_mean_days"]
    expected = predictor.predict_features(x)
    np.testing.assert_allclose(results["predicted_total"], expected["predicted_total"])


def test_empty_cells_are_missing_values_but_an_empty_row_is_rejected(scorer):
    table = pd.DataFrame({"days_since_last": ["", "NA", "4"], "gap_mean_days": ["", "", "null"]})
    results, _ = batch.score_table(scorer, table)
    assert results["error"].tolist() == [
        "no feature value in this row",
        "no feature value in this row",
        "",
    ]


def test_nothing_usable_is_one_clear_error(scorer):
    table = pd.DataFrame({"name": ["Asha"], "email": ["a@x.in"]})
    with pytest.raises(
        ValueError, match=r"neither a 'customer_id' column .* got columns \['name', 'email'\]"
    ):
        batch.score_table(scorer, table)


def test_unknown_feature_names_get_a_suggestion(scorer):
    with pytest.raises(ValueError, match=r"'dayz_since_last' \(did you mean 'days_since_last'\?\)"):
        batch.check_feature_names(["dayz_since_last"], scorer.model.feature_names_)


# ------------------------------------------------------------------ writing


def test_xlsx_round_trip_keeps_leading_zeros(tmp_path, scorer, known_ids):
    upload = _xlsx(tmp_path, [["customer_id"], ["007"], [known_ids[0]]])
    results, _ = batch.score_table(scorer, batch.read_upload(upload))
    csv_path, xlsx_path = batch.write_results(results, tmp_path / "out")
    for back in (
        pd.read_excel(xlsx_path, dtype={"customer_id": str}),
        pd.read_csv(csv_path, dtype={"customer_id": str}),
    ):
        assert back["customer_id"].tolist() == ["007", known_ids[0]]
        assert list(back.columns) == list(results.columns)
        assert back.loc[0, "error"] == "unknown customer_id: not in the customer table"
        assert np.isnan(back.loc[0, "predicted_total"])
        assert back.loc[1, "predicted_total"] == pytest.approx(
            results.loc[1, "predicted_total"], abs=0.005
        )


def test_xlsx_cells_are_numbers_and_text(tmp_path):
    results = pd.DataFrame(
        {"customer_id": ["C1", "C2"], "predicted_total": [12.3456, np.nan], "error": ["", "bad"]}
    )
    _, xlsx_path = batch.write_results(results, tmp_path)
    rows = list(openpyxl.load_workbook(xlsx_path).active.iter_rows(values_only=True))
    assert rows == [
        ("customer_id", "predicted_total", "error"),
        ("C1", 12.35, None),
        ("C2", None, "bad"),
    ]


def test_formula_injection_is_escaped_in_both_files(tmp_path):
    results = pd.DataFrame(
        {
            "customer_id": ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "-12.5", "C1"],
            "predicted_total": [-5.0, 1.0, 2.0, 3.0, 4.0, 5.0],
            "error": ["", "", "", "", "", "=1+1"],
        }
    )
    csv_path, xlsx_path = batch.write_results(results, tmp_path)
    expected_ids = ['\'=HYPERLINK("http://x")', "'+1+1", "'-2+3", "'@SUM(A1)", "-12.5", "C1"]
    back_csv = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    back_xlsx = pd.read_excel(xlsx_path, dtype=str, keep_default_na=False)
    for back in (back_csv, back_xlsx):
        assert back["customer_id"].tolist() == expected_ids
        assert back.loc[5, "error"] == "'=1+1"
    sheet = openpyxl.load_workbook(xlsx_path).active
    assert sheet["B2"].value == -5.0  # numbers stay numbers, even negative ones
    assert sheet["A6"].value == "-12.5"  # a plain number written as text stays as it was


def test_templates(tmp_path, scorer):
    predictor = scorer.model
    ids_csv, features_csv = batch.templates(predictor, tmp_path, example_ids=["C000001", "007"])
    ids = batch.read_upload(ids_csv)
    assert ids["customer_id"].tolist() == ["C000001", "007"]
    features = batch.read_upload(features_csv)
    assert list(features.columns) == predictor.feature_names_
    _, summary = batch.score_table(scorer, features)
    assert summary["scored"] == 1
    assert summary["filled_features"] == []


def test_a_blank_id_line_is_a_row_with_its_error_and_trailing_blank_lines_are_not(scorer, tmp_path):
    upload = tmp_path / "ids.csv"
    known = scorer.features().index[:2]
    upload.write_text(f"customer_id\n{known[0]}\n\n{known[1]}\n\n\n", encoding="utf-8")
    table = batch.read_upload(upload)
    assert len(table) == 3  # one row per line between the header and the last ID
    results, summary = batch.score_table(scorer, table)
    assert summary["rows"] == 3 and summary["rejected"] == 1
    assert results["error"].tolist() == ["", "empty customer_id", ""]


def test_write_scores_in_pieces_writes_the_file_of_the_whole(tmp_path, monkeypatch):
    rows = pd.DataFrame(
        {
            "customer_id": ["=A1", "B", "C", "D"],
            "predicted_total": [1.234, -0.0001, 5.0, 7.555],
            "p_purchase": [0.12345, 0.5, 0.0, 1.0],
        }
    )

    batch.write_scores(rows, tmp_path / "whole.csv")
    batch.write_scores(iter([rows[:1], None, rows[1:1], rows[1:]]), tmp_path / "pieces.csv")

    assert (tmp_path / "pieces.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert (tmp_path / "whole.csv").read_text().count("customer_id") == 1
    monkeypatch.setattr(batch, "EXCEL_ROWS", 3)
    with pytest.raises(ValueError, match="4 rows do not fit in an Excel sheet"):
        batch.write_scores(iter([rows[:2], rows[2:]]), tmp_path / "big.xlsx")
    assert not list(tmp_path.glob("*big*"))
