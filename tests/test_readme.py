"""The README's in-process snippet runs as written (on the small data set, quickly)."""

import ast
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _in_memory_lines() -> str:
    """The snippet of "Use it in Python", up to the partitioned part (which needs a big base)."""
    text = README.read_text()
    section = text[text.index("## Use it in Python") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    return code[: code.index("# A base too big")]


def test_readme_snippet_runs_in_memory(small_data_dir, tmp_path):
    code = _in_memory_lines()
    for old, new in (
        ('load_data("data")', f"load_data({str(small_data_dir)!r})"),
        ("CLVModel(random_state=0)", "CLVModel(random_state=0, n_cutoffs=4, quick=True)"),
        ('save("artifacts")', f"save({str(tmp_path / 'artifacts')!r})"),
        ('load("artifacts")', f"load({str(tmp_path / 'artifacts')!r})"),
    ):
        assert old in code, old
        code = code.replace(old, new)
    namespace: dict = {}
    shown = []  # each expression's value, as a reader at a prompt sees them
    for node in ast.parse(code).body:
        if isinstance(node, ast.Expr):
            shown.append(eval(compile(ast.Expression(node.value), "README", "eval"), namespace))
        else:
            exec(compile(ast.Module([node], []), "README", "exec"), namespace)
    one_per_id, quantiles, explained, metrics, saved = shown
    assert list(one_per_id["customer_id"]) == ["C000123", "nobody"]
    assert one_per_id["error"].iloc[0] == "" and "unknown" in one_per_id["error"].iloc[1]
    assert list(quantiles.columns) == ["q0.05", "q0.5", "q0.95"]
    assert list(explained.index) == ["C000123"]
    assert {"r2", "rmse"} <= set(next(iter(metrics.values())))
    assert saved == tmp_path / "artifacts"
    assert namespace["model"].get_params()["n_cutoffs"] == 4
