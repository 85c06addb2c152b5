"""The fault table of docs/reliability.md, from the counts the last test run wrote.

    pytest -q && python tests/fault_table.py && python -m decaylab.docs_blocks docs/reliability.md

writes docs/reliability/faults.json (the generated inputs and injected faults, each with its
outcome and count), from which the page's table is generated, and prints the table.
"""

import json
from pathlib import Path

from decaylab import docs_blocks

ROOT = Path(__file__).resolve().parents[1]
COUNTS = ROOT / "benchmarks/results/fault_counts.json"
TABLE = ROOT / "docs/reliability/faults.json"

ROWS = [  # (input, outcome, the count it reads)
    ("configs drawn: sound, mutated, any value anywhere", "no exception but a refusal", "configs"),
    ("… of which", "planned, with exactly their grid", "planned"),
    ("… of which", "refused, each problem naming a key", "refused"),
    ("mutations applied to them", "", "mutations"),
    ("small sound configs", "ran end to end through Snakemake", "configs run end to end"),
    ("data files drawn: CSV, Parquet, NPZ", "no traceback", "data files"),
    ("… of which", "accepted, then split", "data files accepted"),
    ("… of which", "refused, naming the file", "data files refused"),
    ("tables a user means to train on", "accepted, split, trained an epoch", "data files trained"),
]


def rows(counts: dict) -> list[tuple[str, str, str]]:
    """The table's rows: the property tests' draws first, then each injected fault
    (``"writer: fault, outcome"`` keys of tests/test_io_faults.py)."""
    table = [(what, outcome, f"{counts[key]:,}") for what, outcome, key in ROWS if key in counts]
    for key, value in counts.items():
        if ":" in key:
            fault, outcome = key.split(":", 1)
            table.append((fault, outcome.strip(), str(value)))
    return table


def write(counts: dict, path: Path = TABLE) -> str:
    """Write the fault table as the JSON the page's block is generated from; return it."""
    return docs_blocks.write_table(
        path,
        ("generated input or injected fault", "outcome", "count"),
        rows(counts),
        command="pytest -q && python tests/fault_table.py",
        measured_on="the last full run of the test suite",
        align=("left", "left", "right"),
    )


if __name__ == "__main__":
    print(write(json.loads(COUNTS.read_text())))
