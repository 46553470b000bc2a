"""Command-line entry points: thin wrappers that parse arguments, call the library, print.

Each module has ``format_parser(parser=None)`` and ``main(argv=None) -> int`` and runs with
``python -m clvmodel.cli.<name>``; ``pip install`` also puts them on the PATH as
``clvmodel-<name>``. The library modules themselves never parse arguments or print.
"""
