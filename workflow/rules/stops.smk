# A training job stopped on request (Ctrl-C, SIGTERM) writes a stop record; decaylab's console
# (`--logger decaylab`, src/snakemake_logger_plugin_decaylab) reads them to end the run with what
# stopped and how to resume, instead of Snakemake's failure lines. Records of an earlier run go.
import shutil

from decaylab import runner


onstart:
    shutil.rmtree(runner.STOP_RECORDS, ignore_errors=True)
