"""Modules imported on first use, so a Lambda's cold start pays only for what its invocation touches.

Routes are registered when `app` is imported, but the services behind them (PynamoDB models, botocore
clients) are only needed when a request arrives; `service = lazy_module("chalicelib.rides.service")`
defers that import to the first attribute read.

The first read goes through `importlib.import_module`, whose per-module import lock makes every other thread
wait until the module has run to its end: several requests arriving at once on a fresh server (the local
server and any WSGI host are threaded) all see the whole module. `importlib.util.LazyLoader`, which this
once used, hands a half-executed module to the second thread on Python 3.11.
"""

import importlib
import importlib.util
import sys
from types import ModuleType
from typing import Any


class LazyModule(ModuleType):
    """Stands for a module until an attribute is read, then for the real module itself."""

    def __getattr__(self, attribute: str) -> Any:
        # Always the module of sys.modules (fast once imported), so a patched attribute is seen here too.
        return getattr(importlib.import_module(self.__name__), attribute)


def lazy_module(name: str) -> ModuleType:
    """The module `name`, imported the first time one of its attributes is read (thread-safe)."""
    if name in sys.modules:
        return sys.modules[name]
    if importlib.util.find_spec(name) is None:
        raise ModuleNotFoundError(name)
    return LazyModule(name)
