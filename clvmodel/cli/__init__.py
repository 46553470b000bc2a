"""Command-line entry points: thin wrappers that parse arguments, call the library, print.

Each module has ``format_parser(parser=None)`` and ``main(argv=None) -> int`` and runs with
``python -m clvmodel.cli.<name>``; ``pip install`` also puts them on the PATH as
``clvmodel-<name>`` (``train.py`` at the root is ``clvmodel-train``). The library modules
themselves never parse arguments or print. :mod:`clvmodel.cli.common` holds the data-source
options train and score share; :func:`one_line` is how every command prints an error.
"""

from __future__ import annotations

__all__ = ["one_line"]


def one_line(exc: BaseException) -> str:
    """An error's message on one line, as every command prints it on stderr."""
    return " ".join(str(exc).split())
