"""clvmodel Space: 30-day spend per customer, in total and per category, in the browser and by API.

Run ``python app.py``. The server listens where Gradio's own ``GRADIO_SERVER_NAME`` and
``GRADIO_SERVER_PORT`` say (default 127.0.0.1:7860; a Hugging Face Space sets them).

Environment:

- ``CLV_ARTIFACTS``: folder written by ``train.py`` (default: ``artifacts/`` next to this file).
- ``CLV_DATA``: folder of the seven retail tables (default: ``data/`` next to this file), or
  a partitioned Parquet data set (:mod:`clvmodel.partitions`) too big to hold in memory:
  then ``CLV_ARTIFACTS`` must be trained on it (``train.py --data`` saves every customer's
  scores and a summary beside the model), the app serves the day after the data from
  those, and another as-of date for one customer at a time (:mod:`clvmodel.source`).
- ``CLV_AUTH``: ``user:password`` puts Gradio's login page in front of the app and the API
  (clients then pass ``Client(url, auth=("user", "password"))``). Off when unset.
- ``CLV_MODEL_CARD_URL``: where the model tab links the model card (else a download).

Every action is a named API endpoint (``/forecast``, ``/customer_list``,
``/predict_customer``, ``/predict_features``, ``/predict_batch``, ``/explain_customer``,
``/model_info``, ``/batch_template``, ``/inspect_log``, ``/train_log``); see the README for
a ``gradio_client`` snippet per endpoint. The app is the package ``clvapp``: what it serves is
one state (:mod:`clvapp.state`), loaded once, here at import, and per session its own
(:mod:`clvapp.sessions`, the Your data tab); each tab (:mod:`clvapp.tabs`) lays
itself out and wires its handlers, which only convert values, call ``clvmodel`` and format
the answer. This file assembles the tabs and launches.
"""

from __future__ import annotations

import os

# LightGBM's OpenMP threads spin while waiting; on a busy 2-core machine that made one fit
# ~8x slower. Passive waiting must be set before lightgbm is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import sys
from pathlib import Path

from clvapp.settings import apply_argv, served_paths
from clvapp.state import Startup

HERE = Path(__file__).resolve().parent
if __name__ == "__main__":  # python app.py --transactions LOG ...: the same as the variables
    apply_argv(sys.argv[1:])
DATA_DIR, ARTIFACTS, LOG = served_paths(HERE)
MODEL_CARD = HERE / "model_card.md"

# Reading the data starts now, on a thread, and runs while Gradio imports (clvapp.state).
STARTUP = Startup(DATA_DIR, ARTIFACTS, log=LOG)

import logging

import gradio as gr

from clvapp.sessions import Sessions
from clvapp.tabs import batch as batch_tab
from clvapp.tabs import forecast as forecast_tab
from clvapp.tabs import lists as lists_tab
from clvapp.tabs import lookup as lookup_tab
from clvapp.tabs import model as model_tab
from clvapp.tabs import whatif as whatif_tab
from clvapp.tabs import yourdata as yourdata_tab
from clvmodel.upload import UploadLimits

STATE = STARTUP.state()
SERVED = Sessions(STATE, demo_label=f"the log {LOG.path.name}" if LOG else "the demo data")


def build(served: Sessions) -> gr.Blocks:
    """The page: a header, then one tab after another."""
    state = served.current()
    with gr.Blocks(title="clvmodel: 30-day customer spend", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(
            "# 30-day customer spend\n"
            "Predicted spend of each retail customer over the next 30 days, in total"
            + (
                f" and per category ({', '.join(state.model.categories)})"
                if state.model.categories
                else ""
            )
            + ", with an 80% interval, and the "
            "probability that they buy at all. Every action here is also an API endpoint: see "
            "*Use via API* at the bottom of the page."
        )
        top = gr.Markdown(elem_id="served-banner")
        forecast_tab.build(served, demo)
        lists_tab.build(served)
        lookup_tab.build(served)
        whatif_tab.build(served)
        batch_tab.build(served)
        model_tab.build(served, demo, MODEL_CARD)
        yourdata_tab.build(served, demo, top)
    # Lookups, explanations and templates run up to 4 at a time each; a batch runs alone
    # in its own queue ("batch").
    demo.queue(default_concurrency_limit=4, max_size=100)
    return demo


demo = build(SERVED)

# In-process use (tests, benchmarks): what this app serves, and its handlers bound to it.
MODEL, SOURCE, SCORER = STATE.model, STATE.source, STATE.scorer
DEFAULT_AS_OF, EXAMPLE_IDS = STATE.default_as_of, STATE.examples
predict_customer = SERVED.bind(lookup_tab.predict_customer)
explain_customer = SERVED.bind(lookup_tab.explain_customer)
show_lookup = SERVED.bind(lookup_tab.show_lookup)
load_customer = SERVED.bind(whatif_tab.load_customer)
forecast = SERVED.bind(forecast_tab.forecast)
show_forecast = SERVED.bind(forecast_tab.show_forecast)
_revenue_history = SERVED.bind(forecast_tab.revenue_history)
customer_list = SERVED.bind(lists_tab.customer_list)
show_list = SERVED.bind(lists_tab.show_list)
model_info = SERVED.bind(model_tab.model_info)


def _auth_from_env() -> tuple[str, str] | None:
    """CLV_AUTH="user:password" turns on the login page; unset or empty leaves it off."""
    value = os.environ.get("CLV_AUTH", "")
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not (sep and user and password):
        raise SystemExit('CLV_AUTH must look like "user:password" (both non-empty).')
    return user, password


STARTUP.ready()  # every customer scored before the first request

if __name__ == "__main__":
    logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    logging.getLogger("clvapp").setLevel(logging.INFO)  # one line per refused input
    demo.launch(auth=_auth_from_env(), max_file_size=UploadLimits().max_bytes)
