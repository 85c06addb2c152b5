#!/usr/bin/env bash
# decaylab itself, into the rules' conda environment, from the source workflow/Snakefile names:
# its own checkout (installed editable, so the environment follows the code without a rebuild),
# or what you set DECAYLAB_SOURCE to, e.g. git+https://…/decaylab@TAG for a remote module.
set -euo pipefail
source="${DECAYLAB_SOURCE:?workflow/Snakefile sets it}"
if [ -d "$source" ]; then
  python -m pip install --no-deps --editable "$source"
else
  python -m pip install --no-deps "$source"
fi
