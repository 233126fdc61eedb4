"""Lazily imported modules (core.lazy) when many requests arrive at once on a freshly started server.

The race needs a process in which the module was never imported, so it runs in a subprocess of its own.
"""

import json
import os
import subprocess
import sys
import textwrap

from tests.conftest import ROOT

THREADS = 16

SLOW_SERVICE = '''
import time

time.sleep(0.2)  # a service module whose imports take a while (PynamoDB models, botocore clients)


def request_ride():
    return "ride requested"
'''

FIRST_REQUESTS = f'''
import json
import threading

from chalicelib.core.lazy import lazy_module

service = lazy_module("slowdomain.service")
start = threading.Barrier({THREADS})
answers = []


def first_request():
    start.wait()
    try:
        answers.append(service.request_ride())
    except Exception as exc:
        answers.append(f"{{type(exc).__name__}}: {{exc}}")


threads = [threading.Thread(target=first_request) for _ in range({THREADS})]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps(answers))
'''


def test_concurrent_first_reads_of_a_lazy_module_all_see_the_whole_module(tmp_path):
    package = tmp_path / "slowdomain"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "service.py").write_text(textwrap.dedent(SLOW_SERVICE))
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}

    run = subprocess.run([sys.executable, "-c", FIRST_REQUESTS], cwd=ROOT, env=environment,
                         capture_output=True, text=True, timeout=60, check=False)

    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == ["ride requested"] * THREADS
