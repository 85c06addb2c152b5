"""Give concurrent local GPU jobs different GPUs.

Snakemake counts a ``gpu`` resource (``--resources gpu=2``) but does not say which GPU a job
may use. A job that needs one takes the first free *slot* 0 … n−1: a lock file held with
``flock`` for the job's lifetime (released by the operating system even if the job dies), and
sets ``CUDA_VISIBLE_DEVICES`` to it before the backend starts. A scheduler that assigns GPUs
itself (SLURM sets ``CUDA_VISIBLE_DEVICES``) is left alone.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path


def visible_gpu_count() -> int:
    """GPUs on this machine: ``DECAYLAB_GPU_SLOTS`` if set, else the lines of ``nvidia-smi -L``."""
    if "DECAYLAB_GPU_SLOTS" in os.environ:
        return int(os.environ["DECAYLAB_GPU_SLOTS"])
    if not shutil.which("nvidia-smi"):
        return 0
    result = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False)
    return len([line for line in result.stdout.splitlines() if line.startswith("GPU ")])


def acquire(directory: Path, n_slots: int):
    """Lock the first free slot in ``directory``; returns ``(slot, open lock file)``.

    Keep the returned file open as long as the GPU is in use. Raises ``RuntimeError`` when all
    ``n_slots`` are taken (more GPU jobs than GPUs: run with ``--resources gpu=N``).
    """
    directory.mkdir(parents=True, exist_ok=True)
    for slot in range(n_slots):
        handle = open(directory / f"gpu{slot}.lock", "w")  # noqa: SIM115 - held by the caller
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        handle.write(str(os.getpid()))
        handle.flush()
        return slot, handle
    raise RuntimeError(
        f"all {n_slots} GPU slots in {directory} are taken: give Snakemake "
        f"--resources gpu={n_slots} so that it never starts more GPU jobs than GPUs"
    )


def assign(directory: Path):
    """Choose this job's GPU and set ``CUDA_VISIBLE_DEVICES``; returns the held lock or None.

    Under SLURM (``SLURM_JOB_ID`` set) the scheduler has chosen already. Otherwise the job picks
    a free one among the GPUs listed in ``CUDA_VISIBLE_DEVICES`` if set, else among all GPUs.
    """
    if os.environ.get("SLURM_JOB_ID"):
        return None
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    devices = listed.split(",") if listed else [str(i) for i in range(visible_gpu_count())]
    if not devices:
        return None
    slot, handle = acquire(directory, len(devices))
    os.environ["CUDA_VISIBLE_DEVICES"] = devices[slot]
    return handle
