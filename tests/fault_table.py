"""The README's fault table, from the counts the last test run wrote.

    pytest -q && python tests/fault_table.py

prints a Markdown table: the generated inputs and injected faults, each with its outcome.
"""

import json
from pathlib import Path

COUNTS = Path(__file__).resolve().parents[1] / "benchmarks/results/fault_counts.json"

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


def table(counts: dict) -> str:
    lines = ["| generated input or injected fault | outcome | count |", "|---|---|---:|"]
    for what, outcome, key in ROWS:
        if key in counts:
            lines.append(f"| {what} | {outcome} | {counts[key]:,} |")
    for key, value in counts.items():
        if ":" in key:  # "writer: fault, outcome" of tests/test_io_faults.py
            fault, outcome = key.split(":", 1)
            lines.append(f"| {fault} | {outcome.strip()} | {value} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(json.loads(COUNTS.read_text())))
