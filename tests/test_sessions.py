"""One state per session: a session's own data is served to it alone, and deleted after."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

gr = pytest.importorskip("gradio")

from clvapp.sessions import Sessions  # noqa: E402
from clvapp.state import AppState  # noqa: E402


def _state(tmp_path: Path, name: str) -> AppState:
    work = tmp_path / name
    work.mkdir()
    (work / "model.skops").write_text("x")
    return AppState(model=None, source=None, scorer=None, examples=[name],
                    default_as_of=pd.Timestamp("2026-01-01"), work_dir=work,
                    templates={})  # fmt: skip


def _request(session: str) -> SimpleNamespace:
    return SimpleNamespace(session_hash=session)


def test_a_session_is_served_its_own_state_and_others_the_demo(tmp_path):
    sessions = Sessions(_state(tmp_path, "demo"))
    own = _state(tmp_path, "mine")
    sessions.set(_request("a"), own, "mine.csv")
    assert sessions.current(_request("a")) is own
    assert sessions.current(_request("b")) is sessions.demo
    assert sessions.current() is sessions.demo
    assert sessions.label(_request("a")) == "mine.csv" and sessions.label(_request("b")) is None


def test_going_back_to_the_demo_or_replacing_deletes_the_files(tmp_path):
    sessions = Sessions(_state(tmp_path, "demo"))
    first, second = _state(tmp_path, "first"), _state(tmp_path, "second")
    sessions.set(_request("a"), first, "first")
    sessions.set(_request("a"), second, "second")
    assert not first.work_dir.exists() and second.work_dir.exists()
    sessions.reset(_request("a"))
    assert not second.work_dir.exists()
    assert sessions.current(_request("a")) is sessions.demo
    assert (tmp_path / "demo").exists()


def test_idle_sessions_expire_and_the_oldest_goes_past_the_limit(tmp_path):
    sessions = Sessions(_state(tmp_path, "demo"), ttl_seconds=60, max_sessions=2)
    states = {k: _state(tmp_path, k) for k in "abc"}
    for k, state in states.items():
        sessions.set(_request(k), state, k)
    assert not states["a"].work_dir.exists()  # the least recently used of three
    assert sessions.expire(now=1e12) == 2
    assert not states["b"].work_dir.exists() and not states["c"].work_dir.exists()


def test_no_session_cannot_own_data(tmp_path):
    with pytest.raises(ValueError, match="session"):
        Sessions(_state(tmp_path, "demo")).set(None, _state(tmp_path, "x"), "x")


def test_bound_handlers_keep_their_api_and_get_the_callers_state(tmp_path):
    gradio_client = pytest.importorskip("gradio_client")
    sessions = Sessions(_state(tmp_path, "demo"))

    def whoami(state: AppState, greeting: str) -> str:
        """Says whose state answered."""
        return f"{greeting} {state.examples[0]}"

    def claim(name: str, request: gr.Request) -> str:
        sessions.set(request, _state(tmp_path, name), name)
        return name

    with gr.Blocks() as demo:
        text, out = gr.Textbox(), gr.Textbox()
        gr.Button("who").click(sessions.bind(whoami), text, out, api_name="whoami")
        gr.Button("claim").click(claim, text, out, api_name="claim")
    _, url, _ = demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    try:
        one = gradio_client.Client(url, verbose=False, download_files=tmp_path / "one")
        two = gradio_client.Client(url, verbose=False, download_files=tmp_path / "two")
        assert one.predict("hi", api_name="/whoami") == "hi demo"
        assert one.predict("mine", api_name="/claim") == "mine"
        assert one.predict("hi", api_name="/whoami") == "hi mine"
        assert two.predict("hi", api_name="/whoami") == "hi demo"
        params = one.view_api(return_format="dict", print_info=False)["named_endpoints"]
        assert [p["parameter_name"] for p in params["/whoami"]["parameters"]] == ["greeting"]
    finally:
        demo.close()
    assert sessions.bind(whoami)("hello") == "hello demo"  # in-process: the demo
