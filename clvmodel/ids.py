"""The one rule for a customer ID a person types: surrounding spaces do not count, and
neither does case when the ID it names is unique.

A typed ID is trimmed; if the data holds it as trimmed, that is the customer. Otherwise
it names the one customer whose ID is equal to it ignoring case (``c001463`` is
``C001463``), unless two IDs of the data differ only in case: then only the exact ID
finds either. The lookup, batch files of IDs, the what-if start and the lists all go
through :func:`match_ids`, so an ID that finds a customer in one place finds them in
every other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import numpy as np
import pandas as pd

__all__ = ["by_case", "duplicated_ids", "match_ids", "trimmed"]


def trimmed(customer_ids: Iterable[object]) -> pd.Series:
    """IDs as text without surrounding spaces; missing ones as ``""``."""
    text = pd.Series(list(customer_ids), dtype="object").astype("string").fillna("")
    return text.str.strip().astype(object)


def by_case(known: pd.Index) -> dict[str, str]:
    """Each case-folded ID that folds from one known ID only, to that ID (IDs that differ
    only in case are left out: neither is found by another case)."""
    ids = known.to_numpy(dtype=object)
    folded = pd.Series(ids, dtype="object").astype("string").str.casefold()
    unique = ~folded.duplicated(keep=False).to_numpy()
    return dict(zip(folded.to_numpy(dtype=object)[unique], ids[unique], strict=True))


Folded = Mapping[str, str] | Callable[[], Mapping[str, str]]


def match_ids(
    customer_ids: Iterable[object], known: pd.Index, *, folded: Folded | None = None
) -> pd.Series:
    """The known ID each typed one names (see the module), else the typed ID trimmed.

    Parameters
    ----------
    customer_ids : iterable
        IDs as typed (text, numbers, None).
    known : Index
        The data's customer IDs.
    folded : mapping or callable, optional
        :func:`by_case` of `known`, or a function returning it (made only when an ID is not
        found as typed); made from `known` when not given.

    Returns
    -------
    Series of str
        One per typed ID, in order (position index); ``""`` for an empty one.
    """
    text = trimmed(customer_ids)
    missing = known.get_indexer(text.to_numpy()) < 0
    missing &= (text != "").to_numpy()
    if missing.any():
        table = by_case(known) if folded is None else folded
        table = table() if callable(table) else table
        rest = text[missing]
        found = rest.astype("string").str.casefold().astype(object).map(table)
        text[missing] = found.where(found.notna(), rest).to_numpy(dtype=object)
    return text


def duplicated_ids(matched: pd.Series) -> np.ndarray:
    """True for every non-empty ID that occurs more than once in `matched` (as
    :func:`match_ids` returns them, so ``c1`` and ``C1 `` are one customer)."""
    return (matched.duplicated(keep=False) & (matched != "")).to_numpy()
