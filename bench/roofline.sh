#!/usr/bin/env bash
# The roofline table of this host for the matmuls serving runs: measured one-core peaks (int8, bf16, fp32)
# and read bandwidth per cache level, then every rbt3 matmul shape at the row counts of batch-1 traffic
# (1: the last layer's [CLS] row; 8-64: one short text), senti's kernel and oneDNN's, achieved GOP/s, the
# floor (max of compute at peak and weight bytes at the bandwidth of the cache level they fit in) and the
# ratio to it. Writes bench/results/roofline/<UTC date-time>.md with the host's lscpu model and flags.
#   bench/roofline.sh [--threads N] [--rows 1,8,20,32,64] [--precision int8,fp32]   (run on a quiet machine)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=1 rows=1,8,20,32,64 precision=int8,bf16,fp32
while (($#)); do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    --rows) rows=$2; shift 2 ;;
    --precision) precision=$2; shift 2 ;;
    *) echo "usage: bench/roofline.sh [--threads N] [--rows LIST] [--precision LIST]" >&2; exit 2 ;;
  esac
done
bin=${SENTI_BUILD_DIR:-build}/bench/senti_kernel_bench
[ -x "$bin" ] || cmake --build "${SENTI_BUILD_DIR:-build}" --target senti_kernel_bench
stamp=$(date -u +%Y-%m-%d_%H%M%SZ)
out=bench/results/roofline/$stamp.md
mkdir -p "$(dirname "$out")"
{
  echo "# Roofline, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "Produced by: \`bench/roofline.sh --threads $threads --rows $rows --precision $precision\` (git $(git rev-parse --short HEAD 2>/dev/null || echo ?))."
  echo
  echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) logical CPUs; load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- lscpu flags (SIMD): $(lscpu | sed -n 's/^Flags: *//p' | tr ' ' '\n' | grep -E '^(sse4_2|avx|avx2|fma|avx512.*|avx_vnni|amx.*)$' | tr '\n' ' ')"
  echo "- senti ISA: $(${SENTI_BUILD_DIR:-build}/senti info | sed -n 's/^matmul \(.*\)/\1/p' | tr '\n' ';' | sed 's/;$//')"
  echo
  "$bin" --peaks --threads "$threads" --rows "$rows" --precision "$precision" \
    --shapes 2304x768,768x768,3072x768,768x3072
  echo
  echo "senti µs / oneDNN µs: thread CPU time per PackedLinear call (activation conversion + GEMM + epilogue) with one"
  echo "thread, median; floor µs: max(2·rows·n·k / peak, weight bytes / bandwidth of the level they fit in); senti/floor:"
  echo "how far senti's kernel is from that floor (1.00× would be the roofline)."
} | tee "$out"
echo "-> $out" >&2
