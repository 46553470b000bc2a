"""Every real log trains, as ``train.py`` trains it, without a crash or a warning: cut at
three dates each (one of them two months after the log's start, one where monthly cutoffs do
not fit), on a sample of 300 customers and with quick settings so that each run takes
seconds.

The logs are read from ``CLV_REAL_DATA`` (default ``/work/shared/data``: the logs sit outside
the repository, and CI runs on a clean clone whose ``../shared/data`` may not exist). Without
them the tests skip, saying so; in CI (``CI=true``) they fail instead.
"""

import os
import warnings
from dataclasses import replace
from pathlib import Path

import pytest

from clvmodel.features import as_of_data
from clvmodel.loading import read_source
from clvmodel.model import CLVModel
from clvmodel.publish import publish_run
from clvmodel.sample import training_data

REAL_DATA = Path(os.environ.get("CLV_REAL_DATA", "/work/shared/data"))
#: Each log: its file under REAL_DATA and three as-of days (None: the whole log).
LOGS = {
    # 2010-12-01 to 2011-12-09: 62 days (BG/NBD alone), 135 days (weekly), the whole year.
    "online_retail": ("online_retail/online_retail.csv.gz", ["2011-02-01", "2011-04-15", None]),
    # 2017-01-01 to 2017-12-31: 61 days, four months (weekly), the cut that first crashed.
    "completejourney": (
        "completejourney/transactions.csv.gz",
        ["2017-03-03", "2017-05-01", "2017-11-01"],
    ),
}
CUSTOMERS = 300


@pytest.fixture(scope="module", params=list(LOGS))
def log(request):
    """(name, the log as read, its cuts), 300 customers of it."""
    name = request.param
    path = REAL_DATA / LOGS[name][0]
    if not path.is_file():
        why = f"{path} is absent (set CLV_REAL_DATA to the folder of the real logs)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must train on every real log: {why}")
        pytest.skip(why)
    with warnings.catch_warnings():  # the tests' mark does not cover a module fixture
        warnings.simplefilter("error")
        source = read_source(transactions=path)
        data, _ = training_data(source.data, CUSTOMERS)
    return name, replace(source, data=data), LOGS[name][1]


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("cut", [0, 1, 2])
def test_a_real_log_trains_and_publishes_without_a_warning(log, cut, tmp_path):
    name, source, cuts = log
    as_of = cuts[cut]
    data = source.data if as_of is None else as_of_data(source.data, as_of)
    model = CLVModel(quick=True, probability_models=("lightgbm",), random_state=0)
    model.fit(data, as_of=as_of)
    published = publish_run(model, replace(source, data=data), tmp_path / "a", tmp_path / "card.md")
    total = model.report_.targets["total"].served
    assert 0.0 < total["sum_ratio"] < 3.0, (name, as_of, total)
    text = published.card.read_text()
    kind = model.info_["cutoff_plan"]["kind"]
    assert kind == ("bgnbd", "weekly", "monthly")[cut], (name, as_of, kind)
    assert ("### A short log" in text) == (kind != "monthly")
