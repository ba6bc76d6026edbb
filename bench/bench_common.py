"""Helpers the bench/summarize_*.py scripts share."""
import json
import platform
import subprocess


def load(path):
    """The last line of a raw result file, as JSON (tools may log above it)."""
    with open(path) as f:
        return json.loads(f.read().strip().splitlines()[-1])


def cpu_model():
    """The CPU's model name, as lscpu reports it."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
