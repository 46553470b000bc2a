"""What the app serves, from its environment or its command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from clvapp.settings import apply_argv, served_paths

VARIABLES = ("CLV_TRANSACTIONS", "CLV_ARTIFACTS", "CLV_DATA", "CLV_MAP", "CLV_CURRENCY")


@pytest.fixture(autouse=True)
def clean():
    """No CLV_ variable before a test, and none left after it (apply_argv sets them)."""
    import os

    saved = {name: os.environ.pop(name) for name in VARIABLES if name in os.environ}
    yield
    for name in VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(saved)


def test_the_demo_by_default(tmp_path):
    assert served_paths(tmp_path) == (tmp_path / "data", tmp_path / "artifacts", None)


def test_a_log_on_the_command_line_is_served_with_its_own_model(tmp_path, monkeypatch):
    log = tmp_path / "shop.csv"
    log.write_text("customer_id,transaction_date,amount\nA,2026-01-01,1\n")
    apply_argv(["--transactions", str(log), "--map", "Kunde=customer_id", "--currency", "EUR"])
    _, artifacts, options = served_paths(tmp_path)
    assert options.path == log and options.currency == "EUR"
    assert options.columns == {"Kunde": "customer_id"}
    assert artifacts != tmp_path / "artifacts" and "shop" in artifacts.name
    monkeypatch.setenv("CLV_ARTIFACTS", str(tmp_path / "mine"))
    assert served_paths(tmp_path)[1] == tmp_path / "mine"


def test_a_bad_mapping_is_refused_with_its_value(tmp_path, monkeypatch):
    monkeypatch.setenv("CLV_TRANSACTIONS", str(tmp_path / "x.csv"))
    monkeypatch.setenv("CLV_MAP", "no-equals-sign")
    with pytest.raises(ValueError, match="no-equals-sign"):
        served_paths(Path(tmp_path))
