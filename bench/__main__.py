"""Run every benchmark and print its table."""

from bench import cold_start, dispatch

BENCHMARKS = [cold_start, dispatch]

for benchmark in BENCHMARKS:
    benchmark.main()
    print()
