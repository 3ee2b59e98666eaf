"""tools/deploy/check_image_libraries.py: deploy/Dockerfile's runtime stage provides every library senti
links, and a runtime stage that leaves one out (oneDNN) is rejected."""
from __future__ import annotations

import subprocess
import sys

from conftest import REPO, require_tool, senti_bin

CHECKER = REPO / "tools/deploy/check_image_libraries.py"


def run_checker(dockerfile) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CHECKER), "--senti", str(senti_bin()), "--dockerfile", str(dockerfile)],
                          capture_output=True, text=True, timeout=120)


def test_runtime_stage_has_every_library():
    require_tool("dpkg", "apt-cache")
    r = run_checker(REPO / "deploy/Dockerfile")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "libdnnl2" in r.stdout


def test_missing_library_is_rejected(tmp_path):
    require_tool("dpkg", "apt-cache")
    broken = tmp_path / "Dockerfile"
    broken.write_text((REPO / "deploy/Dockerfile").read_text().replace("libdnnl2 ", ""))
    r = run_checker(broken)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "libdnnl" in r.stdout
