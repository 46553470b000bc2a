"""How many different products and stores each customer bought from."""

from __future__ import annotations

import numpy as np
import pandas as pd

from clvmodel.features.history import History


def product_count(h: History) -> dict[str, np.ndarray]:
    product, products = pd.factorize(h.lines["product_id"])
    return {"n_products": h.distinct(h.line_customer, product, len(products))}


def store_count(h: History) -> dict[str, np.ndarray]:
    store, stores = pd.factorize(h.tx["store_id"])
    return {"n_stores": h.distinct(h.customer, store, len(stores))}
