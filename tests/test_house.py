"""The house stays readable: every function in ``src/decaylab`` spans at most 60 lines of the
syntax tree (nested functions counted in their parent) and every module at most 400 lines."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src/decaylab"
MODULES = sorted(PACKAGE.rglob("*.py"))
LONGEST_FUNCTION = 60
LONGEST_MODULE = 400


def spans(tree):
    """``(name, lines)`` of every top-level function and method."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node.end_lineno - node.lineno + 1
        elif isinstance(node, ast.ClassDef):
            for name, lines in spans(node):
                yield f"{node.name}.{name}", lines


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_functions_and_modules_stay_short(path):
    text = path.read_text()
    assert len(text.splitlines()) <= LONGEST_MODULE
    long = {name: n for name, n in spans(ast.parse(text)) if n > LONGEST_FUNCTION}
    assert not long, f"functions over {LONGEST_FUNCTION} lines: {long}"
