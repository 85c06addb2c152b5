"""A real single-node SLURM cluster on this machine, for the cluster tests.

Starts munged, slurmctld and slurmd in the foreground (no systemd) with a configuration in a
temporary folder, declares two GPUs backed by character devices made with ``mknod`` (so that
``sbatch --gpus=1`` hands out ``CUDA_VISIBLE_DEVICES`` without real hardware), and stops every
daemon afterwards. Without slurmdbd ``sacct`` cannot work, so clients must use ``squeue``, and
``MinJobAge`` keeps finished jobs visible to it (and to ``scontrol``) for 10 minutes.

The configuration goes to SLURM's default place, ``/etc/slurm`` (files already there are put
back afterwards): the executor plugin's job step drops every ``SLURM_*`` variable, ``SLURM_CONF``
included, before its inner ``srun``, which then finds no configuration anywhere else.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import stat
import subprocess
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CONFIG_DIR = Path("/etc/slurm")
N_FAKE_GPUS = 2


def missing() -> str | None:
    """Why a cluster cannot be started here, or None."""
    if os.geteuid() != 0:
        return "starting SLURM's daemons needs root"
    absent = [name for name in (*DAEMONS, "sbatch", "squeue") if not shutil.which(name)]
    if absent:
        return (
            f"SLURM is not installed (missing {', '.join(absent)}; apt-get install slurm-wlm munge)"
        )
    return None


def _config(root: Path, host: str, gpus: list[Path], munge_socket: Path) -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    cpus = os.cpu_count()
    return f"""
ClusterName=decaylab
SlurmctldHost={host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={munge_socket}
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
MinJobAge=600
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
GresTypes=gpu
NodeName={host} CPUs={cpus} RealMemory={memory} Gres=gpu:{len(gpus)} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


@contextlib.contextmanager
def local_slurm(root: Path, timeout: float = 30):
    """Run a one-node cluster whose configuration lives in ``root``; yields its environment."""
    root.mkdir(parents=True, exist_ok=True)
    for folder in ("state", "spool", "munge"):
        (root / folder).mkdir(exist_ok=True)
    host = socket.gethostname().split(".")[0]
    gpus = []
    for index in range(N_FAKE_GPUS):
        device = root / f"gpu{index}"
        if not device.exists():
            os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a character device
        gpus.append(device)
    munge_socket = root / "munge" / "munge.socket"
    CONFIG_DIR.mkdir(parents=True, exist_ok=True)
    saved = {}
    for name in () if _left_by_these_tests() else ("slurm.conf", "gres.conf"):
        if (CONFIG_DIR / name).exists():
            saved[name] = (CONFIG_DIR / name).read_bytes()
    (CONFIG_DIR / "slurm.conf").write_text(_config(root, host, gpus, munge_socket))
    (CONFIG_DIR / "gres.conf").write_text("".join(f"Name=gpu File={d}\n" for d in gpus))
    env = {**os.environ, "SLURM_CONF": str(CONFIG_DIR / "slurm.conf")}
    processes = []
    logs = [open(root / f"{name}.out", "w") for name in DAEMONS]  # noqa: SIM115
    try:
        processes.append(
            subprocess.Popen(
                [
                    "munged",
                    "--foreground",
                    "--force",
                    f"--socket={munge_socket}",
                    f"--pid-file={root}/munged.pid",
                    f"--log-file={root}/munged.log",
                    f"--seed-file={root}/munge/seed",
                ],  # fmt: skip
                env=env,
                stdout=logs[0],
                stderr=subprocess.STDOUT,
            )
        )
        _wait_for(lambda: munge_socket.exists(), timeout, "munged")
        for daemon, log in zip(("slurmctld", "slurmd"), logs[1:], strict=True):
            processes.append(
                subprocess.Popen(
                    [daemon, "-D", "-f", env["SLURM_CONF"]],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        _wait_for(lambda: _node_idle(env), timeout, "the SLURM node", root)
        yield env
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in logs:
            log.close()
        for name in ("slurm.conf", "gres.conf"):
            if name in saved:
                (CONFIG_DIR / name).write_bytes(saved[name])
            else:
                (CONFIG_DIR / name).unlink(missing_ok=True)


def _left_by_these_tests() -> bool:
    """Whether ``/etc/slurm`` holds this cluster's configuration, left by a run of these tests
    that was killed before it could clean up. It is not the machine's own, so it is removed
    afterwards rather than put back: a stale configuration makes every ``scontrol`` (which the
    SLURM executor plugin calls whenever Snakemake starts) wait ~10 s for a controller that is
    gone."""
    path = CONFIG_DIR / "slurm.conf"
    return path.exists() and "ClusterName=decaylab" in path.read_text()


def _node_idle(env) -> bool:
    result = subprocess.run(
        ["sinfo", "-h", "-o", "%T"], env=env, capture_output=True, text=True, check=False
    )
    return result.returncode == 0 and result.stdout.strip() in ("idle", "mixed")


def _wait_for(ready, timeout, what, root: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.3)
    logs = ""
    if root is not None:
        for name in ("slurmctld.log", "slurmd.log"):
            path = root / name
            if path.exists():
                logs += f"\n--- {name}\n" + path.read_text()[-2000:]
    raise RuntimeError(f"{what} did not come up within {timeout} s{logs}")
