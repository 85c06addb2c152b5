"""Only training starts a Keras backend: what the other jobs import loads none."""

import re
import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "workflow" / "scripts"


def imported_modules(script: Path) -> set[str]:
    """The modules a workflow script imports (``from decaylab import a`` as ``decaylab.a``)."""
    text = script.read_text()
    modules = set(re.findall(r"^import (\S+)", text, re.MULTILINE))
    for package, names in re.findall(r"^from (\S+) import ([\w, ]+)", text, re.MULTILINE):
        modules.add(package)
        if package == "decaylab":
            modules |= {f"decaylab.{name.strip()}" for name in names.split(",")}
    return modules


def test_data_tables_and_figure_jobs_import_no_backend():
    scripts = [s for s in SCRIPTS.glob("*.py") if s.name != "train_shard.py"]
    assert len(scripts) >= 5
    modules = set().union(*(imported_modules(s) for s in scripts))
    modules |= {"decaylab", "decaylab.registry", "decaylab.grid", "decaylab.runner"}
    code = (
        "import sys, importlib\n"
        f"for name in {sorted(modules)!r}:\n"
        "    importlib.import_module(name)\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('tensorflow', 'jax', 'keras', 'torch'))\n"
        "print(loaded[:5])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "[]", f"a backend was imported: {result.stdout}"
    assert "decaylab.runner" in modules and "decaylab.figures" in modules
