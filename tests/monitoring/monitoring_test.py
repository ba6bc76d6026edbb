#!/usr/bin/python3
"""Monitoring test: a real Prometheus scraping a real faceserve under load.

    monitoring_test.py --faceserve BIN --facectl BIN --source-dir DIR
                       [--models-dir DIR] [--image JPEG]
                       [--prometheus BIN] [--promtool BIN]

1. Starts faceserve (config/default.yaml, the real exported models, free
   loopback ports, preheat off to save start-up time) and Debian's
   `prometheus` on its own loopback port with a temporary storage folder,
   scraping faceserve every second and loading deploy/prometheus/rules.yml.
2. Loads faceserve with `facectl bench` (Analyze, Embed, and Identify against
   a gallery with one enrolled face) and `facectl stream` (a clip made from
   the photo, at its frame rate) in the background.
3. Checks a real scrape: every metric family of the issue is there with
   samples, the stages and models are labelled, and `promtool check metrics`
   finds no problem. `promtool check rules` accepts the rules file.
4. Evaluates EVERY PromQL expression of the Grafana dashboard
   (deploy/grafana/dashboards/faceserve.json: panel targets and template
   variable queries) and of the rules file (as loaded by Prometheus, read back
   from /api/v1/rules) through /api/v1/query, and asserts that each is valid
   and returns data: at least one series with a finite value. Alert
   expressions (`<series> <op> <number>`) are evaluated with `bool`, so that
   they return every series whether the alert fires or not. Every rule must
   also be evaluated by Prometheus itself without error (health "ok").

The one exception, stated here on purpose: expressions on NVIDIA
dcgm-exporter's metrics (GPU_ONLY_METRICS) must be valid but may be empty,
since no dcgm-exporter runs in this test (it needs a GPU and DCGM).

Exit status 0 when everything holds, 1 otherwise (each failure is printed).
Stdlib only.
"""
import argparse
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

# Expressions on these metrics may return no data (see the module docstring).
GPU_ONLY_METRICS = ("DCGM_FI_DEV_FB_USED",)

# What Grafana's variables are replaced with. $__rate_interval is what Grafana
# computes for a 1 s scrape interval and short ranges (at least 4 scrapes);
# the template variables match everything, as their "All" option does.
RATE_INTERVAL = "20s"
TEMPLATE_VARIABLES = {"instance": ".*", "model": ".*"}

# Metric families the issue asks for; each must have samples after the load.
REQUIRED_FAMILIES = {
    "faceserve_stage_duration_seconds": "histogram",
    "faceserve_queue_wait_seconds": "histogram",
    "faceserve_batch_execution_seconds": "histogram",
    "faceserve_batch_size": "histogram",
    "faceserve_faces_per_image": "histogram",
    "faceserve_request_duration_seconds": "histogram",
    "faceserve_requests_total": "counter",
    "faceserve_dropped_items_total": "counter",
    "faceserve_requests_in_flight": "gauge",
    "faceserve_queue_depth": "gauge",
    "faceserve_preheat_duration_seconds": "gauge",
    "faceserve_model_info": "gauge",
    "faceserve_build_info": "gauge",
    "faceserve_gallery_faces": "gauge",
    "faceserve_gallery_search_seconds": "histogram",
    "faceserve_gallery_search_queries_per_pass": "histogram",
    "faceserve_gallery_enroll_inputs_total": "counter",
}

# How long the expressions may take to all return data once the load runs.
DATA_DEADLINE_S = 45

failures = []


def log(msg):
    print(msg, flush=True)


def fail(msg):
    failures.append(msg)
    log("FAIL: " + msg)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode("utf-8")


def prom_query(base, expr):
    """Returns (status, data or error) of an instant query."""
    url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        _, body = http_get(url)
    except urllib.error.HTTPError as e:  # 400 for a bad expression
        body = e.read().decode("utf-8")
    reply = json.loads(body)
    if reply.get("status") != "success":
        return "error", "%s: %s" % (reply.get("errorType"), reply.get("error"))
    return "success", reply["data"]


def finite_values(data):
    """The finite sample values of an instant-query result."""
    kind, result = data["resultType"], data["result"]
    if kind == "vector":
        values = [float(s["value"][1]) for s in result]
    elif kind == "matrix":
        values = [float(v[1]) for s in result for v in s["values"]]
    elif kind == "scalar":
        values = [float(result[1])]
    else:
        values = []
    return [v for v in values if math.isfinite(v)]


def dashboard_expressions(path):
    """(where, expression) of every panel target and template query."""
    with open(path) as f:
        dash = json.load(f)
    found = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                if "expr" in t:
                    found.append(("panel %r target %s" % (p["title"], t["refId"]), t["expr"]))
            walk(p.get("panels", []))

    walk(dash.get("panels", []))
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            found.append(("variable $%s" % v["name"], q))
    return found


def substitute(expr):
    out = expr.replace("$__rate_interval", RATE_INTERVAL)
    for name, value in TEMPLATE_VARIABLES.items():
        out = re.sub(r"\$\{%s\}|\$%s\b" % (name, name), value, out)
    return out


ALERT_FORM = re.compile(r"^(?P<lhs>.+?)\s*(?P<op>==|!=|>=|<=|>|<)\s*(?P<num>[-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*$",
                        re.S)


def check_expression(base, where, expr):
    """Evaluates one expression. Returns None when it passes, else the reason.
    Raises ValueError for an invalid expression (no point retrying)."""
    label_values = re.match(r"^\s*label_values\(\s*(.+?)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$", expr)
    if label_values:  # Grafana's template query: the selector must give series with the label
        selector, label = label_values.groups()
        status, data = prom_query(base, substitute(selector))
        if status != "success":
            raise ValueError(data)
        if not any(label in s["metric"] for s in data["result"]):
            return "no series of %s has the label %s" % (selector, label)
        return None
    status, data = prom_query(base, substitute(expr))
    if status != "success":
        raise ValueError(data)
    if any(m in expr for m in GPU_ONLY_METRICS):
        return None  # valid; may be empty without dcgm-exporter (module docstring)
    if not data["result"]:
        return "empty result"
    if not finite_values(data):
        return "no finite value (%d series, all NaN/Inf)" % len(data["result"])
    return None


def check_scrape(text, promtool, workdir):
    path = os.path.join(workdir, "scrape.txt")
    with open(path, "w") as f:
        f.write(text)
    with open(path) as f:
        r = subprocess.run([promtool, "check", "metrics"], stdin=f, capture_output=True, text=True)
    problems = (r.stdout + r.stderr).strip()
    if r.returncode != 0 or problems:
        fail("promtool check metrics (exit %d): %s" % (r.returncode, problems))
    else:
        log("promtool check metrics: no problems in a %d-byte scrape" % len(text))

    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    for family, kind in REQUIRED_FAMILIES.items():
        if types.get(family) != kind:
            fail("scrape: family %s should be a %s, is %s" % (family, kind, types.get(family)))
            continue
        sample = family + ("_count" if kind == "histogram" else "")
        if not re.search(r"^%s(\{| )" % re.escape(sample), text, re.M):
            fail("scrape: family %s has no samples" % family)

    # Every loaded model has queue and batch series; the stages are labelled.
    models = set(re.findall(r'^faceserve_model_info\{[^}]*model="([^"]+)"', text, re.M))
    if len(models) < 5:
        fail("scrape: expected the 5 models of config/default.yaml in faceserve_model_info, got %s"
             % sorted(models))
    for family in ("faceserve_queue_wait_seconds_count", "faceserve_batch_size_count",
                   "faceserve_batch_execution_seconds_count", "faceserve_queue_depth"):
        have = set(re.findall(r'^%s\{model="([^"]+)"\}' % family, text, re.M))
        if have != models:
            fail("scrape: %s has models %s, expected %s" % (family, sorted(have), sorted(models)))
    stages = set(re.findall(r'^faceserve_stage_duration_seconds_count\{[^}]*stage="([^"]+)"', text, re.M))
    for stage in ("reader", "detector", "unifier", "predictor"):
        if stage not in stages:
            fail("scrape: no faceserve_stage_duration_seconds for stage %s (have %s)" % (stage, sorted(stages)))
    for rpc in ("Analyze", "Embed"):
        if not re.search(r'^faceserve_requests_total\{code="OK",rpc="%s"\} [1-9]' % rpc, text, re.M):
            fail("scrape: no successful %s in faceserve_requests_total" % rpc)
    # Latency buckets from 100 us to tens of seconds.
    les = set(re.findall(r'^faceserve_request_duration_seconds_bucket\{[^}]*le="([^"]+)"', text, re.M))
    if "0.0001" not in les or not any(le != "+Inf" and float(le) >= 10 for le in les):
        fail("scrape: request latency buckets should span 100 us to tens of seconds, got %s" % sorted(les))


def wait_for(what, predicate, timeout, procs):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, p in procs:
            if p.poll() is not None:
                raise RuntimeError("%s exited with %s while waiting for %s" % (name, p.returncode, what))
        try:
            if predicate():
                return
        except (OSError, urllib.error.URLError, ValueError):
            pass
        time.sleep(0.5)
    raise RuntimeError("timed out after %d s waiting for %s" % (timeout, what))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--faceserve", required=True)
    ap.add_argument("--facectl", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--models-dir", default=None)
    ap.add_argument("--image", default=None)
    ap.add_argument("--prometheus", default="/usr/bin/prometheus")
    ap.add_argument("--promtool", default="/usr/bin/promtool")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, TSDB)")
    args = ap.parse_args()

    src = os.path.abspath(args.source_dir)
    args.faceserve, args.facectl = os.path.abspath(args.faceserve), os.path.abspath(args.facectl)
    models_dir = os.path.abspath(args.models_dir or os.path.join(src, "models", "exported"))
    image = args.image or os.path.join(src, "models/reference/node_modules/@vladmandic/face-api/demo/sample1.jpg")
    rules_file = os.path.join(src, "deploy", "prometheus", "rules.yml")
    dashboard = os.path.join(src, "deploy", "grafana", "dashboards", "faceserve.json")
    for tool in (args.prometheus, args.promtool):
        if shutil.which(tool) is None:
            fail("%s not found: install Debian's prometheus package (scripts/bootstrap.sh does)" % tool)
    for path in (args.faceserve, args.facectl, image, rules_file, dashboard,
                 os.path.join(models_dir, "retinaface_mnet025.pt")):
        if not os.path.exists(path):
            fail("missing %s (scripts/bootstrap.sh exports the models and fetches the images)" % path)
    if failures:
        return 1

    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="faceserve-monitoring-")
    procs = []  # (name, Popen), stopped in reverse order

    def spawn(name, argv, **kw):
        with open(os.path.join(workdir, name + ".log"), "w") as out:
            p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, **kw)
        procs.append((name, p))
        return p

    grpc_port, metrics_port, prom_port = free_port(), free_port(), free_port()
    server = "127.0.0.1:%d" % grpc_port
    prom = "http://127.0.0.1:%d" % prom_port
    try:
        # 1. faceserve and Prometheus.
        spawn("faceserve", [args.faceserve, "--config", os.path.join(src, "config", "default.yaml"),
                            "--set", "server.listen=" + server,
                            "--set", "metrics.listen=127.0.0.1:%d" % metrics_port,
                            "--set", "http.listen=127.0.0.1:0",
                            "--set", "models_dir=" + models_dir,
                            "--set", "device.preheat=false",
                            "--set", "gallery.sqlite.path=" + os.path.join(workdir, "galleries.sqlite")],
              cwd=src)
        prom_config = os.path.join(workdir, "prometheus.yml")
        with open(prom_config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
                    "rule_files:\n  - %s\n"
                    "scrape_configs:\n  - job_name: faceserve\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % (json.dumps(rules_file), metrics_port))
        r = subprocess.run([args.promtool, "check", "config", prom_config], capture_output=True, text=True)
        if r.returncode != 0:
            fail("promtool check config of the test's own configuration: " + r.stdout + r.stderr)
            return 1
        spawn("prometheus", [args.prometheus, "--config.file=" + prom_config,
                             "--storage.tsdb.path=" + os.path.join(workdir, "tsdb"),
                             "--web.listen-address=127.0.0.1:%d" % prom_port,
                             "--log.level=warn"])

        # 2. promtool check rules.
        r = subprocess.run([args.promtool, "check", "rules", rules_file], capture_output=True, text=True)
        if r.returncode != 0:
            fail("promtool check rules %s: %s" % (rules_file, r.stdout + r.stderr))
        else:
            log("promtool check rules: " + " ".join(r.stdout.split()))

        wait_for("faceserve health SERVING",
                 lambda: subprocess.run([args.facectl, "--server", server, "--timeout-ms", "1000", "health"],
                                        capture_output=True).returncode == 0, 120, procs)
        wait_for("Prometheus ready", lambda: http_get(prom + "/-/ready")[0] == 200, 30, procs)
        log("faceserve SERVING on %s, Prometheus ready on %s after %.1f s"
            % (server, prom, time.monotonic() - started))

        # 3. Load: bench runs longer than the test needs and is stopped at the end.
        load_start = time.monotonic()
        spawn("bench_analyze", [args.facectl, "--server", server, "bench", "--concurrency", "4",
                                "--duration", "120", image])
        spawn("bench_embed", [args.facectl, "--server", server, "bench", "--rpc", "embed",
                              "--concurrency", "1", "--duration", "120", image])
        # Galleries: one enrolled face, then identification against it.
        for argv in (["gallery", "create", "monitoring"],
                     ["enroll", "--gallery", "monitoring", "--subject", "someone", "--largest", image]):
            r = subprocess.run([args.facectl, "--server", server] + argv, capture_output=True, text=True)
            if r.returncode != 0:
                fail("facectl %s: %s" % (" ".join(argv), r.stdout + r.stderr))
        spawn("bench_identify", [args.facectl, "--server", server, "bench", "--rpc", "identify",
                                 "--gallery", "monitoring", "--concurrency", "2", "--duration", "120",
                                 image])

        # Video: a clip made from the photo, streamed at its frame rate.
        clip = os.path.join(workdir, "clip.mp4")
        r = subprocess.run([args.facectl, "make-clip", image, "--out", clip, "--seconds-per-photo", "120",
                            "--fps", "5", "--size", "320x240"], capture_output=True, text=True)
        if r.returncode != 0:
            fail("facectl make-clip: " + r.stdout + r.stderr)
        spawn("stream", [args.facectl, "--server", server, "stream", clip, "--live", "--detect-every", "2",
                         "--summary-only"])

        def scrape_has_load():
            _, text = http_get("http://127.0.0.1:%d/metrics" % metrics_port)
            return re.search(r'^faceserve_requests_total\{code="OK",rpc="Embed"\} [1-9]', text, re.M) and \
                re.search(r'^faceserve_requests_total\{code="OK",rpc="Analyze"\} [1-9]', text, re.M) and \
                re.search(r'^faceserve_stream_frames_total\{outcome="processed"\} [1-9]', text, re.M)

        wait_for("successful Analyze and Embed calls", scrape_has_load, 60, procs)
        _, text = http_get("http://127.0.0.1:%d/metrics" % metrics_port)
        check_scrape(text, args.promtool, workdir)

        # 4. Every expression.
        expressions = [("dashboard " + w, e) for w, e in dashboard_expressions(dashboard)]
        with open(rules_file) as f:
            declared = len(re.findall(r"^\s*-\s*(?:record|alert):", f.read(), re.M))

        def loaded_rules():
            _, body = http_get(prom + "/api/v1/rules")
            return [r for g in json.loads(body)["data"]["groups"] for r in g["rules"]]

        wait_for("every rule evaluated once",
                 lambda: all(r["health"] != "unknown" for r in loaded_rules()), 30, procs)
        rules = loaded_rules()
        if len(rules) != declared or declared == 0:
            fail("Prometheus loaded %d rules, %s declares %d" % (len(rules), rules_file, declared))
        for rule in rules:
            if rule["type"] == "recording":
                expressions.append(("rule record %s" % rule["name"], rule["query"]))
                expressions.append(("rule series %s" % rule["name"], rule["name"]))
            else:
                m = ALERT_FORM.match(rule["query"])
                if not m:
                    fail("alert %s: expr %r is not `<series> <op> <number>`" % (rule["name"], rule["query"]))
                    continue
                expressions.append(("rule alert %s" % rule["name"],
                                    "%s %s bool %s" % (m["lhs"], m["op"], m["num"])))
        leftover = [(w, e) for w, e in expressions if "$" in substitute(e)]
        for w, e in leftover:
            fail("%s: unknown Grafana variable in %r" % (w, e))
        log("evaluating %d expressions (%d dashboard, %d from %d rules)"
            % (len(expressions), sum(w.startswith("dashboard") for w, _ in expressions),
               sum(w.startswith("rule") for w, _ in expressions), len(rules)))

        pending = [(w, e) for w, e in expressions if (w, e) not in leftover]
        reasons = {}
        deadline = load_start + DATA_DEADLINE_S
        while pending:
            still = []
            for w, e in pending:
                try:
                    reason = check_expression(prom, w, e)
                except ValueError as err:
                    fail("%s: invalid PromQL %r: %s" % (w, e, err))
                    continue
                if reason is not None:
                    reasons[(w, e)] = reason
                    still.append((w, e))
            pending = still
            if not pending or time.monotonic() > deadline:
                break
            time.sleep(2)
        for w, e in pending:
            fail("%s: %s for %r" % (w, reasons[(w, e)], e))

        # Prometheus' own evaluation of every rule.
        for rule in loaded_rules():
            if rule["health"] != "ok":
                fail("rule %s: health %s, lastError %r" % (rule["name"], rule["health"], rule.get("lastError")))
        status, data = prom_query(prom, 'up{job="faceserve"}')
        if status != "success" or [s["value"][1] for s in data["result"]] != ["1"]:
            fail("the faceserve target is not up: %s" % (data,))

        # A few values, for the log.
        for expr in ('sum by (rpc) (rate(faceserve_requests_total{code="OK"}[%s]))' % RATE_INTERVAL,
                     "job_rpc:faceserve_request_duration_seconds:p99_5m",
                     "sum by (model) (rate(faceserve_batch_size_sum[%s])) / sum by (model) "
                     "(rate(faceserve_batch_size_count[%s]))" % (RATE_INTERVAL, RATE_INTERVAL)):
            status, data = prom_query(prom, expr)
            if status == "success":
                log("  %s -> %s" % (expr, ", ".join(
                    "%s=%.3g" % (",".join(v for k, v in sorted(s["metric"].items()) if k != "job"),
                                 float(s["value"][1])) for s in data["result"])))
    except RuntimeError as e:
        fail(str(e))
    finally:
        for name, p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for name, p in reversed(procs):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if failures:
            for name in ("faceserve", "prometheus"):
                path = os.path.join(workdir, name + ".log")
                if os.path.exists(path):
                    with open(path) as f:
                        tail = f.read()[-2000:]
                    log("--- last lines of %s.log ---\n%s" % (name, tail))
        if args.keep or failures:
            log("logs kept in " + workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    log("%s in %.1f s" % ("FAILED: %d problem(s)" % len(failures) if failures else "PASSED",
                          time.monotonic() - started))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
