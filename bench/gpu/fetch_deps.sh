#!/usr/bin/env bash
# Run on a Debian 12 machine with apt (the development machine), before a GPU session: downloads the
# Debian packages senti's build needs (the GPU machine has CUDA, CMake, ninja, g++ and PyTorch, but none
# of our Debian libraries and no network) into .gpu-deps/debs/, and copies the benchmark texts there.
#   bench/gpu/fetch_deps.sh [TEXTS.jsonl]      (default: data/sentiment/test.jsonl when the repo has it)
# Then pass `carry: [".gpu-deps"]` to the device run (the folder is git-ignored) and run
# bench/gpu/run_on_device.sh there. About 25 MB of .deb files.
set -euo pipefail
cd "$(dirname "$0")/../.."
DEST=.gpu-deps
mkdir -p "$DEST/debs"
PACKAGES=(libdnnl-dev libdnnl2 ocl-icd-opencl-dev ocl-icd-libopencl1 opencl-c-headers opencl-clhpp-headers
          libutf8proc-dev libutf8proc2 libboost1.74-dev nlohmann-json3-dev libspdlog-dev libspdlog1.10
          libfmt-dev libfmt9 libcli11-dev libgtest-dev googletest libgmock-dev pkgconf pkgconf-bin libpkgconf3)
(cd "$DEST/debs" && apt-get download "${PACKAGES[@]}")
TEXTS=${1:-data/sentiment/test.jsonl}
if [ -f "$TEXTS" ]; then cp "$TEXTS" "$DEST/texts.jsonl"; fi
du -sh "$DEST"
