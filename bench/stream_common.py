"""A faceserve process for the stream benchmarks: started on free loopback
ports with the default configuration, SERVING before use, stopped at exit."""
import json
import os
import socket
import subprocess
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, build, extra_sets=()):
        self.build = build
        self.port = free_port()
        self.address = "127.0.0.1:%d" % self.port
        self.log = tempfile.NamedTemporaryFile(prefix="faceserve-bench-", suffix=".log", delete=False)
        argv = [os.path.join(build, "bin", "faceserve"), "--config", "config/default.yaml",
                "--set", "server.listen=" + self.address, "--set", "metrics.listen=",
                "--set", "http.listen=", "--set", "gallery.backend=none"]
        for s in extra_sets:
            argv += ["--set", s]
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        subprocess.run(self.facectl("health", "--wait", "600"), check=True, capture_output=True)

    def facectl(self, *args):
        return [os.path.join(self.build, "bin", "facectl"), "--server", self.address] + list(args)

    def rss_mib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
        return float("nan")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.unlink(self.log.name)


def run_json_lines(argv):
    """Runs a facectl command; its stdout as a list of JSON objects."""
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("%s failed: %s" % (" ".join(argv), r.stderr[-2000:]))
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


def now():
    return time.monotonic()
