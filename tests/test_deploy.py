"""The deployment files agree with the code: apps, ports, probes, settings, metrics. No cluster, no network."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from shared.settings import PROJECT_ROOT, ServiceUrls, Settings
from shared.suite import APPS, GRACEFUL_SHUTDOWN_S, STOP_GRACE_S

DEPLOY = PROJECT_ROOT / "deploy"
K8S = DEPLOY / "k8s"
DEFAULT_PORTS = {name: urlsplit(getattr(ServiceUrls(), name)).port for name in APPS}
# After its drain an app still needs this long to stop (shared/suite.py): stopped requests send their last
# word, then uvicorn's own grace.
SHUTDOWN_AFTER_DRAIN_S = STOP_GRACE_S + GRACEFUL_SHUTDOWN_S
# Metrics the dashboard reads from other exporters than the suite's own code.
EXTERNAL_METRIC_PREFIXES = ("vllm:",)


def _load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text("utf-8")) if doc]


def _kustomization() -> dict[str, Any]:
    return yaml.safe_load((K8S / "kustomization.yaml").read_text("utf-8"))


@pytest.fixture(scope="module")
def objects() -> dict[tuple[str, str], dict[str, Any]]:
    """Every object of the kustomization's resources, by (kind, name)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for resource in _kustomization()["resources"]:
        for doc in _load_all(K8S / resource):
            key = (doc["kind"], doc["metadata"]["name"])
            assert key not in found, f"{key} defined twice"
            found[key] = doc
    return found


def _container(obj: dict[str, Any]) -> dict[str, Any]:
    containers = obj["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def _env(obj: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in _container(obj).get("env", [])}


def _config(objects: dict[tuple[str, str], dict[str, Any]]) -> dict[str, str]:
    return objects[("ConfigMap", "sg-env")]["data"]


def _settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in [k for k in os.environ if k.startswith("SG_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Settings(_env_file=None)


def test_every_yaml_under_deploy_parses() -> None:
    paths = sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])
    assert paths
    for path in paths:
        assert _load_all(path), f"{path} is empty"


def test_kustomization_references_existing_files() -> None:
    kustomization = _kustomization()
    for resource in kustomization["resources"]:
        assert (K8S / resource).is_file(), resource
    generators = [*kustomization["configMapGenerator"], *kustomization["secretGenerator"]]
    for generator in generators:
        for entry in generator["files"]:
            assert (K8S / entry.split("=", 1)[-1]).is_file(), entry
    # In-place updates (no name hash) are what lets the kubelet swap the mounted files under the gateway.
    assert kustomization["generatorOptions"]["disableNameSuffixHash"] is True


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kustomize_builds() -> None:
    built = subprocess.run(
        ["kubectl", "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(K8S)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    docs = [doc for doc in yaml.safe_load_all(built) if doc]
    assert {doc["metadata"].get("namespace") for doc in docs if doc["kind"] != "Namespace"} == {"shopguide"}
    names = {(doc["kind"], doc["metadata"]["name"]) for doc in docs}
    assert {("ConfigMap", "gateway-routes"), ("Secret", "gateway-tenants")} <= names
    assert {("Deployment", name) for name in APPS} <= names


@pytest.mark.parametrize("name", list(APPS))
def test_every_app_has_a_deployment_service_and_hpa(name: str, objects: dict[tuple[str, str], dict[str, Any]]) -> None:
    deployment, service = objects[("Deployment", name)], objects[("Service", name)]
    container = _container(deployment)
    assert container["image"] == "shopguide"
    assert container["command"] == ["python", "-m", "shared.suite", "serve", name]
    assert {"configMapRef": {"name": "sg-env"}} in container["envFrom"]
    assert container["ports"] == [{"name": "http", "containerPort": DEFAULT_PORTS[name]}]
    assert service["spec"]["ports"] == [{"name": "http", "port": DEFAULT_PORTS[name], "targetPort": "http"}]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()
    assert "replicas" not in deployment["spec"], "the HPA owns replicas; apply would reset them"
    hpa = objects[("HorizontalPodAutoscaler", name)]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    assert 1 <= hpa["minReplicas"] <= hpa["maxReplicas"]
    resources = container["resources"]
    assert {"cpu", "memory"} <= resources["requests"].keys() and "memory" in resources["limits"]


@pytest.mark.parametrize("name", list(APPS))
def test_probes(name: str, objects: dict[tuple[str, str], dict[str, Any]]) -> None:
    container = _container(objects[("Deployment", name)])
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}


@pytest.mark.parametrize("name", list(APPS))
def test_a_pod_has_the_time_to_drain(
    name: str, objects: dict[tuple[str, str], dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM comes after the preStop sleep, and the grace period counts from before it: a grace shorter than
    sleep + drain + shutdown would SIGKILL the streams the drain is letting finish."""
    deployment = objects[("Deployment", name)]
    drain_s = _settings_from({**_config(objects), **_env(deployment)}, monkeypatch).drain_timeout_s
    sleep, seconds = _container(deployment)["lifecycle"]["preStop"]["exec"]["command"]
    assert sleep == "sleep"
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > float(seconds) + drain_s + SHUTDOWN_AFTER_DRAIN_S


def _duration_s(value: str) -> float:
    """A compose duration: 1m30s, 35s, 500ms."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", value)
    assert parts and "".join(n + u for n, u in parts) == value, f"not a compose duration: {value!r}"
    return sum(float(number) * units[unit] for number, unit in parts)


def test_compose_gives_each_app_the_time_to_drain(monkeypatch: pytest.MonkeyPatch) -> None:
    services = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text("utf-8"))["services"]
    for name in APPS:
        drain_s = _settings_from(services[name]["environment"], monkeypatch).drain_timeout_s
        assert _duration_s(services[name]["stop_grace_period"]) > drain_s + SHUTDOWN_AFTER_DRAIN_S, name


def test_config_points_at_the_services(
    objects: dict[tuple[str, str], dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(objects)
    assert {key for key in config if key.startswith("SG_SERVICES__")} == {f"SG_SERVICES__{n.upper()}" for n in APPS}
    settings = _settings_from(config, monkeypatch)  # the whole ConfigMap is valid settings
    for name in APPS:
        url = urlsplit(getattr(settings.services, name))
        service = objects[("Service", url.hostname)]
        assert url.port == DEFAULT_PORTS[name] == service["spec"]["ports"][0]["port"]
    assert urlsplit(settings.redis_url).hostname == "redis"
    assert ("Service", "redis") in objects and ("Service", "qdrant") in objects
    assert urlsplit(settings.qdrant_url or "").hostname == "qdrant"
    for task, route in settings.llm_tasks.items():
        if route.backend == "openai":
            assert route.pool in settings.llm_pools, task


def test_gateway_mounts_the_hot_reloaded_files(objects: dict[tuple[str, str], dict[str, Any]]) -> None:
    gateway = objects[("Deployment", "gateway")]
    env, container = _env(gateway), _container(gateway)
    volumes = {v["name"]: v for v in gateway["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    generated = {
        g["name"]: g["files"][0].split("=")[0]
        for g in (*_kustomization()["configMapGenerator"], *_kustomization()["secretGenerator"])
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


def test_vllm_pool_matches_the_platform_pool(
    objects: dict[tuple[str, str], dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    statefulset = objects[("StatefulSet", "vllm")]
    service = objects[("Service", statefulset["spec"]["serviceName"])]
    assert service["spec"]["clusterIP"] == "None"
    port = service["spec"]["ports"][0]["port"]
    container = _container(statefulset)
    args = dict(arg.removeprefix("--").split("=", 1) for arg in container["args"] if "=" in arg)
    assert int(args["port"]) == port == container["ports"][0]["containerPort"]
    assert args["model"].startswith("/models/")
    assert container["resources"]["limits"]["nvidia.com/gpu"] == int(args["tensor-parallel-size"])
    assert {"name": "HF_HUB_OFFLINE", "value": "1"} in container["env"]
    models = next(m for m in container["volumeMounts"] if args["model"].startswith(m["mountPath"] + "/"))
    volume = next(v for v in statefulset["spec"]["template"]["spec"]["volumes"] if v["name"] == models["name"])
    assert ("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]) in objects

    hpa = objects[("HorizontalPodAutoscaler", "vllm")]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "vllm"}
    pool = _settings_from(_config(objects), monkeypatch).llm_pools["vllm"]
    # Every pod the HPA may start is listed, by its StatefulSet ordinal name; absent ones are ejected.
    name = service["metadata"]["name"]
    assert pool.endpoints == [f"http://vllm-{i}.{name}:{port}" for i in range(hpa["maxReplicas"])]
    assert pool.model == args["served-model-name"]
    adapter = yaml.safe_load((K8S / "monitoring" / "prometheus-adapter.yaml").read_text("utf-8"))
    exposed = {rule["name"]["as"] for rule in adapter["rules"]["custom"]}
    assert {m["pods"]["metric"]["name"] for m in hpa["metrics"]} <= exposed


def test_prometheus_scrapes_every_app() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text("utf-8"))
    targets = {t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    assert {f"{name}:{port}" for name, port in DEFAULT_PORTS.items()} <= targets


def test_compose_lists_every_app() -> None:
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text("utf-8"))
    services = compose["services"]
    for name in APPS:
        assert services[name]["command"] == ["python", "-m", "shared.suite", "serve", name]
        assert services[name]["environment"][f"SG_SERVICES__{name.upper()}"] == f"http://{name}:{DEFAULT_PORTS[name]}"


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


def test_dashboard_reads_only_exported_metrics() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "shopguide.json").read_text("utf-8"))
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    used = set().union(*map(_metric_names, exprs))
    exported = _exported_metrics()
    assert "sg_http_requests_total" in exported and "llm_time_to_first_token_seconds_bucket" in exported
    unknown = {name for name in used - exported if not name.startswith(EXTERNAL_METRIC_PREFIXES)}
    assert not unknown, f"the dashboard reads metrics no code exports: {sorted(unknown)}"
    assert {"sg_gateway_cache_total", "sg_gateway_rate_limited_total", "sg_gateway_shed_total", "llm_endpoint_up"} <= used


def _redis_options(argv: list[str]) -> dict[str, str]:
    assert argv[0] == "redis-server"
    return dict(zip(argv[1::2], argv[2::2], strict=True))


def test_redis_keeps_sessions_across_a_restart(objects: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Sessions live in Redis: both deployments run it with the append-only file, fsynced every second, in a
    directory that outlives the container."""
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text("utf-8"))
    redis = compose["services"]["redis"]
    options = _redis_options(redis["command"])
    assert (options["--appendonly"], options["--appendfsync"]) == ("yes", "everysec")
    volume = next(v.split(":")[0] for v in redis["volumes"] if v.split(":")[1] == options["--dir"])
    assert volume in compose["volumes"], "a named volume, not the container's own layer"

    statefulset = objects[("StatefulSet", "redis")]
    container = _container(statefulset)
    options = _redis_options(container["args"])
    assert (options["--appendonly"], options["--appendfsync"]) == ("yes", "everysec")
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == options["--dir"])
    claims = {claim["metadata"]["name"] for claim in statefulset["spec"]["volumeClaimTemplates"]}
    assert mount["name"] in claims, "the data directory is a persistent volume claim"
