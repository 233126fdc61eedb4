"""Cold start: importing app.py against importing chalice and boto3 alone, in fresh interpreters."""

import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.5
RUNS = 11


def import_seconds(module_names: str) -> float:
    """Seconds a fresh interpreter spends in `import <module_names>`, timed inside it (start-up excluded)."""
    code = f"import time; t = time.perf_counter(); import {module_names}; print(time.perf_counter() - t)"
    answer = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
    return float(answer.stdout.strip().splitlines()[-1])


def run(runs: int = RUNS) -> list[tuple[str, float, float]]:
    """(what, median ms, ratio to the baseline) rows; the two imports alternate, so load drift hits both alike."""
    baseline_runs, app_runs = [], []
    for _ in range(runs):
        baseline_runs.append(import_seconds("chalice, boto3"))
        app_runs.append(import_seconds("app"))
    baseline, app = statistics.median(baseline_runs), statistics.median(app_runs)
    return [("import chalice, boto3", baseline * 1000, 1.0), ("import app", app * 1000, app / baseline)]


def main() -> None:
    rows = run()
    print(f"Cold start (median of {RUNS} fresh interpreters each, alternating; import time measured inside them)")
    print(f"{'what':<24}{'ms':>10}{'ratio':>10}")
    for what, ms, ratio in rows:
        print(f"{what:<24}{ms:>10.0f}{ratio:>10.2f}")
    verdict = "within" if rows[-1][2] <= TARGET_RATIO else "OVER"
    print(f"target ratio <= {TARGET_RATIO}: {verdict}")


if __name__ == "__main__":
    main()
