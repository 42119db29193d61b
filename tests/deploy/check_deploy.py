#!/usr/bin/env python3
"""Structure checks of the deployment files that no schema says (docs/deploy.md).

  check_deploy.py compose FILE                  deploy/compose.yaml
  check_deploy.py k8s RENDERED.yaml [...]        kustomize's output of an overlay
  check_deploy.py dockerfile DOCKERFILE DOCKERIGNORE
  check_deploy.py workflow FILE                  .github/workflows/ci.yml

Each prints one line per problem (FILE: where: what) and exits 1 if there was
any, 0 otherwise. Run by tests/deploy/test_deploy_files.sh with the venv's
Python (PyYAML)."""
import base64
import os
import re
import sys

import yaml

STAGES = ("ingest", "preprocess", "infer", "sink", "analytics", "api")
ONE_SHOT = ("kafka-init", "migrate")
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|_KEY$|^PGPASS", re.I)
CRED_URL = re.compile(r"://[^/@\s:]+:[^/@\s]+@")  # scheme://user:password@host
PLACEHOLDER = re.compile(r"^REPLACE-ME")
VIGIL_COMMANDS = ("run", "ingest", "preprocess", "infer", "sink", "analytics", "api", "kafka",
                  "camera", "db", "user", "token", "config", "models")

problems = []


def bad(where, what):
    problems.append(f"{where}: {what}")


def env_items(env):
    """A Compose environment (mapping or list of K=V) as (key, value) pairs."""
    if isinstance(env, dict):
        return [(k, "" if v is None else str(v)) for k, v in env.items()]
    out = []
    for item in env or []:
        k, _, v = str(item).partition("=")
        out.append((k, v))
    return out


def is_reference(value):
    return re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*(:?[-?][^}]*)?\}", value.strip()) is not None


def kafka_default_version(root):
    with open(os.path.join(root, "scripts", "kafka-cluster")) as f:
        m = re.search(r"VIGIL_KAFKA_VERSION:-([0-9.]+)", f.read())
    return m.group(1) if m else None


# --- deploy/compose.yaml --------------------------------------------------------------

def check_compose(path):
    where = path
    root = os.path.dirname(os.path.abspath(path))
    repo = os.path.dirname(root)
    with open(path) as f:
        doc = yaml.safe_load(f)
    services = doc.get("services") or {}
    kafkas = sorted(n for n in services if re.fullmatch(r"kafka-\d+", n))
    for name in ("postgres", "nginx") + STAGES + ONE_SHOT:
        if name not in services:
            bad(where, f"no service {name}")
    # 3 brokers in KRaft mode, one cluster, the release the tests run
    if len(kafkas) != 3:
        bad(where, f"{len(kafkas)} Kafka services (kafka-N), want 3")
    ids, clusters, want = set(), set(), kafka_default_version(repo)
    for n in kafkas:
        s, env = services[n], dict(env_items(services[n].get("environment")))
        ids.add(env.get("KAFKA_NODE_ID"))
        clusters.add(env.get("CLUSTER_ID"))
        if "controller" not in env.get("KAFKA_PROCESS_ROLES", ""):
            bad(where, f"{n}: KAFKA_PROCESS_ROLES has no controller (KRaft)")
        voters = env.get("KAFKA_CONTROLLER_QUORUM_VOTERS", "")
        for k in kafkas:
            if f"@{k}:" not in voters:
                bad(where, f"{n}: KAFKA_CONTROLLER_QUORUM_VOTERS does not name {k}")
        if n not in env.get("KAFKA_ADVERTISED_LISTENERS", ""):
            bad(where, f"{n}: KAFKA_ADVERTISED_LISTENERS does not name {n}")
        image = s.get("image", "")
        if want and not image.endswith(":" + want):
            bad(where, f"{n}: image {image} is not Kafka {want} (scripts/kafka-cluster's)")
    if len(ids) != len(kafkas):
        bad(where, "Kafka services share a KAFKA_NODE_ID")
    if len(clusters) != 1:
        bad(where, "Kafka services have different CLUSTER_IDs")

    for name, s in services.items():
        w = f"{where}: service {name}"
        one_shot = name in ONE_SHOT
        hc = s.get("healthcheck") or {}
        if not one_shot and (hc.get("disable") or not hc.get("test")):
            bad(w, "no healthcheck (every long-running service has one)")
        if one_shot and s.get("restart") not in ("on-failure", "no"):
            bad(w, "a one-shot service must not restart after success (restart: on-failure)")
        # depends_on: every entry with a condition that fits what it waits for
        for dep, cond in (s.get("depends_on") or {}).items() if isinstance(s.get("depends_on"), dict) \
                else [(d, None) for d in s.get("depends_on") or []]:
            if dep not in services:
                bad(w, f"depends_on {dep}: no such service")
                continue
            c = (cond or {}).get("condition")
            expect = "service_completed_successfully" if dep in ONE_SHOT else "service_healthy"
            if c != expect:
                bad(w, f"depends_on {dep}: condition {c}, want {expect}")
        # no secret written inline
        for k, v in env_items(s.get("environment")):
            if SECRET_NAME.search(k) and not k.endswith("_FILE") and not is_reference(v):
                bad(w, f"environment {k} is written inline: take it from deploy/.env (${{VAR}}) or a secret")
            if CRED_URL.search(v) and "${" not in v:
                bad(w, f"environment {k} holds a URL with a password")
        cmd = s.get("command")
        if name in STAGES + ONE_SHOT:
            if not isinstance(cmd, list) or not cmd or cmd[0] not in VIGIL_COMMANDS:
                bad(w, f"command {cmd!r} is not a vigil command")
            elif name in STAGES and cmd[0] != name:
                bad(w, f"runs `vigil {cmd[0]}`, not `vigil {name}`")
            elif name in STAGES and name != "api" and "--http" not in cmd:
                bad(w, "no --http: the stage would serve no /healthz")
        if name in STAGES:
            replicas = (s.get("deploy") or {}).get("replicas", 1)
            if replicas < 2:
                bad(w, f"{replicas} replica(s): every stage runs at least 2")
        for vol in s.get("volumes") or []:
            src = vol.split(":")[0] if isinstance(vol, str) else vol.get("source", "")
            if src.startswith("."):
                if not os.path.exists(os.path.join(root, src)):
                    bad(w, f"volume source {src} does not exist")
            elif src and src not in (doc.get("volumes") or {}):
                bad(w, f"named volume {src} is not declared under volumes")
        for cfg in s.get("configs") or []:
            if (cfg.get("source") if isinstance(cfg, dict) else cfg) not in (doc.get("configs") or {}):
                bad(w, f"config {cfg} is not declared under configs")
        build = s.get("build")
        if isinstance(build, dict):
            df = os.path.join(root, build.get("context", "."), build.get("dockerfile", "Dockerfile"))
            if not os.path.isfile(df):
                bad(w, f"build: {df} does not exist")
    for n, c in (doc.get("configs") or {}).items():
        if "file" in c and not os.path.isfile(os.path.join(root, c["file"])):
            bad(where, f"config {n}: {c['file']} does not exist")
    # vigil behind nginx: nginx's subnet exempt from vigil's per-client limits
    api_env = dict(env_items((services.get("api") or {}).get("environment")))
    subnets = [c.get("subnet") for n in (doc.get("networks") or {}).values() if n
               for c in ((n.get("ipam") or {}).get("config") or [])]
    exempt = api_env.get("VIGIL_HTTP_LIMITS_EXEMPT", "")
    if not any(sn and sn in exempt for sn in subnets):
        bad(where, f"api: VIGIL_HTTP_LIMITS_EXEMPT ({exempt}) lacks the network's subnet {subnets}: "
                   "vigil would limit every client through nginx as one")


# --- rendered Kubernetes manifests ------------------------------------------------

def check_k8s(paths):
    docs = []
    for p in paths:
        with open(p) as f:
            docs += [(p, d) for d in yaml.safe_load_all(f) if d]
    by_kind = {}
    for p, d in docs:
        by_kind.setdefault(d["kind"], []).append((p, d))

    def named(kind, name):
        return [d for _, d in by_kind.get(kind, []) if d["metadata"]["name"] == name]

    def labels_match(selector, labels):
        return all(labels.get(k) == v for k, v in (selector or {}).items())

    where = ",".join(paths)
    for stage in STAGES:
        deps = named("Deployment", f"vigil-{stage}")
        if len(deps) != 1:
            bad(where, f"{len(deps)} Deployment vigil-{stage}, want 1")
            continue
        dep = deps[0]
        w = f"{where}: Deployment vigil-{stage}"
        pod = dep["spec"]["template"]
        labels = pod["metadata"].get("labels", {})
        c = pod["spec"]["containers"][0]
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            got = ((c.get(probe) or {}).get("httpGet") or {}).get("path")
            if got != path:
                bad(w, f"{probe} on {got}, want GET {path}")
        res = c.get("resources") or {}
        for part in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if r not in (res.get(part) or {}):
                    bad(w, f"no resources.{part}.{r}")
        args = c.get("args") or []
        if not args or args[0] != stage:
            bad(w, f"runs vigil {args}, not vigil {stage}")
        if stage != "api" and "--http" not in args:
            bad(w, "no --http: the probes would find nothing")
        sc = pod["spec"].get("securityContext") or {}
        if not sc.get("runAsNonRoot"):
            bad(w, "pod not runAsNonRoot")
        if "replicas" in dep["spec"]:
            bad(w, "sets replicas, which its HorizontalPodAutoscaler owns")
        hpas = [d for _, d in by_kind.get("HorizontalPodAutoscaler", [])
                if d["spec"]["scaleTargetRef"].get("kind") == "Deployment"
                and d["spec"]["scaleTargetRef"].get("name") == f"vigil-{stage}"]
        if len(hpas) != 1:
            bad(w, f"{len(hpas)} HorizontalPodAutoscalers target it, want 1")
        elif hpas[0]["spec"].get("minReplicas", 1) < 2:
            bad(w, "its HorizontalPodAutoscaler allows fewer than 2 replicas")
        pdbs = [d for _, d in by_kind.get("PodDisruptionBudget", [])
                if labels_match(d["spec"]["selector"].get("matchLabels"), labels)]
        if len(pdbs) != 1:
            bad(w, f"{len(pdbs)} PodDisruptionBudgets select its pods, want 1")
        # every ConfigMap, Secret and claim it names exists
        for v in pod["spec"].get("volumes") or []:
            if "configMap" in v and not named("ConfigMap", v["configMap"]["name"]):
                bad(w, f"volume {v['name']}: no ConfigMap {v['configMap']['name']}")
            if "persistentVolumeClaim" in v and not named("PersistentVolumeClaim", v["persistentVolumeClaim"]["claimName"]):
                bad(w, f"volume {v['name']}: no PersistentVolumeClaim")
        for e in c.get("env") or []:
            ref = (e.get("valueFrom") or {}).get("secretKeyRef")
            if ref and not named("Secret", ref["name"]):
                bad(w, f"env {e['name']}: no Secret {ref['name']}")
            if "value" in e and (SECRET_NAME.search(e["name"]) or CRED_URL.search(str(e["value"]))):
                bad(w, f"env {e['name']} is written inline: take it from a Secret")
    cms = [d for _, d in by_kind.get("ConfigMap", []) if "vigil.yaml" in (d.get("data") or {})]
    if not cms:
        bad(where, "no ConfigMap with vigil.yaml")
    for _, cm in by_kind.get("ConfigMap", []):
        for k, v in (cm.get("data") or {}).items():
            if CRED_URL.search(str(v)):
                bad(where, f"ConfigMap {cm['metadata']['name']}: {k} holds a URL with a password")
    secrets = by_kind.get("Secret", [])
    if not secrets:
        bad(where, "no Secret for the credentials")
    for _, s in secrets:
        values = dict(s.get("stringData") or {})
        values.update({k: base64.b64decode(v).decode() for k, v in (s.get("data") or {}).items()})
        for k, v in values.items():
            if not PLACEHOLDER.match(v):
                bad(where, f"Secret {s['metadata']['name']}: {k} is not a placeholder (REPLACE-ME...): "
                           "real values are never committed")
    svc = named("Service", "vigil-api")
    if not svc:
        bad(where, "no Service vigil-api")
    ingresses = by_kind.get("Ingress", [])
    if not ingresses:
        bad(where, "no Ingress for the API")
    for _, ing in ingresses:
        for rule in ing["spec"].get("rules", []):
            for p in rule["http"]["paths"]:
                name = p["backend"]["service"]["name"]
                port = p["backend"]["service"]["port"]
                s = named("Service", name)
                if not s:
                    bad(where, f"Ingress {ing['metadata']['name']}: no Service {name}")
                elif "name" in port and port["name"] not in [x.get("name") for x in s[0]["spec"]["ports"]]:
                    bad(where, f"Ingress {ing['metadata']['name']}: Service {name} has no port {port['name']}")
    for _, d in by_kind.get("HorizontalPodAutoscaler", []):
        ref = d["spec"]["scaleTargetRef"]
        if not named(ref["kind"], ref["name"]):
            bad(where, f"HorizontalPodAutoscaler {d['metadata']['name']}: no {ref['kind']} {ref['name']}")


def check_kustomization_files(kdir):
    """Every file a kustomization.yaml names exists (kustomize says so too)."""
    with open(os.path.join(kdir, "kustomization.yaml")) as f:
        k = yaml.safe_load(f)
    names = list(k.get("resources") or [])
    for g in (k.get("configMapGenerator") or []) + (k.get("secretGenerator") or []):
        names += [x.split("=")[-1] for x in g.get("files") or []]
        # an env file of credentials is not committed: its .example is
        names += [x if os.path.exists(os.path.join(kdir, x)) else x + ".example"
                  for x in g.get("envs") or []]
    for n in names:
        if not os.path.exists(os.path.join(kdir, n)):
            bad(os.path.join(kdir, "kustomization.yaml"), f"names {n}, which does not exist")


# --- Dockerfile --------------------------------------------------------------------

def check_dockerfile(path, ignore):
    with open(path) as f:
        text = f.read()
    flat = re.sub(r"\\\n", " ", text)
    lines = [l.strip() for l in flat.splitlines() if l.strip() and not l.strip().startswith("#")]
    stages = [l for l in lines if l.upper().startswith("FROM ")]
    if len(stages) < 2:
        bad(path, "not a multi-stage build")
    if not any(re.match(r"FROM debian:(\$\{DEBIAN_RELEASE\}|bookworm) AS build", l, re.I) for l in stages):
        bad(path, "no build stage FROM debian:bookworm")
    final = stages[-1] if stages else ""
    if "slim" not in final:
        bad(path, f"final stage {final!r} is not a slim image")
    runs = " ".join(l for l in lines if l.upper().startswith("RUN "))
    for need, why in (("scripts/setup.sh build", "the build packages from the script CI runs"),
                      ("scripts/setup.sh web", "the dashboard built by the script CI runs"),
                      ("deploy/runtime-deps check", "the runtime package list checked against the binary"),
                      ("cmake --build", "a cmake build"),
                      ("-DVIGIL_WERROR=ON", "a -Werror build, as CI's")):
        if need not in runs:
            bad(path, f"no RUN with `{need}` ({why})")
    tail = flat[flat.rfind("\nFROM "):] if "\nFROM " in flat else flat
    if "deploy/runtime-packages.txt" not in tail:
        bad(path, "the runtime stage does not install deploy/runtime-packages.txt")
    users = [l.split(None, 1)[1] for l in lines if l.upper().startswith("USER ")]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        bad(path, "the image runs as root (USER)")
    hc = [l for l in lines if l.upper().startswith("HEALTHCHECK ")]
    if not hc or "/healthz" not in hc[-1]:
        bad(path, "no HEALTHCHECK on /healthz")
    ep = [l for l in lines if l.upper().startswith("ENTRYPOINT ")]
    if not ep or ep[-1].split(None, 1)[1].replace(" ", "") not in ('["vigil"]', '["/usr/local/bin/vigil"]'):
        bad(path, f"ENTRYPOINT is {ep[-1] if ep else None}, want [\"vigil\"]")
    with open(ignore) as f:
        pats = {l.strip() for l in f if l.strip() and not l.startswith("#")}
    for need in (".git", "build", "build-*", "**/node_modules", "web/dist"):
        if need not in pats:
            bad(ignore, f"does not exclude {need}")


# --- the CI workflow --------------------------------------------------------------

def check_workflow(path):
    with open(path) as f:
        doc = yaml.load(f, Loader=yaml.BaseLoader)  # "on" stays a string
    on = doc.get("on") or {}
    for ev in ("push", "pull_request"):
        if ev not in on:
            bad(path, f"does not run on {ev}")
    runs = [st.get("run", "") for job in (doc.get("jobs") or {}).values()
            for st in job.get("steps") or []]
    if not any(re.search(r"(^|\s)(make test|bash \.ci/run|\.ci/run)(\s|$)", r) for r in runs):
        bad(path, "no step runs make test (.ci/run)")


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    what, args = argv[1], argv[2:]
    if what == "compose":
        check_compose(args[0])
    elif what == "k8s":
        check_k8s(args)
    elif what == "kustomization":
        for d in args:
            check_kustomization_files(d)
    elif what == "dockerfile":
        check_dockerfile(args[0], args[1])
    elif what == "workflow":
        check_workflow(args[0])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
