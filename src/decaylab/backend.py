"""The only backend-specific code: gradients, compilation and its cache, threads, devices.

Everything else in decaylab is written with ``keras.ops`` and runs under the backend Keras was
started with (``KERAS_BACKEND``: ``tensorflow``, the default, or ``jax``).
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import sys
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

_NATIVE_LINE = re.compile(r"([IWEF])\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ \S+:\d+\] ")
"""The prefix of a line logged by a native library through absl: level, date, time, thread."""
_ABSL_PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called"
_LEVELS = "IWEF"  # TF_CPP_MIN_LOG_LEVEL 0, 1, 2, 3


@contextmanager
def _native_start_logs_at_level():
    """While TensorFlow's libraries load, keep only what ``TF_CPP_MIN_LOG_LEVEL`` asks for.

    TensorFlow logs through absl before its log level is read ("Could not find cuda drivers",
    oneDNN and CPU-feature notices, each time one of its libraries loads), so those lines ignore
    the variable. File descriptor 2 is captured while they load; the lines below the level
    (with their continuation lines and absl's preamble) are dropped, everything else is written
    back. Where ``TF_CPP_MIN_LOG_LEVEL`` is unset it becomes 3 (fatal only) on a machine with no
    NVIDIA device, and 1 (warnings and errors) on one with a GPU.
    """
    gpu_present = any(Path("/dev").glob("nvidia[0-9]*"))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1" if gpu_present else "3")
    setting = os.environ["TF_CPP_MIN_LOG_LEVEL"]
    level = int(setting) if setting.isdigit() else 0
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept, keep = [], True
            for line in captured.read().decode(errors="replace").splitlines(keepends=True):
                match = _NATIVE_LINE.match(line)
                if line.startswith(_ABSL_PREAMBLE):
                    keep = level == 0
                elif match:
                    keep = _LEVELS.index(match.group(1)) >= level
                if keep:
                    kept.append(line)
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


with _native_start_logs_at_level():
    import keras

NAME = keras.backend.backend()
SUPPORTED = ("tensorflow", "jax")
if NAME not in SUPPORTED:
    raise ImportError(f"KERAS_BACKEND must be one of {list(SUPPORTED)}, got {NAME!r}")
CACHE_VARIABLE = "DECAYLAB_COMPILATION_CACHE"
"""Environment variable naming the folder of the persistent compilation cache (unset: none)."""


def _machine_key() -> str:
    """A digest of this machine's CPU features: executables compiled for one CPU can crash
    (SIGILL) on another, so each kind of machine on a shared file system gets its own cache."""
    try:
        flags = next(
            line
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("flags")
        )
    except (OSError, StopIteration):
        flags = platform.processor()
    return hashlib.sha256(f"{platform.machine()} {flags}".encode()).hexdigest()[:12]


def compilation_cache() -> Path | None:
    """The folder of this backend's persistent compilation cache on this kind of machine."""
    root = os.environ.get(CACHE_VARIABLE)
    if not root:
        return None
    return Path(root).resolve() / f"{NAME}-{keras.__version__}-{_machine_key()}"


def discard_unreadable_cache_entries(folder: Path) -> list[Path]:
    """Remove the entries of TensorFlow's persistent XLA cache in ``folder`` that are not whole
    (truncated, or cut at a field): TensorFlow would fail on them rather than compile again.

    An entry is an ``XlaSerializedCacheEntry`` protocol buffer (fields 1 key, 2 HLO module,
    3 executable); it is kept if the protobuf library parses it, as an empty message with
    unknown fields, and all three fields are there. Returns the removed entries, each named in
    a warning.
    """
    from google.protobuf import empty_pb2
    from google.protobuf.message import DecodeError
    from google.protobuf.unknown_fields import UnknownFieldSet

    removed = []
    for entry in sorted(folder.glob("*.pb")) if folder.is_dir() else []:
        message = empty_pb2.Empty()
        try:
            message.ParseFromString(entry.read_bytes())
            whole = {field.field_number for field in UnknownFieldSet(message)} >= {1, 2, 3}
        except (DecodeError, OSError):
            whole = False
        if not whole:
            warnings.warn(
                f"compilation cache entry {entry} is unreadable: removed, compiled again",
                stacklevel=2,
            )
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


if NAME == "tensorflow":
    if compilation_cache() is not None:  # read by TensorFlow when it starts XLA
        discard_unreadable_cache_entries(compilation_cache())
        os.environ["TF_XLA_FLAGS"] = (
            os.environ.get("TF_XLA_FLAGS", "")
            + f" --tf_xla_persistent_cache_directory={compilation_cache()}"
        ).strip()
    import tensorflow as tf

    # Keras's JAX backend computes these in float32 even for float64 input (its dtype promotion
    # of ``(float64, float)``); the backends' own functions keep the input's precision.
    tanh, cos, floor, ceil = tf.math.tanh, tf.math.cos, tf.math.floor, tf.math.ceil

    def mean(x, axis=None, keepdims=False):
        """The mean in the input's precision (Keras's JAX ``ops.mean`` sums float64 in float32)."""
        return tf.reduce_mean(x, axis=axis, keepdims=keepdims)

    def value_and_grad(fn):
        """``fn(params, *args) -> (loss, aux)`` ↦ ``(params, *args) -> ((loss, aux), grads)``."""

        def wrapped(params, *args):
            with tf.GradientTape() as tape:
                tape.watch(params)
                loss, aux = fn(params, *args)
            return (loss, aux), tape.gradient(loss, params)

        return wrapped

    def compile(fn):  # noqa: A001 - the backend's compile step
        """One XLA-compiled graph (``tf.function(jit_compile=True)``)."""
        return tf.function(fn, jit_compile=True, autograph=False)

    def set_threads(threads: int) -> None:
        """Use ``threads`` CPU threads for TensorFlow's intra- and inter-op pools."""
        for getter, setter in (
            (
                tf.config.threading.get_intra_op_parallelism_threads,
                tf.config.threading.set_intra_op_parallelism_threads,
            ),
            (
                tf.config.threading.get_inter_op_parallelism_threads,
                tf.config.threading.set_inter_op_parallelism_threads,
            ),
        ):
            if getter() == threads:
                continue
            try:
                setter(threads)
            except RuntimeError as error:
                raise RuntimeError(
                    f"cannot set TensorFlow to {threads} threads after it has started: {error}"
                ) from None

    def gpu_names() -> list[str]:
        """Readable names of the visible GPUs."""
        names = []
        for gpu in tf.config.list_physical_devices("GPU"):
            details = tf.config.experimental.get_device_details(gpu)
            names.append(f"{details.get('device_name', 'GPU')} ({gpu.name})")
        return names

    def device_scope(device: str):
        """Place the computation on ``/GPU:0`` or ``/CPU:0``."""
        return tf.device("/GPU:0" if device == "gpu" else "/CPU:0")

else:
    import jax
    import jax.numpy as jnp

    tanh, cos, floor, ceil = jnp.tanh, jnp.cos, jnp.floor, jnp.ceil

    def mean(x, axis=None, keepdims=False):
        """The mean in the input's precision (Keras's JAX ``ops.mean`` sums float64 in float32)."""
        return jnp.mean(x, axis=axis, keepdims=keepdims)

    # float64 shards (the oracle tests) need 64-bit arrays, which JAX leaves off by default
    jax.config.update("jax_enable_x64", True)
    if compilation_cache() is not None:
        jax.config.update("jax_compilation_cache_dir", str(compilation_cache()))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)

    def value_and_grad(fn):
        """``fn(params, *args) -> (loss, aux)`` ↦ ``(params, *args) -> ((loss, aux), grads)``."""
        return jax.value_and_grad(fn, has_aux=True)

    def compile(fn):  # noqa: A001 - the backend's compile step
        """One XLA-compiled computation (``jax.jit``)."""
        return jax.jit(fn)

    def set_threads(threads: int) -> None:
        """JAX sizes its CPU pool from ``XLA_FLAGS`` at start; record the wish for children."""
        os.environ.setdefault(
            "XLA_FLAGS",
            f"--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads={threads}",
        )

    def gpu_names() -> list[str]:
        """Readable names of the visible GPUs."""
        try:
            return [f"{d.device_kind} ({d})" for d in jax.devices("gpu")]
        except RuntimeError:
            return []

    def device_scope(device: str):
        """Make the GPU (or the CPU) JAX's default device."""
        if device == "gpu":
            return jax.default_device(jax.devices("gpu")[0])
        return jax.default_device(jax.devices("cpu")[0])


def resolve_device(device: str) -> str:
    """``cpu``, ``gpu`` or ``auto`` ↦ the device to use; ``gpu`` without a GPU is an error."""
    if device not in ("cpu", "gpu", "auto"):
        raise ValueError(f"device must be one of ['cpu', 'gpu', 'auto'], got {device!r}")
    if device == "cpu":
        return "cpu"
    has_gpu = bool(gpu_names())
    if device == "gpu" and not has_gpu:
        raise RuntimeError(
            f"device: gpu was asked for, but the {NAME} backend sees no GPU "
            f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')})"
        )
    return "gpu" if has_gpu else "cpu"


def device_description(device: str) -> str:
    """A readable name of the device a shard ran on."""
    if device == "gpu":
        return f"{NAME}:{gpu_names()[0]}"
    return f"{NAME}:cpu"
