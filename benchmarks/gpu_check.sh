#!/usr/bin/env bash
# Device check in one command (under 8 minutes on a GPU machine):
#   bash benchmarks/gpu_check.sh          # CUDA: crops/s per backbone, MTCNN
#                                         # faces/s, seconds per 1080p clip
#   bash benchmarks/gpu_check.sh --cpu    # the same steps on CPU, tiny sizes
# Extra arguments go to benchmarks/gpu_check.py (e.g. --seconds 4).
# PYTHON picks the interpreter (default: python3); the repository root is put
# on PYTHONPATH so that this checkout's sklearn_deepfake is the one timed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
exec timeout "${GPU_CHECK_TIMEOUT:-470}" "${PYTHON:-python3}" "$here/gpu_check.py" "$@"
