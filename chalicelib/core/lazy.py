"""Modules imported on first use, so a Lambda's cold start pays only for what its invocation touches.

Routes are registered when `app` is imported, but the services behind them (PynamoDB models, botocore
clients) are only needed when a request arrives; `service = lazy_module("chalicelib.rides.service")`
defers that import to the first attribute read.
"""

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    """The module `name`, executed the first time one of its attributes is read."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
