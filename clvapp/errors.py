"""Library errors as the messages a person sees.

The library raises ``ValueError`` (and its kinds: ``SchemaError``, ``NotFittedError``,
``UntrustedArtifactError``) with a message that says what to fix. Gradio shows a browser
only a bare "Error" badge for anything but ``gr.Error``: :func:`reported` turns them into
one, with the same message.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import gradio as gr

__all__ = ["reported"]

log = logging.getLogger("clvapp")
F = TypeVar("F", bound=Callable[..., Any])


def reported(handler: F) -> F:
    """`handler` with library errors raised as ``gr.Error`` (the same message).

    An input error (a ``ValueError``, ``gr.Error`` among them) is logged as one line; any
    other exception with its traceback, and re-raised as it is.
    """

    @functools.wraps(handler)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except gr.Error as exc:
            log.info("%s refused: %s", handler.__name__, exc.message)
            raise
        except ValueError as exc:
            log.info("%s refused: %s", handler.__name__, exc)
            raise gr.Error(str(exc)) from exc
        except Exception:
            log.exception("%s failed", handler.__name__)
            raise

    return call  # type: ignore[return-value]
