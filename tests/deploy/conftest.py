"""Shared pieces of the deployment tests (tests/deploy/): run a real `senti serve` and the tools they need.

The tests run under pytest from the repository root (scripts/test.d/50-deploy does that in CI):
  SENTI_BIN     the senti binary (default: build/senti)
  SENTI_REQUIRE_DEPLOY_TOOLS=1   a missing nginx/chromium fails the test instead of skipping it (CI)
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TINY_MODEL = REPO / "tests/data/models/tiny"


def senti_bin() -> Path:
    path = Path(os.environ.get("SENTI_BIN", REPO / "build/senti"))
    if not path.exists():
        pytest.fail(f"{path} not found: build senti first (or set SENTI_BIN)")
    return path


def require_tool(*names: str) -> str:
    """The first of the names found on PATH (or in /usr/sbin); skips, or fails in CI, when none is."""
    for name in names:
        found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
        if found:
            return found
    message = f"none of {', '.join(names)} is installed"
    if os.environ.get("SENTI_REQUIRE_DEPLOY_TOOLS") == "1":
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SentiServer:
    """`senti serve --port 0` as a child process; the port comes from its JSON start log line."""

    def __init__(self, log_path: Path, *args: str, model: Path | None = TINY_MODEL, threads: int = 1):
        command = [str(senti_bin()), "serve", "--port", "0", "--log-format", "json", "--threads", str(threads)]
        if model is not None:
            command += ["--model", str(model)]
        command += list(args)
        self.log_path = log_path
        self._log = open(log_path, "w", encoding="utf-8")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, cwd=REPO)
        self.port = self._wait_for_port(timeout=60)
        self.url = f"http://127.0.0.1:{self.port}"

    def _wait_for_port(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if entry.get("message") == "senti serve listening":
                    return int(entry["port"])
            if self.process.poll() is not None:
                raise RuntimeError(f"senti serve exited with {self.process.returncode}:\n{self.log()}")
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"senti serve did not start in {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=60)
        self._log.close()


@pytest.fixture
def senti_server(tmp_path):
    """Starts servers on demand: senti_server(*args, model=...); all are killed at the end of the test."""
    servers: list[SentiServer] = []

    def start(*args: str, **kwargs) -> SentiServer:
        server = SentiServer(tmp_path / f"senti-{len(servers)}.log", *args, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.kill()
