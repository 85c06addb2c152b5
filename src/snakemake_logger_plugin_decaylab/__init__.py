"""decaylab's console for Snakemake, through Snakemake's logger-plugin interface.

``--logger decaylab`` (set by ``profiles/default``) prints Snakemake's own console lines, with
Snakemake's filter and formatter, except one case: a training job stopped on request (Ctrl-C,
SIGTERM) is not a failure — it wrote its checkpoint and a rerun resumes it. Snakemake would
report it as one ("Error in rule train_shard", "CalledProcessError … exit status 130", "At least
one job did not complete successfully"); instead the run ends with which shards stopped at which
epoch and the command that resumes them.

Snakemake marks a job's failure with an event (``LogEvent.JOB_ERROR``), but the final lines of a
failed run only by their text. Those texts are :data:`SNAKEMAKE_TEXTS`, and
``tests/test_console.py`` fails when a Snakemake release words them differently.
"""

import logging
import shlex
import sys

from snakemake_interface_logger_plugins.base import LogHandlerBase
from snakemake_interface_logger_plugins.common import LogEvent

from decaylab import runner

SNAKEMAKE_TEXTS = {
    # the exception a stopped job raises, printed after its "Error in rule" record
    "stopped_job": "returned non-zero exit status 130",
    # the last line of a run in which a job failed; and what Snakemake says instead of it when
    # the job's exit wins a race with the scheduler
    "failed_run": "At least one job did not complete successfully",
    "failed_run_race": "Exiting because a job execution failed",
}


def stop_summary(stops: list[dict], argv: list[str]) -> str:
    """What stopped at which epoch, and the command that resumes every shard."""
    lines = [
        f"  {s['shard']}: stopped after epoch {s['epoch']} of {s['epochs']}; "
        f"checkpoint {s['checkpoint']} written"
        for s in stops
    ]
    return (
        "Stopped on request (Ctrl-C or SIGTERM); what was trained is kept:\n"
        + "\n".join(lines)
        + "\nTo resume, run the same command again; each shard continues from its "
        + f"checkpoint:\n  {shlex.join(['snakemake', *argv])}"
    )


class LogHandler(LogHandlerBase):
    """Snakemake's console lines on its stream, less the failure records of stopped jobs."""

    def __post_init__(self) -> None:
        logging.Handler.__init__(self)  # interface 1.x does not initialize the handler
        self.stream = sys.stdout if self.common_settings.stdout else sys.stderr
        self.other_failures = False
        self.last_was_job_info = False

    @property
    def writes_to_stream(self) -> bool:
        return True

    @property
    def writes_to_file(self) -> bool:
        return False

    @property
    def has_filter(self) -> bool:
        return False  # Snakemake attaches its default filter (quiet, verbose, dry run …)

    @property
    def has_formatter(self) -> bool:
        return False  # and its default formatter

    @property
    def needs_rulegraph(self) -> bool:
        return False

    def emit(self, record: logging.LogRecord) -> None:
        shown = self.shown(record)
        if shown is None:
            return
        job_info = getattr(record, "event", None) == LogEvent.JOB_INFO
        if job_info and not self.last_was_job_info:
            self.stream.write("\n")  # a blank line before each job, as Snakemake's console
        self.last_was_job_info = job_info
        if shown and shown != "None":
            self.stream.write(shown + "\n")
            self.stream.flush()

    def shown(self, record: logging.LogRecord) -> str | None:
        """The record's text on the console, or None for a record of a requested stop."""
        stops = runner.stopped_shards()
        if not stops:
            return self.format(record)
        if getattr(record, "event", None) == LogEvent.JOB_ERROR:
            if any(stop["log"] in str(getattr(record, "log", "")) for stop in stops):
                return None
            self.other_failures = True
            return self.format(record)
        text = str(record.msg)
        if SNAKEMAKE_TEXTS["stopped_job"] in text:
            return None
        if SNAKEMAKE_TEXTS["failed_run_race"] in text:
            return self.format(record) if self.other_failures else None
        if SNAKEMAKE_TEXTS["failed_run"] in text:
            summary = stop_summary(stops, sys.argv[1:])
            return summary + "\n" + self.format(record) if self.other_failures else summary
        return self.format(record)
