"""Run every benchmark and print its table."""

from bench import cold_start, compensation, dispatch, driver_races, payouts, realtime, status_page

BENCHMARKS = [cold_start, dispatch, driver_races, compensation, payouts, status_page, realtime]

for benchmark in BENCHMARKS:
    benchmark.main()
    print()
