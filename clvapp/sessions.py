"""One state per browser session: the demo for everyone, a session's own data once it has it.

:class:`Sessions` is the app's :class:`~clvapp.state.Served`: every handler bound through it
gets, as its first argument, the state of the session that called (Gradio's
``request.session_hash``: one per browser tab, one per ``gradio_client.Client``). A session
that trained a model on its own log is served that model and data, and no other session sees
either; its files are deleted when it leaves (Gradio's ``unload``), when it goes back to the
demo, or after :attr:`Sessions.ttl_seconds` without a request.
"""

from __future__ import annotations

import inspect
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from clvapp.state import AppState, Served

__all__ = ["Sessions"]


@dataclass
class _Own:
    state: AppState
    label: str
    last_used: float


def _key(request: gr.Request | None) -> str | None:
    return getattr(request, "session_hash", None) if request is not None else None


class Sessions(Served):
    """The demo state, and the states sessions made for themselves (at most `max_sessions`:
    the least recently used is dropped first)."""

    def __init__(
        self, demo: AppState, *, ttl_seconds: float = 3600, max_sessions: int = 8,
        demo_label: str = "the demo data",
    ) -> None:  # fmt: skip
        super().__init__(demo)
        self.demo_label = demo_label
        self.ttl_seconds, self.max_sessions = ttl_seconds, max_sessions
        self._own: dict[str, _Own] = {}
        self._lock = threading.Lock()

    @property
    def demo(self) -> AppState:
        return self._state

    def current(self, request: gr.Request | None = None) -> AppState:
        """The state of the session that made `request` (the demo without one)."""
        own = self.own(request)
        return own.state if own is not None else self._state

    def own(self, request: gr.Request | None) -> _Own | None:
        """The session's own state and its label, or None when it is served the demo."""
        self.expire()
        with self._lock:
            entry = self._own.get(_key(request) or "")
            if entry is not None:
                entry.last_used = time.monotonic()
            return entry

    def label(self, request: gr.Request | None) -> str | None:
        own = self.own(request)
        return own.label if own is not None else None

    def set(self, request: gr.Request | None, state: AppState, label: str) -> None:
        """Serve `state` (named `label` in the banner) to this session from now on."""
        key = _key(request)
        if key is None:
            raise ValueError("a session's own data needs a browser or client session")
        with self._lock:
            old = self._own.pop(key, None)
            self._own[key] = _Own(state, label, time.monotonic())
            dropped = self._drop_oldest()
        for entry in [old, *dropped]:
            _remove(entry)

    def reset(self, request: gr.Request | None) -> None:
        """Back to the demo: the session's data and model are deleted."""
        with self._lock:
            old = self._own.pop(_key(request) or "", None)
        _remove(old)

    def expire(self, now: float | None = None) -> int:
        """Delete the states idle for longer than :attr:`ttl_seconds`; how many."""
        now = time.monotonic() if now is None else now
        with self._lock:
            stale = [k for k, e in self._own.items() if now - e.last_used > self.ttl_seconds]
            entries = [self._own.pop(k) for k in stale]
        for entry in entries:
            _remove(entry)
        return len(entries)

    def _drop_oldest(self) -> list[_Own]:
        dropped = []
        while len(self._own) > self.max_sessions:
            oldest = min(self._own, key=lambda k: self._own[k].last_used)
            dropped.append(self._own.pop(oldest))
        return dropped

    def bind(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        """`handler(state, *inputs)` as Gradio calls it, with the calling session's state:
        Gradio fills the extra ``request`` parameter, which the API page does not show."""

        def call(*args: Any, **kwargs: Any) -> Any:
            # Gradio passes the request positionally, where the signature below puts it.
            request = kwargs.pop("request", None)
            if (
                args
                and (args[-1] is None or isinstance(args[-1], gr.Request))
                and len(args) > len(params)
            ):
                *args, request = args
            return handler(self.current(request), *args, **kwargs)

        signature = inspect.signature(handler)
        params = list(signature.parameters.values())[1:]
        request = inspect.Parameter(
            "request", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None,
            annotation=gr.Request,
        )  # fmt: skip
        call.__signature__ = signature.replace(parameters=[*params, request])
        annotations = dict(getattr(handler, "__annotations__", {}))
        annotations.pop(next(iter(signature.parameters), ""), None)
        call.__annotations__ = {**annotations, "request": gr.Request}
        for name in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(call, name, getattr(handler, name))
        return call


def _remove(entry: _Own | None) -> None:
    """Delete what a session's state wrote: its work folder (uploads, model, results)."""
    if entry is not None:
        shutil.rmtree(entry.state.work_dir, ignore_errors=True)
