"""Run every benchmark and print its table."""

from bench import cold_start, compensation, dispatch, driver_races, payouts, status_page

BENCHMARKS = [cold_start, dispatch, driver_races, compensation, payouts, status_page]

for benchmark in BENCHMARKS:
    benchmark.main()
    print()
