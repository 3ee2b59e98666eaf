#!/usr/bin/env bash
# The one script a GPU machine runs (H100/H200, nvcc 13, CMake, ninja, PyTorch + transformers, no Debian
# libraries, no network), from a copy of the repository with .gpu-deps/ made by bench/gpu/fetch_deps.sh:
#   1. unpacks the carried Debian packages (oneDNN, Boost, spdlog, ...) into /tmp/senti-deps;
#   2. builds senti with CUDA (sm_90) and the CUDA tests;
#   3. runs `senti info`, the CPU-only CUDA plan tests and the GPU tests (kernels vs CPU references,
#      backend vs CPU fp32, batch == single, graph == eager);
#   4. runs bench/gpu/gpu_bench.py (PyTorch eager fp16, torch.compile, senti fp16/bf16, HTTP).
# Everything it reports goes to $OUT (default ./gpu-out): run.log, info.txt, gpu_test.log, report.md,
# results.json. Budget: about 8 minutes (build 1-3, tests < 1, bench 3-4). SKIP_BENCH=1 stops after
# the tests; COMPILE_MODES overrides torch.compile's modes (default reduce-overhead).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=${OUT:-$ROOT/gpu-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/run.log") 2>&1
start=$(date +%s)
stamp() { echo "=== [$(( $(date +%s) - start ))s] $*"; }

stamp "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv 2>&1 | head -3
nvcc --version | tail -1; cmake --version | head -1; g++ --version | head -1; nproc

stamp "unpack dependencies"
DEPS=/tmp/senti-deps
mkdir -p "$DEPS"
if [ ! -d .gpu-deps/debs ]; then echo "no .gpu-deps/debs: run bench/gpu/fetch_deps.sh on the dev machine and carry .gpu-deps"; exit 2; fi
for deb in .gpu-deps/debs/*.deb; do
  if command -v dpkg-deb >/dev/null; then
    dpkg-deb -x "$deb" "$DEPS"
  else  # a .deb is an ar archive holding data.tar.*
    python3 - "$deb" "$DEPS" <<'PY'
import io, sys, tarfile
data = open(sys.argv[1], "rb").read()
pos = 8
while pos < len(data):
    name = data[pos:pos + 16].decode().strip().rstrip("/")
    size = int(data[pos + 48:pos + 58].decode().strip())
    body = data[pos + 60:pos + 60 + size]
    if name.startswith("data.tar"):
        tarfile.open(fileobj=io.BytesIO(body)).extractall(sys.argv[2])
    pos += 60 + size + (size & 1)
PY
  fi
done
PREFIX=$DEPS/usr
export PATH=$PREFIX/bin:$PATH
export LD_LIBRARY_PATH=$PREFIX/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
export PKG_CONFIG_PATH=$PREFIX/lib/x86_64-linux-gnu/pkgconfig:$PREFIX/share/pkgconfig:$PREFIX/lib/pkgconfig
export PKG_CONFIG_LIBDIR=$PKG_CONFIG_PATH
# The .pc files say prefix=/usr: point them at the unpacked tree (CMake configs are relocatable).
for pc in "$PREFIX"/lib/x86_64-linux-gnu/pkgconfig/*.pc "$PREFIX"/share/pkgconfig/*.pc; do
  [ -f "$pc" ] && sed -i "s|^prefix=/usr$|prefix=$PREFIX|" "$pc"
done
# The unversioned .so links of -dev packages are absolute (/usr/lib/...): make them relative.
for link in "$PREFIX"/lib/x86_64-linux-gnu/*.so; do
  if [ -L "$link" ]; then ln -sf "$(basename "$(readlink "$link")")" "$link"; fi
done

stamp "configure + build (CUDA)"
BUILD=/tmp/senti-build
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSENTI_CUDA=ON -DSENTI_CUDA_ARCHITECTURES=90 \
  -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_INCLUDE_PATH="$PREFIX/include" -DCMAKE_LIBRARY_PATH="$PREFIX/lib/x86_64-linux-gnu" \
  -DBoost_INCLUDE_DIR="$PREFIX/include" -DCLI11_INCLUDE_DIR="$PREFIX/include" || exit 3
cmake --build "$BUILD" -j"$(nproc)" --target senti cuda_plan_test cuda_gpu_test || exit 4

stamp "senti info"
"$BUILD/senti" info | tee "$OUT/info.txt"

stamp "tests"
"$BUILD/tests/cuda/cuda_plan_test" --gtest_brief=1
"$BUILD/tests/cuda/cuda_gpu_test" 2>&1 | tee "$OUT/gpu_test.log"
echo "cuda_gpu_test exit status ${PIPESTATUS[0]}"
"$BUILD/senti" predict --device cuda --precision fp16 "这件衣服的质量真的太棒了" "物流太慢了"
"$BUILD/senti" predict --device cpu --precision fp32 "这件衣服的质量真的太棒了" "物流太慢了"
[ "${SKIP_BENCH:-0}" = 1 ] && { stamp "done (bench skipped)"; exit 0; }

stamp "bench"
TEXTS=data/sentiment/test.jsonl
[ -f "$TEXTS" ] || TEXTS=.gpu-deps/texts.jsonl
if [ ! -f "$TEXTS" ]; then  # fall back to the golden texts committed under tests/data
  TEXTS=/tmp/golden_texts.jsonl
  python3 -c "import json;[print(json.dumps({'text':r['text']},ensure_ascii=False)) for r in json.load(open('tests/data/goldens/senti_zh_sentiment_logits.json'))['records'] if 'text' in r]" > "$TEXTS"
fi
PYTHONUNBUFFERED=1 timeout 330 python3 bench/gpu/gpu_bench.py --senti "$BUILD/senti" --texts "$TEXTS" --out /tmp/senti-bench \
  --compile-modes "${COMPILE_MODES:-reduce-overhead}" --http-duration 8 --runs 3
cp /tmp/senti-bench/report.md /tmp/senti-bench/results.json "$OUT"/ 2>/dev/null
stamp "done"
