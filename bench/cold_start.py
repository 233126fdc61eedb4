"""Cold start: importing app.py against importing chalice and boto3 alone, in fresh interpreters."""

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.5


def import_seconds(statement: str, runs: int) -> list[float]:
    """Wall time of `python -c statement` minus a bare interpreter's start, `runs` times."""
    def timed(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
        return time.perf_counter() - start

    return [timed(statement) - timed("pass") for _ in range(runs)]


def run(runs: int = 7) -> list[tuple[str, float, float]]:
    """(what, median ms, ratio to the baseline) rows."""
    baseline = statistics.median(import_seconds("import chalice, boto3", runs))
    rows = [("import chalice, boto3", baseline * 1000, 1.0)]
    app = statistics.median(import_seconds("import app", runs))
    rows.append(("import app", app * 1000, app / baseline))
    return rows


def main() -> None:
    rows = run()
    print("Cold start (median of 7 fresh interpreters, interpreter start subtracted)")
    print(f"{'what':<24}{'ms':>10}{'ratio':>10}")
    for what, ms, ratio in rows:
        print(f"{what:<24}{ms:>10.0f}{ratio:>10.2f}")
    verdict = "within" if rows[-1][2] <= TARGET_RATIO else "OVER"
    print(f"target ratio <= {TARGET_RATIO}: {verdict}")


if __name__ == "__main__":
    main()
