"""Renders the Helm chart with helm's own engine and checks what it renders.

Run by scripts/check-packaging with its tools' Python (PyYAML, kubernetes-validate):
    python check-chart.py CHART LIBHELM DOCKERFILE

helm-sdkpy's shared library (helm's Go code) has no `helm template`, but it has `helm install`,
which renders the chart the same way and then needs a cluster: a recording Kubernetes API
server on 127.0.0.1, in this process, answers helm's discovery requests and accepts every object
(nothing runs). The release's `manifest` is then exactly what `helm template` prints.

For the default values (with the two an install must set) and with every optional value set,
each rendered object is validated against the Kubernetes OpenAPI schemas (kubernetes-validate,
strict: unknown fields are errors), and the things that matter for lava-runner are checked:
the token only in a Secret, the probes on the metrics port the runner listens on, the stop
signal left to the image (SIGQUIT) with a grace period longer than the runner's shutdown
timeout, a non-root read-only container, resources as set. Exits 1 on any problem.
"""

import base64
import copy
import ctypes
import http.server
import json
import os
import pathlib
import re
import shutil
import socketserver
import sys
import tempfile
import threading

import kubernetes_validate
import yaml

KUBERNETES_VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]
TOKEN = "glrt-chart-check-TOKEN-4c7f0e"

chart, library, dockerfile = pathlib.Path(sys.argv[1]), sys.argv[2], pathlib.Path(sys.argv[3])
problems = []


def problem(case, message):
    problems.append(f"{case}: {message}")
    print(f"  FAIL {case}: {message}")


# A Kubernetes API server that knows the kinds the chart makes and accepts everything.
KINDS = {
    ("", "v1"): [("secrets", "Secret"), ("services", "Service"), ("configmaps", "ConfigMap")],
    ("apps", "v1"): [("deployments", "Deployment"), ("statefulsets", "StatefulSet")],
    ("monitoring.coreos.com", "v1"): [("servicemonitors", "ServiceMonitor")],
}


class FakeAPI(http.server.BaseHTTPRequestHandler):
    def log_message(self, *arguments):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/version":
            major, minor = KUBERNETES_VERSIONS[-1].split(".")[:2]
            return self.reply(200, {"major": major, "minor": minor, "gitVersion": f"v{KUBERNETES_VERSIONS[-1]}"})
        if path == "/api":
            return self.reply(200, {"kind": "APIVersions", "versions": ["v1"]})
        if path == "/apis":
            groups = [
                {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v}],
                 "preferredVersion": {"groupVersion": f"{g}/{v}", "version": v}}
                for (g, v) in KINDS if g
            ]
            return self.reply(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        match = re.fullmatch(r"/api/(v1)|/apis/([^/]+)/([^/]+)", path)
        if match:
            key = ("", "v1") if match.group(1) else (match.group(2), match.group(3))
            if key in KINDS:
                version = key[1] if not key[0] else f"{key[0]}/{key[1]}"
                resources = [
                    {"name": name, "singularName": kind.lower(), "namespaced": True, "kind": kind,
                     "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}
                    for name, kind in KINDS[key]
                ]
                return self.reply(200, {"kind": "APIResourceList", "groupVersion": version, "resources": resources})
        if re.fullmatch(r".*/namespaces/[^/]+/[a-z]+", path):
            return self.reply(200, {"kind": "List", "apiVersion": "v1", "metadata": {}, "items": []})
        return self.reply(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                "reason": "NotFound", "code": 404, "message": "not found"})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if "json" in self.headers.get("Content-Type", ""):
            created = json.loads(body)
        else:  # helm's release record, sent as protobuf: not looked at
            created = {"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "release"}}
        created.setdefault("metadata", {})["resourceVersion"] = "1"
        self.reply(201, created)

    do_PUT = do_POST
    do_PATCH = do_POST


server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), FakeAPI)
server.daemon_threads = True
threading.Thread(target=server.serve_forever, daemon=True).start()
scratch = pathlib.Path(tempfile.mkdtemp(prefix="check-chart-"))
kubeconfig = scratch / "kubeconfig"
kubeconfig.write_text(yaml.safe_dump({
    "apiVersion": "v1", "kind": "Config", "current-context": "fake",
    "clusters": [{"name": "fake", "cluster": {"server": f"http://127.0.0.1:{server.server_address[1]}"}}],
    "users": [{"name": "fake", "user": {}}],
    "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake", "namespace": "lab"}}],
}))
os.environ["HELM_CACHE_HOME"] = str(scratch / "cache")
os.environ["HELM_CONFIG_HOME"] = str(scratch / "config")
os.environ["HELM_DATA_HOME"] = str(scratch / "data")

helm = ctypes.CDLL(library)
helm.helm_sdkpy_config_create.argtypes = [ctypes.c_char_p] * 4 + [ctypes.POINTER(ctypes.c_ulonglong)]
helm.helm_sdkpy_install.argtypes = [ctypes.c_ulonglong] + [ctypes.c_char_p] * 5 + [ctypes.POINTER(ctypes.c_char_p)]
helm.helm_sdkpy_last_error.restype = ctypes.c_char_p


def render(case, values):
    """The manifest `helm install` (and `helm template`) renders, or None after a problem."""
    handle = ctypes.c_ulonglong()
    if helm.helm_sdkpy_config_create(b"lab", str(kubeconfig).encode(), None, b"{}", ctypes.byref(handle)) != 0:
        sys.exit(f"helm-sdkpy: {helm.helm_sdkpy_last_error().decode()}")
    options = {"wait": False, "timeout_seconds": 60, "disable_openapi_validation": True}
    output = ctypes.c_char_p()
    status = helm.helm_sdkpy_install(
        handle, b"lava-runner", str(chart).encode(), json.dumps(values).encode(), None,
        json.dumps(options).encode(), ctypes.byref(output))
    if status != 0:
        problem(case, f"helm cannot render the chart: {helm.helm_sdkpy_last_error().decode()}")
        return None
    return json.loads(output.value)["manifest"]


defaults = yaml.safe_load((chart / "values.yaml").read_text())
dockerfile_text = dockerfile.read_text()
image_user = re.search(r"^USER (\d+)", dockerfile_text, re.M)
image_stop = re.search(r"^STOPSIGNAL (\S+)", dockerfile_text, re.M)

minimal = {"gitlab": {"url": "https://gitlab.example.com", "token": TOKEN}}
resources = {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "2", "memory": "2Gi"}}
everything = {
    "gitlab": {"url": "https://gitlab.example.com", "existingSecret": "runner-token", "existingSecretKey": "glrt"},
    "replicaCount": 3,
    "image": {"repository": "registry.example.com/lava-runner", "tag": "1.2.3"},
    "imagePullSecrets": [{"name": "registry"}],
    "metrics": {"port": 9400, "serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}}},
    "runner": {"shutdownTimeout": 600, "extraEnv": [{"name": "HTTPS_PROXY", "value": "http://proxy:3128"}]},
    "terminationGracePeriodSeconds": 700,
    "resources": resources,
    "podAnnotations": {"example.com/team": "lab"},
    "podLabels": {"team": "lab"},
    "nodeSelector": {"kubernetes.io/arch": "amd64"},
    "tolerations": [{"key": "lab", "operator": "Exists"}],
    "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
        "weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                                           "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "lava-runner"}}}}]}},
    "extraVolumes": [{"name": "ca", "configMap": {"name": "lab-ca"}}],
    "extraVolumeMounts": [{"name": "ca", "mountPath": "/etc/lab-ca", "readOnly": True}],
}


def merged(base, overrides):
    result = copy.deepcopy(base)
    for key, value in overrides.items():
        nested = isinstance(value, dict) and value and isinstance(result.get(key), dict)
        result[key] = merged(result[key], value) if nested else value
    return result


def validate(case, objects):
    for obj in objects:
        name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        if obj.get("apiVersion") == "monitoring.coreos.com/v1":
            # A CRD: no schema in kubernetes-validate; its fields are checked below.
            continue
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                where = "/".join(str(part) for part in error.path)
                problem(case, f"{name} does not validate against Kubernetes {version} at {where}: {error.message}")
            except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as error:
                problem(case, f"{name}: no Kubernetes {version} schema: {error}")


def check(case, values, objects, manifest):
    settings = merged(defaults, values)
    by_kind = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], []).append(obj)
    workload = "StatefulSet" if settings["stateDir"]["enabled"] else "Deployment"
    deployments = by_kind.get(workload, [])
    if len(deployments) != 1 or len(by_kind.get("Deployment", []) + by_kind.get("StatefulSet", [])) != 1:
        return problem(case, f"{len(deployments)} {workload}s rendered, expected 1 and nothing else")
    deployment = deployments[0]
    pod = deployment["spec"]["template"]["spec"]
    container = next((c for c in pod["containers"] if c["name"] == "lava-runner"), None)
    if container is None:
        return problem(case, "no container lava-runner")
    env = {e["name"]: e for e in container.get("env", [])}

    # The token: only in the chart's Secret, read from a Secret by the container.
    encoded = base64.b64encode(TOKEN.encode()).decode()
    for obj in objects:
        text = json.dumps(obj)
        if (TOKEN in text or encoded in text) and obj["kind"] != "Secret":
            problem(case, f"the token is in the {obj['kind']} {obj['metadata']['name']}")
    secret_ref = env.get("GITLAB_TOKEN", {}).get("valueFrom", {}).get("secretKeyRef")
    if secret_ref is None:
        problem(case, "GITLAB_TOKEN is not read from a Secret")
    elif settings["gitlab"]["existingSecret"]:
        if by_kind.get("Secret"):
            problem(case, "the chart makes a Secret although gitlab.existingSecret is set")
        if secret_ref != {"name": settings["gitlab"]["existingSecret"], "key": settings["gitlab"]["existingSecretKey"]}:
            problem(case, f"GITLAB_TOKEN reads {secret_ref}, not the existing Secret")
    else:
        secret = next((s for s in by_kind.get("Secret", []) if s["metadata"]["name"] == secret_ref["name"]), None)
        if secret is None or base64.b64decode(secret.get("data", {}).get(secret_ref["key"], "")).decode() != TOKEN:
            problem(case, f"the Secret {secret_ref['name']} does not hold the token under {secret_ref['key']}")
    if TOKEN in manifest.replace(encoded, "") and not settings["gitlab"]["existingSecret"]:
        # The plain token must not appear anywhere: the Secret holds it base64-encoded.
        problem(case, "the token appears unencoded in the manifest")

    # Probes on the port the runner listens on.
    port = settings["metrics"]["port"]
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    if ports.get("metrics") != port:
        problem(case, f"the container's metrics port is {ports.get('metrics')}, not metrics.port {port}")
    if env.get("RUNNER_LISTEN_ADDRESS", {}).get("value") != f":{port}":
        problem(case, f"RUNNER_LISTEN_ADDRESS is {env.get('RUNNER_LISTEN_ADDRESS')}, not :{port}")
    for probe, path in [("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready")]:
        get = container.get(probe, {}).get("httpGet", {})
        if get.get("path") != path or get.get("port") not in ("metrics", port):
            problem(case, f"the {probe} asks {get}, not {path} on the metrics port")

    # The stop signal: the image's, reaching lava-runner, with time to drain.
    if image_stop is None or image_stop.group(1) != "SIGQUIT":
        problem(case, "the Dockerfile's STOPSIGNAL is not SIGQUIT")
    if "command" in container:
        problem(case, "the container overrides the image's entrypoint: the stop signal may not reach lava-runner")
    stop_signal = container.get("lifecycle", {}).get("stopSignal")
    if stop_signal not in (None, "SIGQUIT"):
        problem(case, f"the container's lifecycle.stopSignal is {stop_signal}, not SIGQUIT")
    if "preStop" in container.get("lifecycle", {}):
        problem(case, "a preStop hook delays the stop signal")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    shutdown = float(env.get("RUNNER_SHUTDOWN_TIMEOUT", {}).get("value", "30"))
    if not grace > shutdown:
        problem(case, f"terminationGracePeriodSeconds {grace} is not longer than RUNNER_SHUTDOWN_TIMEOUT {shutdown}")
    if grace != settings["terminationGracePeriodSeconds"]:
        problem(case, f"terminationGracePeriodSeconds {grace} is not the value set")

    # Non-root, read-only, nothing to escalate; /tmp the only writable place.
    security = pod.get("securityContext", {})
    if security.get("runAsNonRoot") is not True or security.get("runAsUser") != int(image_user.group(1)):
        problem(case, f"the pod does not run as non-root {image_user.group(1)}: {security}")
    context = container.get("securityContext", {})
    if context.get("readOnlyRootFilesystem") is not True or context.get("allowPrivilegeEscalation") is not False \
            or "ALL" not in context.get("capabilities", {}).get("drop", []):
        problem(case, f"the container's securityContext is not read-only, unprivileged, without capabilities: {context}")
    mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    if "emptyDir" not in volumes.get(mounts.get("/tmp"), {}):
        problem(case, "/tmp is not an emptyDir")

    # The state directory: RUNNER_STATE_DIR on a volume of each pod's own that outlives it.
    state = settings["stateDir"]
    if state["enabled"]:
        claims = {c["metadata"]["name"]: c for c in deployment["spec"].get("volumeClaimTemplates", [])}
        if env.get("RUNNER_STATE_DIR", {}).get("value") != state["mountPath"]:
            problem(case, f"RUNNER_STATE_DIR is {env.get('RUNNER_STATE_DIR')}, not {state['mountPath']}")
        name = mounts.get(state["mountPath"])
        if name not in claims:
            problem(case, f"{state['mountPath']} is not mounted from a volumeClaimTemplate")
        elif claims[name]["spec"]["resources"]["requests"]["storage"] != state["size"]:
            problem(case, f"the state volume asks {claims[name]['spec']['resources']['requests']}, not {state['size']}")
        elif claims[name]["spec"].get("storageClassName", "") != state["storageClassName"]:
            problem(case, "the state volume's storage class is not stateDir.storageClassName")
    elif "RUNNER_STATE_DIR" in env:
        problem(case, "RUNNER_STATE_DIR is set although stateDir.enabled is off")

    # Resources as set; the other optional values.
    if container.get("resources") != settings["resources"]:
        problem(case, f"resources {container.get('resources')} are not the values set {settings['resources']}")
    if deployment["spec"]["replicas"] != settings["replicaCount"]:
        problem(case, f"replicas {deployment['spec']['replicas']} is not replicaCount {settings['replicaCount']}")
    for extra in settings["runner"]["extraEnv"]:
        if env.get(extra["name"]) != extra:
            problem(case, f"extraEnv {extra['name']} is missing")
    for extra in settings["extraVolumes"]:
        if volumes.get(extra["name"]) != extra:
            problem(case, f"extraVolume {extra['name']} is missing")
    for extra in settings["extraVolumeMounts"]:
        if extra not in container.get("volumeMounts", []):
            problem(case, f"extraVolumeMount {extra['mountPath']} is missing")

    # The Service and ServiceMonitor reach the pods' metrics port.
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    for service in by_kind.get("Service", []):
        if not service["spec"]["selector"].items() <= labels.items():
            problem(case, "the Service does not select the pods")
        if [p.get("targetPort") for p in service["spec"]["ports"]] not in (["metrics"], [port]):
            problem(case, "the Service does not target the metrics port")
    monitors = by_kind.get("ServiceMonitor", [])
    if settings["metrics"]["serviceMonitor"]["enabled"] != bool(monitors):
        problem(case, f"{len(monitors)} ServiceMonitors, with serviceMonitor.enabled {settings['metrics']['serviceMonitor']['enabled']}")
    for monitor in monitors:
        endpoints = monitor.get("spec", {}).get("endpoints", [])
        selector = monitor.get("spec", {}).get("selector", {}).get("matchLabels", {})
        if [e.get("port") for e in endpoints] != ["metrics"] or any(e.get("path") != "/metrics" for e in endpoints):
            problem(case, f"the ServiceMonitor scrapes {endpoints}, not /metrics on the port named metrics")
        if not any(selector.items() <= s["metadata"]["labels"].items() for s in by_kind.get("Service", [])):
            problem(case, "the ServiceMonitor selects no Service of the chart")
        for key, value in settings["metrics"]["serviceMonitor"]["labels"].items():
            if monitor["metadata"]["labels"].get(key) != value:
                problem(case, f"the ServiceMonitor lacks the label {key}")


state = merged(everything, {"stateDir": {"enabled": True, "size": "5Gi", "storageClassName": "fast"}})
for case, values in [("defaults", minimal), ("everything", everything), ("state", state)]:
    manifest = render(case, values)
    if manifest is None:
        continue
    try:
        objects = [obj for obj in yaml.safe_load_all(manifest) if obj]
    except yaml.YAMLError as error:
        problem(case, f"the rendered manifest is not YAML: {error}")
        continue
    kinds = ", ".join(f"{o.get('kind')}/{o.get('metadata', {}).get('name')}" for o in objects)
    print(f"  {case}: rendered {kinds}")
    (scratch / f"{case}.yaml").write_text(manifest)
    validate(case, objects)
    check(case, values, objects, manifest)

server.shutdown()
if problems:
    print(f"check-chart: {len(problems)} problem(s); the rendered manifests are in {scratch}")
    sys.exit(1)
shutil.rmtree(scratch, ignore_errors=True)
print(f"check-chart: ok (validated against Kubernetes {' and '.join(KUBERNETES_VERSIONS)})")
