"""decaylab's console (the logger plugin) matches three lines of Snakemake's own text; these tests
fail when a Snakemake release words them differently, before the stop summary silently breaks."""

import subprocess
import sys

from snakemake_logger_plugin_decaylab import SNAKEMAKE_TEXTS, LogHandler, stop_summary

SNAKEFILE = """
rule stopped:
    output:
        "never.txt",
    script:
        "stop.py"
"""


def test_snakemake_still_says_what_the_console_matches(tmp_path):
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    (tmp_path / "stop.py").write_text("import sys\nsys.exit(130)  # as a stopped training job\n")
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1", "--workflow-profile", "none"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    said = result.stdout + result.stderr
    assert result.returncode != 0, said
    assert SNAKEMAKE_TEXTS["stopped_job"] in said, said[-3000:]
    assert any(SNAKEMAKE_TEXTS[k] in said for k in ("failed_run", "failed_run_race")), said


def test_the_console_is_a_snakemake_logger_plugin():
    from snakemake_interface_logger_plugins.registry import LoggerPluginRegistry

    plugin = LoggerPluginRegistry().get_plugin("decaylab")
    assert plugin.log_handler is LogHandler


def test_the_summary_names_each_stopped_shard_and_the_command_that_resumes():
    stops = [{"shard": "e/s", "epoch": 3, "epochs": 9, "checkpoint": "results/c.npz"}]
    lines = stop_summary(stops, ["--cores", "2", "my target"]).splitlines()
    assert lines[1] == "  e/s: stopped after epoch 3 of 9; checkpoint results/c.npz written"
    assert lines[-1] == "  snakemake --cores 2 'my target'"
