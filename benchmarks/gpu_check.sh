#!/usr/bin/env bash
# The GPU check: run on a machine with a GPU, JAX with CUDA and no network.
#   1. the oracle tests on the GPU (KERAS_BACKEND=jax, the engine's default device is "auto");
#   2. a 256-run MLP shard timed on the GPU and on the same machine's CPU cores, with ratios,
#      in a process with an empty persistent compilation cache, then in one with it warm
#      (their tables: docs/performance/gpu_vs_cpu.json and gpu_vs_cpu_warm.json).
# Keras (and namex, optree) come from wheels in .whl/ when not installed; see docs/gpu.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

if ! "$PYTHON" -c "import keras" 2>/dev/null; then
  if ! compgen -G ".whl/*.whl" >/dev/null; then
    echo "gpu_check: Keras is not installed and .whl/ holds no wheels (see docs/gpu.md)" >&2
    exit 1
  fi
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --target /tmp/decaylab-site .whl/*.whl
  export PYTHONPATH=/tmp/decaylab-site
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export KERAS_BACKEND=jax
export JAX_DEFAULT_MATMUL_PRECISION=highest  # no TF32: the oracle tolerances are float32's
export PYTHONUNBUFFERED=1

"$PYTHON" -c "import jax, keras; print('jax', jax.__version__, 'keras', keras.__version__, jax.devices())"
echo "== 1. oracle tests on the GPU"
"$PYTHON" -m pytest -q -p no:cacheprovider -x \
  tests/test_engine.py tests/test_schedules.py tests/test_keras_parity.py \
  tests/test_numpy_oracle.py tests/test_resume.py
DECAYLAB_COMPILATION_CACHE=$(mktemp -d)
export DECAYLAB_COMPILATION_CACHE
echo "== 2. a 256-run MLP shard: GPU against CPU, cold compilation cache"
"$PYTHON" benchmarks/gpu_vs_cpu.py --runs 256 "$@"
echo "== 3. the same in a new process, warm compilation cache"
"$PYTHON" benchmarks/gpu_vs_cpu.py --runs 256 --json docs/performance/gpu_vs_cpu_warm.json "$@"
