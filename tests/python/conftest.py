"""A real faceserve process for the Python tests: config/default.yaml, the
exported models on CPU, loopback ports picked by the kernel, galleries in a
temporary SQLite file. FACESERVE_BINARY names the binary (default
build/bin/faceserve)."""
import os
import pathlib
import re
import subprocess
import tempfile
import time

import pytest

SOURCE = pathlib.Path(__file__).resolve().parents[2]
DEMO = SOURCE / "models/reference/node_modules/@vladmandic/face-api/demo"
BINARY = os.environ.get("FACESERVE_BINARY", str(SOURCE / "build/bin/faceserve"))
FACECTL = os.environ.get("FACECTL_BINARY", str(SOURCE / "build/bin/facectl"))


class ServerProcess:
    def __init__(self, *overrides: str):
        self.dir = tempfile.TemporaryDirectory()
        self.log_path = pathlib.Path(self.dir.name) / "faceserve.log"
        sets = ["server.listen=127.0.0.1:0", "metrics.listen=", "http.listen=127.0.0.1:0",
                "device.device=cpu", "device.preheat=false",
                f"models_dir={os.environ.get('FACESERVE_MODELS_DIR', SOURCE / 'models/exported')}",
                f"gallery.sqlite.path={self.dir.name}/galleries.sqlite", *overrides]
        args = [BINARY, "--config", str(SOURCE / "config/default.yaml")]
        for s in sets:
            args += ["--set", s]
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(args, stderr=self.log, cwd=self.dir.name)
        self.grpc_port = self._wait_for(r"gRPC listening on \S+ \(port (\d+)")
        self.http_port = self._wait_for(r"HTTP API on \S+ \(port (\d+)")
        self._wait_for(r"health SERVING()")
        self.target = f"127.0.0.1:{self.grpc_port}"

    def _wait_for(self, pattern: str, timeout: float = 120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.log_path.read_text())
            if m:
                return int(m.group(1)) if m.group(1) else 0
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"faceserve did not print {pattern!r}:\n{self.log_path.read_text()}")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()
        self.dir.cleanup()


@pytest.fixture(scope="session")
def server():
    s = ServerProcess()
    yield s
    s.stop()


@pytest.fixture
def demo():
    return DEMO
