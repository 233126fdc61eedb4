"""The demo's own local stack: `python -m devstack run` on free ports, with the embedded AWS made cheaper.

moto deep-copies every table a DynamoDB transaction touches, so that it can roll back; each claim, review and
voucher of the replay then costs time in proportion to all the claims before it (measured on the 2-core box:
45 ms of the stack's CPU for a claim with 100 claims filed, 160 ms with 600). The stack already serves one
DynamoDB request at a time, so the bench's patches are safe in it: a transaction backs up only the items it
writes, and a query on a table's own keys reads only its partition (and moto lists its own modules once, not
on every request). What the API answers is unchanged: only the emulator's cost is.
`python -m demo.stack --port 8000 --moto-port 5000 --data-dir DIR` runs it.
"""

import sys
from pathlib import Path

from devstack.launcher import local_stack


def demo_stack(log_path: Path, timeout_s: float = 90):
    """A running, empty local stack with the cheaper moto (see `devstack.launcher.local_stack`)."""
    return local_stack(log_path, timeout_s, runner=("demo.stack",))


def main(argv: list[str]) -> None:
    """`devstack run` with the bench's cheaper moto, and moto's list of its own modules read once."""
    from moto import backends

    from bench.counting import item_level_moto_rollback, partition_moto_queries
    from devstack.__main__ import main as devstack_main

    modules = tuple(backends.list_of_moto_modules())  # moto lists its package folder on every request
    backends.list_of_moto_modules = lambda: modules
    with item_level_moto_rollback(), partition_moto_queries():
        devstack_main(["run", *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
