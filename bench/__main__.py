"""Run every benchmark and print its table."""

from bench import cold_start, compensation, dispatch, payouts

BENCHMARKS = [cold_start, dispatch, compensation, payouts]

for benchmark in BENCHMARKS:
    benchmark.main()
    print()
