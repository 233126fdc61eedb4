"""The real local stack (`python -m devstack run`, what `make run` starts) on free ports, one per test module."""

import pytest

from devstack.keys import DevKeys
from devstack.launcher import StackDidNotStart, local_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    log_path = tmp_path_factory.mktemp("stack") / "stack.log"
    try:
        with local_stack(log_path) as running:
            yield running
    except StackDidNotStart as exc:
        pytest.fail(str(exc))


def bearer(role: str, sub: str = "e2e-user") -> dict[str, str]:
    return {"Authorization": f"Bearer {DevKeys().token(role, sub)}"}
