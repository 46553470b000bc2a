"""One date rule (clvmodel.dates): ISO YYYY-MM-DD, another form only by an explicit format,
never guessed per value; in the library, the log reader and the command lines."""

import argparse
import logging
from pathlib import Path

import pandas as pd
import pytest

import train
from clvmodel import dates
from clvmodel.cli import score
from clvmodel.cli.common import add_source_options, read_source_options
from clvmodel.transactions import read_transactions

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
LOG = "customer_id,transaction_date,amount\nC1,{d1},100\nC1,{d2},50\nC2,{d2},70\n"


@pytest.mark.parametrize(
    "text", ["01/06/2026", "13/06/2026", "2026/06/01", "1 June 2026", "20260601"]
)
def test_a_date_in_another_form_is_refused_never_guessed(text):
    with pytest.raises(ValueError, match=r"as_of must be a date written YYYY-MM-DD") as caught:
        dates.as_day(text)
    assert repr(text) in str(caught.value)  # the message names the value
    assert "never guessed" in str(caught.value)
    assert dates.parse_days(pd.Series([text])).isna().all()


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026-06-01", "2026-06-01"),
        (" 2026-06-01 ", "2026-06-01"),
        ("2026-06-01 23:59", "2026-06-01"),
        ("2026-06-01T15:00+02:00", "2026-06-01"),
        ("2026-06-01 10:00:00Z", "2026-06-01"),
    ],
)
def test_iso_days_with_or_without_a_time(text, day):
    assert dates.as_day(text) == pd.Timestamp(day)
    assert dates.parse_days(pd.Series([text])).iloc[0] == pd.Timestamp(day)


def test_an_explicit_format_reads_both_orders_the_same_way():
    fmt = "%d/%m/%Y"
    assert dates.as_day("01/06/2026", date_format=fmt) == pd.Timestamp("2026-06-01")
    assert dates.as_day("13/06/2026", date_format=fmt) == pd.Timestamp("2026-06-13")
    parsed = dates.parse_days(
        pd.Series(["01/06/2026", "13/06/2026", "2026-06-01"]), date_format=fmt
    )
    assert parsed.tolist()[:2] == [pd.Timestamp("2026-06-01"), pd.Timestamp("2026-06-13")]
    assert pd.isna(parsed.iloc[2])  # under a format, ISO is not guessed either
    with pytest.raises(ValueError, match=r"in the format '%d/%m/%Y'.*got '2026-06-01'"):
        dates.as_day("2026-06-01", date_format=fmt)


def test_timestamps_are_days_and_numbers_are_not_dates():
    assert dates.as_day(pd.Timestamp("2026-06-01 13:00")) == pd.Timestamp("2026-06-01")
    with pytest.raises(ValueError, match="must be a date"):
        dates.as_day(20260601)
    with pytest.raises(ValueError, match="cutoff must be a date"):
        dates.as_day("x", name="cutoff")


def test_check_as_of_refuses_a_guess():
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        dates.check_as_of("01/06/2026", pd.Timestamp("2027-01-01"))


def test_a_log_in_another_date_format_reads_only_with_that_format(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text(LOG.format(d1="12/1/2010 8:26", d2="1/13/2011 10:00"), encoding="utf-8")
    with pytest.raises(ValueError, match=r"transaction_date '12/1/2010 8:26' is not a date"):
        read_transactions(path)
    reading = read_transactions(path, date_format="%m/%d/%Y %H:%M")
    days = reading.data.transactions["date"].sort_values().unique()
    assert list(days) == [pd.Timestamp("2010-12-01"), pd.Timestamp("2011-01-13")]
    assert len(reading.rejected) == 0


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data")
    parser.add_argument("--transactions")
    add_source_options(parser)
    return parser.parse_args(argv)


def test_the_command_lines_read_as_of_and_the_log_by_the_date_format(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text(LOG.format(d1="01/06/2025", d2="13/06/2025"), encoding="utf-8")
    log = logging.getLogger("test")
    args = _args("--transactions", str(path), "--as-of", "10/06/2025", "--date-format", "%d/%m/%Y")
    source = read_source_options(args, log, left_out="not modelled")
    assert args.as_of == "2025-06-10"  # what the library is handed on
    assert source.data.transactions["date"].max() == pd.Timestamp("2025-06-01")
    with pytest.raises(ValueError, match=r"as_of must be a date written YYYY-MM-DD.*'10/06/2025'"):
        read_source_options(_args("--transactions", str(path), "--as-of", "10/06/2025"), log,
                            left_out="")  # fmt: skip


@pytest.mark.parametrize("cli", [train.main, score.main], ids=["train", "score"])
def test_train_and_score_refuse_a_slashed_as_of_in_one_line(cli, tmp_path, capsys, caplog):
    path = tmp_path / "log.csv"
    path.write_text(LOG.format(d1="2025-06-01", d2="2025-06-13"), encoding="utf-8")
    argv = ["--transactions", str(path), "--as-of", "13/06/2025"]
    argv += (
        ["--out", str(tmp_path / "a")]
        if cli is train.main
        else ["--artifacts", str(ARTIFACTS), "--output", str(tmp_path / "s.csv")]
    )
    assert cli(argv) == 1
    said = capsys.readouterr().err + caplog.text
    assert "'13/06/2025'" in said and "YYYY-MM-DD" in said
