"""Uploaded logs are checked before they are parsed: each bad file gets one message."""

from __future__ import annotations

import gzip
import zipfile

import pandas as pd
import pytest

from clvmodel.upload import UploadLimits, check_log_file

CSV = "customer_id,transaction_date,amount\nA,2026-01-05,10\nB,2026-01-06,5\n"


def test_good_files_of_each_kind_pass(tmp_path):
    (tmp_path / "log.csv").write_text(CSV)
    with gzip.open(tmp_path / "log.csv.gz", "wt") as f:
        f.write(CSV)
    frame = pd.DataFrame({"customer_id": ["A"], "transaction_date": ["2026-01-05"], "amount": [1]})
    frame.to_parquet(tmp_path / "log.parquet")
    frame.to_excel(tmp_path / "log.xlsx", index=False)
    kinds = [check_log_file(tmp_path / n) for n in
             ("log.csv", "log.csv.gz", "log.parquet", "log.xlsx")]  # fmt: skip
    assert kinds == ["csv", "gzip", "parquet", "xlsx"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "log.csv is empty"),
        (b"  \n\n", "log.csv is empty"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "log.csv is a PNG image, not a table"),
        (b"%PDF-1.7 ...", "log.csv is a PDF document"),
        (b"abc\x00\x00\x01def", "log.csv is not text"),
        (b"PK\x03\x04 not really a zip", "log.csv is not a readable Excel file"),
    ],
)
def test_each_bad_file_gets_one_message_naming_it(tmp_path, content, message):
    path = tmp_path / "log.csv"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        check_log_file(path)


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text(CSV * 100)
    with pytest.raises(ValueError, match=r"log.csv is 6,700 bytes; the limit is 1,000 bytes"):
        check_log_file(path, UploadLimits(max_bytes=1000))


def test_too_many_lines_are_refused_in_text_gzip_and_parquet(tmp_path):
    limits = UploadLimits(max_lines=10)
    (tmp_path / "log.csv").write_text(CSV * 10)
    with gzip.open(tmp_path / "log.csv.gz", "wt") as f:
        f.write(CSV * 10)
    pd.DataFrame({"a": range(20)}).to_parquet(tmp_path / "log.parquet")
    for name in ("log.csv", "log.csv.gz"):
        with pytest.raises(ValueError, match=f"{name} has more than 10 lines"):
            check_log_file(tmp_path / name, limits)
    with pytest.raises(ValueError, match=r"log\.parquet has 20 rows; the limit is 10"):
        check_log_file(tmp_path / "log.parquet", limits)


def test_a_gzip_bomb_stops_at_the_unpacked_limit(tmp_path):
    path = tmp_path / "bomb.csv.gz"
    with gzip.open(path, "wb") as f:
        f.write(b"a" * (20 * 1024 * 1024))  # 20 MB of one letter packs to ~20 KB
    with pytest.raises(ValueError, match=r"bomb\.csv\.gz unpacks to more than 10 MB"):
        check_log_file(path, UploadLimits(max_unpacked_bytes=10 * 1024 * 1024))


def test_an_excel_zip_bomb_is_refused_from_its_directory(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"0" * (30 * 1024 * 1024))
    with pytest.raises(ValueError, match=r"bomb.xlsx unpacks to 30 MB from"):
        check_log_file(path)


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path):
    path = tmp_path / "log.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("data.csv", CSV)
    with pytest.raises(ValueError, match=r"log\.xlsx is a zip archive, not an Excel"):
        check_log_file(path)
