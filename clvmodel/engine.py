"""Where per-partition work runs: in this process, or on a Dask cluster.

A function of one part of a partitioned data set (:class:`clvmodel.partitions.PartitionedData`)
runs the same whatever the engine: ``local`` loops over the parts in this process (memory
bounded by one part); ``dask`` hands the parts to a ``distributed`` cluster, each worker
reading its part's Parquet files itself (so the path must be one the workers can read: a
shared folder or a URL fsspec understands), and gathers the results. Without a scheduler
address, a local cluster of ``n_workers`` single-threaded processes is started and
stopped around the work.

Dask is an optional dependency (``pip install clvmodel[dask]``), imported only here and
only for the ``dask`` engine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from clvmodel.partitions import PartitionedData

__all__ = ["ENGINES", "iter_parts", "map_parts", "require_dask"]

log = logging.getLogger(__name__)

ENGINES: tuple[str, ...] = ("local", "dask")
T = TypeVar("T")


def require_dask() -> None:
    """Raise ValueError, saying what to install, if Dask is not installed."""
    try:
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as exc:
        raise ValueError(
            "the dask engine needs dask and distributed: pip install 'clvmodel[dask]'."
        ) from exc


@contextmanager
def _client(scheduler: str | None, n_workers: int):
    require_dask()
    from distributed import Client, LocalCluster

    if scheduler is not None:
        with Client(scheduler) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # One thread per worker for the boosters too: n workers share n cores.
            env={"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"},
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def iter_parts(
    fn: Callable[..., T],
    source: PartitionedData,
    *args: Any,
    engine: str = "local",
    scheduler: str | None = None,
    n_workers: int = 2,
) -> Iterator[T]:
    """``fn(source, part, *args)`` of every part, yielded in part order as each is ready.

    `engine` is one of :data:`ENGINES`, as :meth:`clvmodel.CLVModel.check_params` checks it.

    The caller holds one result at a time: ``local`` computes a part when the previous
    one has been consumed; ``dask`` submits every part at once and hands each result
    over (and lets the cluster forget it) in part order. `args` go to every call (with
    Dask, each is sent to the workers once).
    """
    if engine == "local":
        for part in source:
            log.info("part %d/%d", part + 1, source.n_parts)
            yield fn(source, part, *args)
        return
    with _client(scheduler, n_workers) as client:
        # Sent once to every worker (wrapped in a list: scatter would split containers).
        shared = [client.scatter([a], broadcast=True)[0] for a in args]
        futures = client.map(fn, [source] * source.n_parts, list(source), *[
            [a] * source.n_parts for a in shared
        ], pure=False)  # fmt: skip
        for part in range(source.n_parts):
            result = futures[part].result()
            futures[part] = None  # the last reference: the cluster drops the result
            log.info("part %d/%d", part + 1, source.n_parts)
            yield result


def map_parts(
    fn: Callable[..., T],
    source: PartitionedData,
    *args: Any,
    engine: str = "local",
    scheduler: str | None = None,
    n_workers: int = 2,
) -> list[T]:
    """``[fn(source, part, *args) for part in source]``, on the chosen engine
    (:func:`iter_parts`, gathered)."""
    return list(
        iter_parts(fn, source, *args, engine=engine, scheduler=scheduler, n_workers=n_workers)
    )
