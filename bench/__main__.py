"""Run every benchmark and print its table."""

from bench import cold_start

BENCHMARKS = [cold_start]

for benchmark in BENCHMARKS:
    benchmark.main()
    print()
