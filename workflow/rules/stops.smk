# A training job stopped on request (Ctrl-C, SIGTERM) is not a failure: it wrote its checkpoint
# and a rerun resumes it. Snakemake would report it as one ("Error in rule train_shard",
# "CalledProcessError … exit status 130", "At least one job did not complete successfully");
# instead the run ends with which shards stopped at which epoch and the command that resumes.
import logging
import shlex
import shutil
import sys

from snakemake.logging import logger
from snakemake_interface_logger_plugins.common import LogEvent

from decaylab import runner


class RequestedStops(logging.Filter):
    """Drops the failure records of stopped training jobs; the final error becomes a summary."""

    other_failures = False

    def filter(self, record):
        stops = runner.stopped_shards()
        if not stops:
            return True
        if getattr(record, "event", None) == LogEvent.JOB_ERROR:
            if any(stop["log"] in str(getattr(record, "log", "")) for stop in stops):
                return False
            self.other_failures = True
            return True
        text = str(record.msg)
        if "returned non-zero exit status 130" in text:
            return False
        # Snakemake says this instead of the next message when the job's exit wins a race
        if "Exiting because a job execution failed" in text:
            return self.other_failures
        if "At least one job did not complete successfully" in text:
            lines = [
                f"  {s['shard']}: stopped after epoch {s['epoch']} of {s['epochs']}; "
                f"checkpoint {s['checkpoint']} written"
                for s in stops
            ]
            logger.warning(
                "Stopped on request (Ctrl-C or SIGTERM); what was trained is kept:\n"
                + "\n".join(lines)
                + "\nTo resume, run the same command again; each shard continues from its "
                + f"checkpoint:\n  {shlex.join(['snakemake', *sys.argv[1:]])}"
            )
            return self.other_failures
        return True


logger.addFilter(RequestedStops())


onstart:
    shutil.rmtree(runner.STOP_RECORDS, ignore_errors=True)
