"""tools/deploy/check_kubernetes.py passes the committed deploy/kubernetes/ manifests and rejects broken
copies of them: schema errors (wrong type, unknown field, missing field, removed API version) and
senti's own rules (drain vs grace period, probes, non-root, ports, the autoscaler's metric)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO

CHECKER = REPO / "tools/deploy/check_kubernetes.py"
MANIFESTS = REPO / "deploy/kubernetes"


def run_checker(directory: Path, with_senti: bool = False) -> subprocess.CompletedProcess:
    command = [sys.executable, str(CHECKER), "--dir", str(directory)]
    senti = Path(os.environ.get("SENTI_BIN", REPO / "build/senti"))
    if with_senti and senti.exists():
        command += ["--senti", str(senti)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_committed_manifests_pass():
    r = run_checker(MANIFESTS, with_senti=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OK 5 resources" in r.stdout


def container(docs):
    return docs[0]["spec"]["template"]["spec"]["containers"][0]


def set_arg(docs, name, value):
    args = container(docs)["args"]
    container(docs)["args"] = [a for a in args if not a.startswith(name + "=")] + [f"{name}={value}"]


# (file, mutation of its documents, what the failure line must mention)
BROKEN = {
    "wrong type": ("deployment.yaml", lambda d: container(d)["ports"][0].update(containerPort="eight"), "containerPort"),
    "unknown field": ("deployment.yaml", lambda d: d[0]["spec"].update(replica=3), "replica"),
    "missing selector": ("deployment.yaml", lambda d: d[0]["spec"].pop("selector"), "selector"),
    "removed api version": ("hpa.yaml", lambda d: d[0].update(apiVersion="autoscaling/v2beta1"), "v2beta1"),
    "probe path": ("deployment.yaml",
                   lambda d: container(d)["readinessProbe"]["httpGet"].update(path="/healthz"), "/health"),
    "grace shorter than drain": ("deployment.yaml", lambda d: set_arg(d, "--drain-timeout", 60),
                                 "terminationGracePeriodSeconds"),
    "no preStop": ("deployment.yaml", lambda d: container(d).pop("lifecycle"), "preStop"),
    "root": ("deployment.yaml", lambda d: d[0]["spec"]["template"]["spec"]["securityContext"].pop("runAsNonRoot"),
             "runAsNonRoot"),
    "writable root fs": ("deployment.yaml",
                         lambda d: container(d)["securityContext"].update(readOnlyRootFilesystem=False),
                         "readOnlyRootFilesystem"),
    "no memory limit": ("deployment.yaml", lambda d: container(d)["resources"]["limits"].pop("memory"),
                        "limits.memory"),
    "threads over cpu": ("deployment.yaml", lambda d: set_arg(d, "--threads", 8), "--threads"),
    "service port": ("service.yaml", lambda d: d[0]["spec"]["ports"][0].update(targetPort="web"), "targetPort"),
    "hpa target": ("hpa.yaml", lambda d: d[0]["spec"]["scaleTargetRef"].update(name="senty"), "scaleTargetRef"),
    "unknown metric": ("hpa-queue.yaml",
                       lambda d: d[0]["spec"]["metrics"][0]["pods"]["metric"].update(name="senti_queue_length"),
                       "not exported"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_manifest_is_rejected(tmp_path, case):
    name, mutate, mentions = BROKEN[case]
    copy = tmp_path / "kubernetes"
    shutil.copytree(MANIFESTS, copy)
    docs = list(yaml.safe_load_all((copy / name).read_text(encoding="utf-8")))
    mutate(docs)
    (copy / name).write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
    r = run_checker(copy, with_senti=case == "unknown metric")
    assert r.returncode == 1, f"{case}: accepted\n{r.stdout}{r.stderr}"
    failures = [line for line in r.stdout.splitlines() if line.startswith("FAIL")]
    assert failures and any(mentions in line for line in failures), r.stdout + r.stderr


def test_unparsable_yaml_is_rejected(tmp_path):
    copy = tmp_path / "kubernetes"
    shutil.copytree(MANIFESTS, copy)
    (copy / "service.yaml").write_text("kind: Service\n  metadata: [\n", encoding="utf-8")
    r = run_checker(copy)
    assert r.returncode != 0
