"""The Python API a notebook uses: the README's example and ``help(decaylab)``'s run as written,
and every public function of the modules a notebook calls names each of its arguments in its
docstring."""

import ast
import contextlib
import io
import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from markdown_it import MarkdownIt

import decaylab

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_MODULES = [
    "claims",
    "data",
    "dataset",
    "engine",
    "equilibrium",
    "evaluate",
    "export",
    "figures/__init__",
    "inference",
    "metrics",
    "optima",
    "report_pages",
    "tables",
]
"""The modules ``help(decaylab)`` and the docs point a notebook to."""


def python_block(markdown: str, after_heading: str) -> str:
    """The first ``python`` code block after the heading ``after_heading``."""
    tokens = MarkdownIt().parse(markdown)
    start = next(
        i for i, t in enumerate(tokens) if t.type == "inline" and t.content == after_heading
    )
    return next(t.content for t in tokens[start:] if t.type == "fence" and t.info == "python")


def test_the_readme_example_runs_as_written():
    code = python_block((ROOT / "README.md").read_text(), "Python API")
    namespace = {}
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        exec(compile(code, "README.md", "exec"), namespace)
    result = namespace["result"]
    assert len(result.runs) == 16 and np.isfinite(result.runs["validation_mse"]).all()
    assert len(printed.getvalue().splitlines()) == 1 + 8 + 1  # header, 8 grid points, dtype


def test_the_help_example_runs_as_written():
    code = re.search(r"::\n\n((?:    .*\n|\n)+)", decaylab.__doc__).group(1)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(120, 3)), columns=["a", "b", "c"])
    frame["y"] = frame["a"] - 2 * frame["b"]
    namespace = {"frame": frame}
    exec(compile(textwrap.dedent(code), "decaylab.__doc__", "exec"), namespace)
    assert len(namespace["result"].runs) == 3
    assert set(decaylab.__all__) <= set(dir(decaylab)) | {"train_shard"}


def public_functions(module: str):
    tree = ast.parse((ROOT / "src/decaylab" / f"{module}.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            yield node


@pytest.mark.parametrize("module", NOTEBOOK_MODULES)
def test_public_functions_name_their_arguments(module):
    undocumented = {}
    for function in public_functions(module):
        docstring = ast.get_docstring(function) or ""
        arguments = [a.arg for a in function.args.args + function.args.kwonlyargs]
        missing = [a for a in arguments if not re.search(rf"``{a}``|\b{a}\b", docstring)]
        if not docstring or missing:
            undocumented[function.name] = missing or "no docstring"
    assert not undocumented, (
        f"decaylab.{module}: arguments not named in the docstring: {undocumented}"
    )
