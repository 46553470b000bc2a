"""What the app serves: one model, its data source and scorer, and what follows from them.

:class:`AppState` holds it; :class:`Startup` builds it on two threads when the app starts
(:func:`open_state` in one call). Handlers take the state as their first argument and never
read a module global: a :class:`Served` hands the state to them (:meth:`Served.bind`), so
that serving another model (one per browser session, say) replaces what :meth:`Served.current`
returns and nothing else.

This module does not import Gradio: ``app.py`` imports it first, to start reading the data
while Gradio imports.
"""

from __future__ import annotations

import atexit
import functools
import inspect
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from clvmodel import batch
from clvmodel.distribution import interval_quantiles
from clvmodel.loading import read_source
from clvmodel.log_training import train_log
from clvmodel.model import CLVModel
from clvmodel.source import MemorySource, open_source

__all__ = ["AppState", "LogOptions", "Served", "Startup", "interval_key", "open_state", "state_for"]

#: Result files of a request are kept this long, then removed.
KEEP_RESULTS_SECONDS = 3600


def interval_key(model: CLVModel) -> str:
    """The reply key of the model's interval: ``interval_80`` for an 80% interval."""
    return f"interval_{round(model.interval * 100)}"


@dataclass(frozen=True, eq=False)
class AppState:
    """One model served on one data source."""

    model: CLVModel
    #: ``MemorySource`` (the whole data) or ``PartitionedSource`` (:mod:`clvmodel.source`).
    source: Any
    #: The source's scorer (``CustomerScorer`` or ``PartitionedScorer``).
    scorer: Any
    #: Example IDs from big to occasional spenders (deterministic).
    examples: list[str]
    #: The day after the data's last transaction: what an empty as-of date means.
    default_as_of: pd.Timestamp
    #: Result files of each request go to a fresh folder under this one.
    work_dir: Path
    #: The upload templates of /batch_template, by kind ("customer_id", "features").
    templates: dict[str, Path]

    @property
    def meta(self) -> dict:
        return self.model.metadata_

    @property
    def currency(self) -> str:
        return self.meta.get("currency", "")

    @property
    def version(self) -> str:
        return self.meta.get("model_version", "unknown")

    @property
    def spend_targets(self) -> list[str]:
        return ["total", *self.model.categories]

    @property
    def levels(self) -> tuple[float, float]:
        """The quantiles at the ends of the interval (0.1 and 0.9 for 80%)."""
        return interval_quantiles(self.model.interval)

    @property
    def interval_key(self) -> str:
        return interval_key(self.model)

    @property
    def breakdowns(self) -> list[str]:
        """The profile columns a forecast can break down or filter by."""
        return self.source.breakdowns

    @functools.cached_property
    def ids_by_case(self) -> dict[str, str]:
        """Each case-folded ID that folds from one ID only, to that ID (plain Python: a
        million IDs take under a second, where pandas' string methods took several). Made
        on the first ID not found as typed, not at start: few sessions need it."""
        out: dict[str, str] = {}
        ambiguous = set()
        for cid in self.source.customer_ids.to_numpy(dtype=object):
            folded = cid.casefold()
            if folded in out:
                ambiguous.add(folded)
            out[folded] = cid
        for folded in ambiguous:
            del out[folded]
        return out

    def request_folder(self) -> Path:
        """A fresh folder for one request's result files (older ones are removed)."""
        cutoff = time.time() - KEEP_RESULTS_SECONDS
        for folder in self.work_dir.glob("request_*"):
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        return Path(tempfile.mkdtemp(prefix="request_", dir=self.work_dir))


@dataclass(frozen=True)
class LogOptions:
    """A transaction log to serve instead of a data folder (``python app.py --transactions``)."""

    path: Path
    columns: dict[str, str] | None = None
    currency: str = ""


class Startup:
    """The app's start-up on two threads.

    Reading the tables (~2.5 s, much of it in pyarrow; on a partitioned base: the customer
    IDs and the saved scores and summary) starts at construction and runs while Gradio
    imports; :meth:`state` loads the model, then scoring every customer as of the latest
    date (~2 s, mostly in LightGBM and XGBoost, which release the GIL; none when saved
    scores fit) runs while the UI is built; :meth:`ready` waits for it, so the first
    lookup is as fast as any other.
    """

    def __init__(self, data_dir: Path, artifacts: Path, *, log: LogOptions | None = None) -> None:
        self.data_dir, self.artifacts, self.log = Path(data_dir), Path(artifacts), log
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clvmodel-start")
        if log is None:
            self._data = self._pool.submit(open_source, self.data_dir, self.artifacts)
        else:
            self.data_dir = Path(log.path)
            self._data = self._pool.submit(self._open_log, log)
        self._scoring = None

    def _open_log(self, log: LogOptions) -> MemorySource:
        """A log read and, when the artifacts folder holds no model yet, trained on (what
        ``train.py --transactions`` does), then served from memory."""
        source = read_source(transactions=log.path, columns=log.columns)
        if not (self.artifacts / "metadata.json").is_file():
            self.artifacts.mkdir(parents=True, exist_ok=True)
            train_log(source, self.artifacts, currency=log.currency, model=CLVModel(n_jobs=2))
            self.artifacts = self.artifacts / "artifacts"
        elif (self.artifacts / "artifacts" / "metadata.json").is_file():
            self.artifacts = self.artifacts / "artifacts"
        return MemorySource(source.data, self.artifacts)

    def state(self) -> AppState:
        """The model loaded and served on the data; every customer's scores on their way.

        Raises
        ------
        SystemExit
            If the data cannot be served (the message says why and what to run).
        """
        # While the data is read; a log may have to be trained on first.
        model = CLVModel.load(self.artifacts) if self.log is None else None
        try:
            source = self._data.result()
            model = model or CLVModel.load(self.artifacts)
            scorer = source.serve(model)
        except ValueError as exc:
            raise SystemExit(f"Cannot serve {self.data_dir}: {exc}") from exc
        # From train.py's saved scores when they were made from this very data (it saves
        # ~2 s of predicting).
        self._scoring = self._pool.submit(source.warm, self.artifacts)
        work_dir = Path(tempfile.mkdtemp(prefix="clvmodel_app_"))
        atexit.register(shutil.rmtree, work_dir, ignore_errors=True)
        return state_for(model, source, scorer, work_dir)

    def ready(self) -> None:
        """Wait until every customer is scored (before the first request)."""
        if self._scoring is not None:
            self._scoring.result()
        self._pool.shutdown()


def state_for(model: CLVModel, source: Any, scorer: Any, work_dir: Path) -> AppState:
    """The state serving `model` on `source` (through its `scorer`), with its examples and
    upload templates written under `work_dir` (the state's own folder)."""
    examples = source.examples()
    kinds = ("customer_id", "features")
    made = batch.templates(model, Path(work_dir) / "templates", example_ids=examples)
    return AppState(
        model=model,
        source=source,
        scorer=scorer,
        examples=examples,
        default_as_of=scorer.default_as_of,
        work_dir=Path(work_dir),
        templates=dict(zip(kinds, made, strict=True)),
    )


def open_state(data_dir: Path, artifacts: Path) -> AppState:
    """:class:`Startup` in one call: the state, every customer scored."""
    startup = Startup(data_dir, artifacts)
    state = startup.state()
    startup.ready()
    return state


class Served:
    """The state the app serves now: the one accessor its handlers reach it through."""

    def __init__(self, state: AppState) -> None:
        self._state = state
        #: (component, state -> its new value or update): what a tab laid out from the
        #: state (choices, labels, examples), redone when a session's state changes.
        self.refreshers: list[tuple[Any, Callable[[AppState], Any]]] = []

    def refreshes(self, component: Any, fn: Callable[[AppState], Any]) -> None:
        """Redo `component` from the session's state (`fn`) when it changes."""
        self.refreshers.append((component, fn))

    def current(self) -> AppState:
        return self._state

    def bind(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        """`handler(state, *inputs)` as Gradio calls it, ``fn(*inputs)``: the same name,
        docstring (the API page's descriptions) and parameters but the first, which is the
        state served at the time of the call."""

        def call(*args: Any, **kwargs: Any) -> Any:
            return handler(self.current(), *args, **kwargs)

        signature = inspect.signature(handler)
        call.__signature__ = signature.replace(parameters=list(signature.parameters.values())[1:])
        for name in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(call, name, getattr(handler, name))
        return call
