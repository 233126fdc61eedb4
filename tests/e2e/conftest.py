"""The real local stack (`python -m devstack run`, what `make run` starts) on free ports, one per test module."""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from devstack.keys import DevKeys
from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    port, moto_port = free_port(), free_port()
    log_path = tmp_path_factory.mktemp("stack") / "stack.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "devstack", "run", "--port", str(port), "--moto-port", str(moto_port)],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=environment)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if requests.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.3)
        else:
            process.kill()
            pytest.fail(f"the local stack did not come up:\n{log_path.read_text()[-3000:]}")
        yield {"base": base, "moto": f"http://127.0.0.1:{moto_port}", "process": process, "log": log_path}
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)


def bearer(role: str, sub: str = "e2e-user") -> dict[str, str]:
    return {"Authorization": f"Bearer {DevKeys().token(role, sub)}"}
