#!/usr/bin/env python3
"""Checks senti's Kubernetes manifests (deploy/kubernetes/) without a cluster.

1. Schema: every resource against the Kubernetes OpenAPI-derived JSON schemas bundled in the PyPI package
   `kubernetes-validate` (strict: unknown fields are errors), for each --kubernetes-version.
2. senti's own rules, which no schema knows:
   - the Deployment's probes use GET /health on the container's port, which is the port the image listens on;
   - terminationGracePeriodSeconds > preStop sleep + `--drain-timeout`, so SIGKILL never cuts a drain short;
   - the container runs as the image's non-root user with a read-only root filesystem;
   - resource requests and limits are set, and `--threads` is not above the CPU limit;
   - Service, HorizontalPodAutoscaler and PodDisruptionBudget point at the Deployment and its pods;
   - every Pods/Object metric an autoscaler uses is one that `senti serve` really exports on /metrics
     (with --senti BINARY: read from a running server; else from src/serving/metrics.cc);
   - kustomization.yaml lists every resource file but the alternative autoscaler.

Exit status 0 when all is well, 1 with one line per problem otherwise.
  python tools/deploy/check_kubernetes.py [--dir deploy/kubernetes] [--senti build/senti] [--kubernetes-version 1.29.0 ...]
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import kubernetes_validate
import yaml

REPO = Path(__file__).resolve().parents[2]
ALTERNATIVES = {"hpa-queue.yaml"}  # applied instead of hpa.yaml, so not listed in kustomization.yaml
NOT_RESOURCES = {"kustomization.yaml"}


def load_resources(directory: Path) -> tuple[list[tuple[Path, dict]], list[str]]:
    out, problems = [], []
    for path in sorted(directory.glob("*.yaml")):
        if path.name in NOT_RESOURCES:
            continue
        try:
            docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        except yaml.YAMLError as e:
            problems.append(f"{path.name}: not valid YAML: {e}".replace("\n", " "))
            continue
        out.extend((path, doc) for doc in docs if doc is not None)
    return out, problems


def schema_problems(resources: list[tuple[Path, dict]], versions: list[str]) -> list[str]:
    problems = []
    for path, doc in resources:
        if not isinstance(doc, dict):
            problems.append(f"{path.name}: not a mapping")
            continue
        for version in versions:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                where = "/".join(str(p) for p in e.path) or "(top)"
                problems.append(f"{path.name}: Kubernetes {version} schema: {where}: {e.message}")
            except kubernetes_validate.SchemaNotFoundError:
                problems.append(f"{path.name}: Kubernetes {version} has no {doc.get('kind')} in "
                                f"{doc.get('apiVersion')} (unknown or removed API version)")
    return problems


def dockerfile_facts(dockerfile: Path) -> dict:
    """The port and user the image runs with."""
    text = dockerfile.read_text(encoding="utf-8")
    facts: dict = {}
    if m := re.search(r"^EXPOSE\s+(\d+)", text, re.M):
        facts["port"] = int(m.group(1))
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    if users:
        facts["user"] = users[-1].split(":")[0]
    if m := re.search(r"^ENTRYPOINT\s+(\[.*\])", text, re.M):
        facts["entrypoint"] = json.loads(m.group(1))
    return facts


def flag_value(args: list[str], name: str) -> str | None:
    for i, a in enumerate(args):
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
        if a == name and i + 1 < len(args):
            return args[i + 1]
    return None


def cpu_cores(quantity: str) -> float:
    q = str(quantity)
    return int(q[:-1]) / 1000 if q.endswith("m") else float(q)


def pre_stop_seconds(container: dict) -> int:
    hook = container.get("lifecycle", {}).get("preStop", {})
    if "sleep" in hook:
        return int(hook["sleep"]["seconds"])
    command = hook.get("exec", {}).get("command", [])
    if len(command) == 2 and command[0] in ("sleep", "/bin/sleep"):
        return int(float(command[1]))
    return 0


def exported_metrics(senti: Path | None) -> set[str]:
    """Metric names of `senti serve`'s /metrics: from a running server, else from the source."""
    if senti is None:
        source = (REPO / "src/serving/metrics.cc").read_text(encoding="utf-8")
        return set(re.findall(r"# TYPE (senti_\w+) ", source))
    proc = subprocess.Popen(
        [str(senti), "serve", "--model", str(REPO / "tests/data/models/tiny"), "--port", "0", "--threads", "1",
         "--log-format", "json"], stderr=subprocess.PIPE, text=True)
    try:
        port = None
        for line in proc.stderr:
            j = json.loads(line)
            if j.get("message") == "senti serve listening":
                port = j["port"]
                break
        if port is None:
            raise RuntimeError(f"{senti} serve did not start")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            text = r.read().decode()
        return set(re.findall(r"^# TYPE (\w+) ", text, re.M))
    finally:
        proc.kill()
        proc.wait()


def senti_problems(directory: Path, resources: list[tuple[Path, dict]], senti: Path | None) -> list[str]:
    problems: list[str] = []
    by_kind: dict[str, list[tuple[Path, dict]]] = {}
    for path, doc in resources:
        by_kind.setdefault(doc.get("kind", "?"), []).append((path, doc))
    deployments = by_kind.get("Deployment", [])
    if len(deployments) != 1:
        return [f"expected one Deployment, found {len(deployments)}"]
    dpath, deployment = deployments[0]
    d = dpath.name
    name = deployment["metadata"]["name"]
    pod = deployment["spec"]["template"]
    pod_labels = pod["metadata"].get("labels", {})
    pod_spec = pod["spec"]
    containers = pod_spec["containers"]
    container = next((c for c in containers if c["name"] == "senti"), None)
    if container is None:
        return [f"{d}: no container named senti"]
    image = dockerfile_facts(REPO / "deploy/Dockerfile")

    # Ports and probes.
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    if image.get("port") not in ports.values():
        problems.append(f"{d}: containerPort {sorted(ports.values())} is not the image's port {image.get('port')}")
    entry = image.get("entrypoint", [])
    if flag_value(entry + container.get("args", []), "--port") not in (str(image.get("port")), None):
        problems.append(f"{d}: --port differs from the image's EXPOSE")
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        get = container.get(probe, {}).get("httpGet")
        if not get:
            problems.append(f"{d}: {probe} must be an httpGet on /health")
            continue
        if get.get("path") != "/health":
            problems.append(f"{d}: {probe} path is {get.get('path')!r}, not /health")
        port = get.get("port")
        if (ports.get(port) if isinstance(port, str) else port) != image.get("port"):
            problems.append(f"{d}: {probe} port {port!r} is not senti's port {image.get('port')}")

    # Graceful termination.
    args = container.get("args", [])
    drain = flag_value(args, "--drain-timeout")
    if drain is None:
        problems.append(f"{d}: args must set --drain-timeout explicitly (senti's default is 30 s)")
        drain = "30"
    grace = pod_spec.get("terminationGracePeriodSeconds", 30)
    pre_stop = pre_stop_seconds(container)
    if pre_stop == 0:
        problems.append(f"{d}: no preStop sleep: new connections can arrive after SIGTERM closed the listener")
    if grace <= pre_stop + int(drain):
        problems.append(f"{d}: terminationGracePeriodSeconds {grace} must exceed preStop {pre_stop} s + "
                        f"--drain-timeout {drain} s, or SIGKILL cuts the drain short")

    # Non-root, read-only root filesystem.
    sc = {**pod_spec.get("securityContext", {}), **container.get("securityContext", {})}
    if not sc.get("runAsNonRoot"):
        problems.append(f"{d}: runAsNonRoot must be true")
    if "user" in image and str(sc.get("runAsUser")) != image["user"]:
        problems.append(f"{d}: runAsUser {sc.get('runAsUser')} is not the image's USER {image['user']}")
    if not sc.get("readOnlyRootFilesystem"):
        problems.append(f"{d}: readOnlyRootFilesystem must be true")
    if sc.get("allowPrivilegeEscalation", True):
        problems.append(f"{d}: allowPrivilegeEscalation must be false")

    # Resources.
    resources_ = container.get("resources", {})
    for part in ("requests", "limits"):
        for what in ("cpu", "memory"):
            if what not in resources_.get(part, {}):
                problems.append(f"{d}: resources.{part}.{what} is not set")
    threads = flag_value(args, "--threads")
    cpu_limit = resources_.get("limits", {}).get("cpu")
    if threads in (None, "0"):
        problems.append(f"{d}: set --threads (0 means every core of the node, not the pod's CPU share)")
    elif cpu_limit and int(threads) > cpu_cores(cpu_limit):
        problems.append(f"{d}: --threads {threads} is over the CPU limit {cpu_limit}")

    # Selectors and references.
    selector = deployment["spec"]["selector"].get("matchLabels", {})
    if any(pod_labels.get(k) != v for k, v in selector.items()):
        problems.append(f"{d}: the selector does not match the pod labels")
    for path, svc in by_kind.get("Service", []):
        if any(pod_labels.get(k) != v for k, v in svc["spec"].get("selector", {}).items()):
            problems.append(f"{path.name}: the Service selector does not match the pods")
        for p in svc["spec"].get("ports", []):
            target = p.get("targetPort")
            if (ports.get(target) if isinstance(target, str) else target) is None:
                problems.append(f"{path.name}: targetPort {target!r} is not a port of the container")
    for path, pdb in by_kind.get("PodDisruptionBudget", []):
        if any(pod_labels.get(k) != v for k, v in pdb["spec"]["selector"].get("matchLabels", {}).items()):
            problems.append(f"{path.name}: the selector does not match the pods")
    metrics = None
    for path, hpa in by_kind.get("HorizontalPodAutoscaler", []):
        ref = hpa["spec"]["scaleTargetRef"]
        if ref.get("kind") != "Deployment" or ref.get("name") != name:
            problems.append(f"{path.name}: scaleTargetRef is not Deployment/{name}")
        if hpa["spec"].get("minReplicas", 1) < 2:
            problems.append(f"{path.name}: minReplicas under 2 leaves no replica during a rollout or a crash")
        for m in hpa["spec"].get("metrics", []):
            if m["type"] == "Resource" and m["resource"]["name"] not in resources_.get("requests", {}):
                problems.append(f"{path.name}: scales on {m['resource']['name']} without a request for it")
            if m["type"] in ("Pods", "Object"):
                metric = m[m["type"].lower()]["metric"]["name"]
                if metrics is None:
                    metrics = exported_metrics(senti)
                if metric not in metrics:
                    problems.append(f"{path.name}: metric {metric!r} is not exported by senti's /metrics "
                                    f"({', '.join(sorted(metrics))})")

    # kustomization.yaml lists all resources but the alternatives.
    kustomization = directory / "kustomization.yaml"
    if kustomization.exists():
        listed = set(yaml.safe_load(kustomization.read_text(encoding="utf-8")).get("resources", []))
        files = {p.name for p, _ in resources} - ALTERNATIVES
        for missing in sorted(files - listed):
            problems.append(f"kustomization.yaml: {missing} is not listed")
        for extra in sorted(listed - files):
            problems.append(f"kustomization.yaml: lists {extra}, which is not here")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=REPO / "deploy/kubernetes")
    parser.add_argument("--senti", type=Path, help="senti binary: read the exported metric names from its /metrics")
    parser.add_argument("--kubernetes-version", action="append", dest="versions",
                        help="repeatable; default: 1.29.0 and the newest the package knows")
    o = parser.parse_args()
    versions = o.versions or ["1.29.0", kubernetes_validate.latest_version()]
    resources, problems = load_resources(o.dir)
    if not resources and not problems:
        problems = [f"no manifests under {o.dir}"]
    problems += schema_problems(resources, versions)
    if not problems:  # the senti rules assume schema-valid documents
        problems = senti_problems(o.dir, resources, o.senti)
    for p in problems:
        print(f"FAIL {p}")
    if problems:
        return 1
    files = sorted({p.name for p, _ in resources})
    print(f"OK {len(resources)} resources ({', '.join(files)}) valid for Kubernetes {', '.join(versions)}; "
          f"senti rules hold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
