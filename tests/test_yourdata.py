"""Your data: a client uploads a log, trains, and is served it; other clients are not.

Training uses ``CLV_TRAIN_QUICK=1`` (set here before the first training): the flow is what
is tested, not the model's accuracy.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402


@pytest.fixture(scope="module")
def server(app):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CLV_TRAIN_QUICK", "1")
        _, url, _ = app.demo.launch(server_name="127.0.0.1", prevent_thread_lock=True,
                                    quiet=True)  # fmt: skip
        try:
            yield url
        finally:
            app.demo.close()


@pytest.fixture(scope="module")
def own_log(small_data, tmp_path_factory) -> Path:
    """The small synthetic data set as a shop's log, its IDs made unlike the demo's."""
    lines = small_data.lines
    path = tmp_path_factory.mktemp("upload") / "shop.csv"
    pd.DataFrame({
        "Kunde": "S" + lines["customer_id"].str.slice(1),
        "Datum": lines["date"].dt.strftime("%Y-%m-%d"),
        "amount": lines["amount"],
        "category": lines["category"],
    }).to_csv(path, index=False)  # fmt: skip
    return path


MAPPING = '{"Kunde": "customer_id", "Datum": "transaction_date"}'


def _client(url: str, tmp_path: Path, name: str) -> Client:
    return Client(url, verbose=False, download_files=tmp_path / name)


def test_inspect_log_describes_the_upload(server, own_log, small_data, tmp_path):
    reply = _client(server, tmp_path, "c").predict(
        handle_file(own_log), MAPPING, api_name="/inspect_log"
    )
    assert reply["file"] == "shop.csv"
    assert reply["columns"]["customer_id"] == "Kunde"
    assert reply["counts"]["lines"] == len(small_data.lines)
    assert set(reply["monthly_revenue"]) and isinstance(reply["warnings"], list)


def test_a_trained_log_is_served_to_its_session_only(server, own_log, tmp_path):
    mine, other = _client(server, tmp_path, "mine"), _client(server, tmp_path, "other")
    summary = mine.predict(handle_file(own_log), MAPPING, "EUR", api_name="/train_log")
    assert summary["customers"] > 100 and summary["rows_refused"] == 0
    assert "total" in summary["targets"] and summary["downloads"] == ["model.zip", "scores.parquet"]
    cid = "S" + "000001"
    assert mine.predict(cid, "", api_name="/predict_customer")["customer_id"] == cid
    with pytest.raises(AppError):
        other.predict(cid, "", api_name="/predict_customer")
    demo_id = other.predict(api_name="/model_info")
    assert demo_id != mine.predict(api_name="/model_info")


BAD = {
    "wrong_columns.csv": (b"a,b,c\n1,2,3\n", "missing column"),
    "image.csv": (b"\x89PNG\r\n\x1a\n" + bytes(64), "PNG image, not a table"),
    "empty.csv": (b"", "empty"),
    "dates.csv": (b"customer_id,transaction_date,amount\nA,someday,1\nB,never,2\n", "date"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_get_a_message_and_leave_nothing(server, tmp_path, name):
    import tempfile

    content, message = BAD[name]
    path = tmp_path / name
    path.write_bytes(content)
    before = set(Path(tempfile.gettempdir()).glob("clvapp_session_*"))
    client = _client(server, tmp_path, "bad")
    for api in ("/inspect_log", "/train_log"):
        args = (handle_file(path), "") if api == "/inspect_log" else (handle_file(path), "", "")
        with pytest.raises(AppError, match=message):
            client.predict(*args, api_name=api)
    assert set(Path(tempfile.gettempdir()).glob("clvapp_session_*")) - before == set()


def test_an_excel_zip_bomb_is_refused(server, tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"0" * (30 * 1024 * 1024))
    with pytest.raises(AppError, match="unpacks to"):
        _client(server, tmp_path, "bomb").predict(handle_file(path), "", api_name="/inspect_log")


def test_what_the_tabs_laid_out_is_redone_for_any_state(app):
    assert len(app.SERVED.refreshers) >= 5
    for _, redo in app.SERVED.refreshers:
        assert isinstance(redo(app.STATE), dict)  # a gr.update
