#!/usr/bin/env python3
"""Checks, without a Docker engine, that deploy/Dockerfile's runtime stage installs every shared library
that senti links: each library `ldd build/senti` resolves must belong (dpkg -S) to a package that the
stage's `apt-get install` line brings in, directly or as a dependency (apt-cache depends --recurse), or
to the base image's C/C++ runtime. Run on Debian 12, the image's base, after building senti.
  python3 tools/deploy/check_image_libraries.py [--senti build/senti] [--dockerfile deploy/Dockerfile]
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BASE_IMAGE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6"}  # in debian:bookworm-slim (apt needs them)


def runtime_packages(dockerfile: Path) -> list[str]:
    """The packages of the last stage's apt-get install."""
    last_stage = dockerfile.read_text(encoding="utf-8").split("\nFROM ")[-1].replace("\\\n", " ")
    m = re.search(r"apt-get install ([^&;]*)", last_stage)
    if not m:
        raise SystemExit(f"{dockerfile}: no apt-get install in the runtime stage")
    return [w for w in m.group(1).split() if not w.startswith("-")]


def with_dependencies(packages: list[str]) -> set[str]:
    out = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                          "--no-breaks", "--no-replaces", "--no-enhances", *packages],
                         capture_output=True, text=True, check=True).stdout
    return {line.strip() for line in out.splitlines() if line and not line.startswith((" ", "<"))}


def linked_libraries(binary: Path) -> list[str]:
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
    libs = []
    for line in out.splitlines():
        if "not found" in line:
            raise SystemExit(f"{binary}: {line.strip()}")
        if m := re.search(r"=> (/\S+)", line):
            libs.append(m.group(1))
    return libs


def owner(path: str) -> str | None:
    for candidate in (path, str(Path(path).resolve())):
        r = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":")[0].strip()
        # /lib is a link to /usr/lib on Debian 12: dpkg knows one spelling.
        alt = candidate.replace("/usr/lib/", "/lib/", 1) if candidate.startswith("/usr/lib/") else "/usr" + candidate
        r = subprocess.run(["dpkg", "-S", alt], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":")[0].strip()
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--senti", type=Path, default=REPO / "build/senti")
    parser.add_argument("--dockerfile", type=Path, default=REPO / "deploy/Dockerfile")
    o = parser.parse_args()
    listed = runtime_packages(o.dockerfile)
    available = with_dependencies(listed) | BASE_IMAGE_PACKAGES
    problems, owners = [], {}
    for lib in linked_libraries(o.senti):
        # senti links no CUDA library in any build: the CUDA backend is the plugin libsenti_cuda.so,
        # loaded with dlopen only when a GPU is found (src/runtime/cuda_plugin.h); the image has none.
        if "/cuda" in lib or re.match(r"lib(cuda|cudart|cublas|nvrtc|nvJitLink)", Path(lib).name):
            problems.append(f"{lib}: senti links a CUDA library (the CUDA backend belongs in libsenti_cuda.so)")
            continue
        package = owner(lib)
        owners[lib] = package
        if package is None:
            problems.append(f"{lib}: no Debian package owns it (built by hand?)")
        elif package not in available:
            problems.append(f"{lib} comes from {package}, which the runtime stage does not install")
    for p in problems:
        print(f"FAIL {p}")
    if problems:
        return 1
    print(f"OK the runtime stage ({' '.join(listed)}) provides all {len(owners)} libraries "
          f"{o.senti} links (from {', '.join(sorted(set(owners.values())))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
