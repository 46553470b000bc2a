"""Library errors as the messages a person sees, and the server log's one line per refusal.

The library raises ``ValueError`` (and its kinds: ``SchemaError``, ``NotFittedError``,
``UntrustedArtifactError``) with a message that says what to fix. Gradio shows a browser
only a bare "Error" badge for anything but ``gr.Error``: :func:`reported` turns them into
one, with the same message.

Gradio prints the traceback of every exception a handler raises, ``gr.Error`` included,
unless the error says otherwise (``print_exception=False``): a session of mistyped IDs
filled the server log with tracebacks of nothing wrong. An expected input error is logged
here as one line and raised so that Gradio prints nothing more; any other exception is
logged with its traceback.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import gradio as gr

__all__ = ["refusal", "reported"]

log = logging.getLogger("clvapp")
F = TypeVar("F", bound=Callable[..., Any])


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def refusal(message: str) -> gr.Error:
    """The ``gr.Error`` of an expected input error: shown to the user, no traceback printed."""
    return gr.Error(message, print_exception=False)


def reported(handler: F) -> F:
    """`handler` with library errors raised as ``gr.Error`` (the same message).

    An input error (a ``ValueError``, ``gr.Error`` among them) is logged as one line at
    INFO, and Gradio prints no traceback for it; any other exception is logged with its
    traceback at ERROR and re-raised as it is.
    """

    @functools.wraps(handler)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except gr.Error as exc:
            log.info("%s refused: %s", handler.__name__, _one_line(exc.message))
            exc.print_exception = False
            raise
        except ValueError as exc:
            log.info("%s refused: %s", handler.__name__, _one_line(exc))
            raise refusal(str(exc)) from exc
        except Exception:
            log.exception("%s failed", handler.__name__)
            raise

    return call  # type: ignore[return-value]
