"""One home for Logger, Metrics and Tracer, and the middleware that applies them to every handler.

Logs are structured JSON with a correlation id per request (API Gateway's request id).
Tracing is created on first use and switched off locally with POWERTOOLS_TRACE_DISABLED.
"""

import warnings
from functools import lru_cache

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from chalice import Chalice, ConvertToMiddleware

SERVICE = "o2o-mobility"
NAMESPACE = "o2o-mobility"

logger = Logger(service=SERVICE)
# Most invocations publish no metric; that is normal, not worth a warning on every request.
warnings.filterwarnings("ignore", message="No application metrics to publish")
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


@lru_cache(maxsize=1)
def get_tracer():
    """The X-Ray tracer, built on first use so importing the app stays cheap."""
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


def count(metric: str, value: int = 1) -> None:
    """Add `value` to a count metric flushed at the end of the invocation (EMF)."""
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=value)


def _trace_invocation(event, get_response):
    return ConvertToMiddleware(get_tracer().capture_lambda_handler)(event, get_response)


def instrument(app: Chalice) -> None:
    """Apply logging context, metrics flushing and tracing to every handler of `app`, once."""
    app.register_middleware(
        ConvertToMiddleware(
            logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
        )
    )
    app.register_middleware(ConvertToMiddleware(metrics.log_metrics))
    app.register_middleware(_trace_invocation)
