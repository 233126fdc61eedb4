"""Start the local stack (`python -m devstack run`) in a child process on free ports, and stop it again.

The end-to-end tests and `make demo` use it; `make run` runs the same stack in the foreground.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


class StackDidNotStart(RuntimeError):
    """The stack exited or did not answer /health in time; the message ends with its log."""


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def local_stack(log_path: Path, timeout_s: float = 90, data_dir: Path | None = None,
                options: tuple[str, ...] = (), runner: tuple[str, ...] = ("devstack", "run")) -> Iterator[dict]:
    """A running local stack: yields `{"base", "ws", "moto", "process", "log", "data_dir"}`; stopped with Ctrl-C
    on exit (`ws` is its WebSocket API).

    It starts empty, on a temporary data folder deleted afterwards, unless `data_dir` names one to keep
    (a stack started again on it finds the data the last one left). `options` go to `devstack run`
    (`runner`: the module and arguments that run it, e.g. the demo's own stack).
    """
    folder = nullcontext(data_dir) if data_dir else tempfile.TemporaryDirectory(prefix="o2o-stack-")
    with folder as path, _stack_process(Path(log_path), timeout_s, Path(path), options, runner) as running:
        yield running


@contextmanager
def _stack_process(log_path: Path, timeout_s: float, data_dir: Path, options: tuple[str, ...],
                   runner: tuple[str, ...]) -> Iterator[dict]:
    port, moto_port, ws_port = free_port(), free_port(), free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    command = [sys.executable, "-m", *runner, "--port", str(port), "--moto-port", str(moto_port),
               "--ws-port", str(ws_port), "--data-dir", str(data_dir), *options]
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=environment)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_for_health(base, process, log_path, timeout_s)
            yield {"base": base, "ws": f"ws://127.0.0.1:{ws_port}", "moto": f"http://127.0.0.1:{moto_port}",
                   "process": process, "log": log_path, "data_dir": data_dir}
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


def _wait_for_health(base: str, process: subprocess.Popen, log_path: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.3)
    process.kill()
    raise StackDidNotStart(f"the local stack did not come up:\n{Path(log_path).read_text()[-3000:]}")
