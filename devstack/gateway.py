"""What API Gateway adds in front of the app, for the local server and the test client.

In AWS, the GatewayResponses of infra/resources.json give the gateway's own refusals (no token,
a token the authorizer denied, an unknown route) API.md's error body. Chalice's local gateway
answers those with its own bodies; this module applies the same GatewayResponses instead.
"""

import json
from functools import lru_cache

from chalice.local import ChaliceRequestHandler, ForbiddenError, LocalGatewayException, NotAuthorizedError
from chalice.test import Client, HTTPResponse, TestHTTPClient

from devstack.cloud import load_template


@lru_cache(maxsize=1)
def gateway_responses() -> dict[str, tuple[int, bytes]]:
    """ResponseType -> (status, body) from the template's AWS::ApiGateway::GatewayResponse resources."""
    answers = {}
    for resource in load_template()["Resources"].values():
        if resource.get("Type") == "AWS::ApiGateway::GatewayResponse":
            props = resource["Properties"]
            answers[props["ResponseType"]] = (int(props["StatusCode"]),
                                              props["ResponseTemplates"]["application/json"].encode())
    return answers


def response_type(error: LocalGatewayException) -> str:
    """Which of API Gateway's response types the local gateway's refusal stands for."""
    if isinstance(error, NotAuthorizedError):
        return "UNAUTHORIZED"
    if isinstance(error, ForbiddenError):
        if error.headers.get("x-amzn-ErrorType") == "AccessDeniedException":
            return "ACCESS_DENIED"
        return "MISSING_AUTHENTICATION_TOKEN"
    return "DEFAULT_5XX"


def gateway_answer(error: LocalGatewayException) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body API Gateway would send for `error`."""
    status, body = gateway_responses().get(response_type(error), (error.CODE, error.body or b""))
    headers = {k: v for k, v in error.headers.items() if k.lower() != "content-type"}
    headers["Content-Type"] = "application/json"
    return status, headers, body


class LocalRequestHandler(ChaliceRequestHandler):
    """Chalice's local HTTP handler, answering gateway refusals as infra/ configures them."""

    # Headers and body go out in separate writes; with Nagle's algorithm the body waits for the client's
    # delayed ACK, which added ~40 ms to every local request.
    disable_nagle_algorithm = True

    def _send_error_response(self, error: LocalGatewayException) -> None:
        status, headers, body = gateway_answer(error)
        self._send_http_response(status, headers, body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        """Access log as one JSON line, like the rest of the stack's logs."""
        print(json.dumps({"access": format % args, "client": self.client_address[0]}), flush=True)


class _GatewayTestHTTPClient(TestHTTPClient):
    def _error_response(self, error: LocalGatewayException) -> HTTPResponse:
        status, headers, body = gateway_answer(error)
        return HTTPResponse(headers=headers, body=body, status_code=status)


class GatewayTestClient(Client):
    """`chalice.test.Client` whose HTTP client answers gateway refusals as API Gateway would."""

    @property
    def http(self) -> TestHTTPClient:
        if self._http_client is None:
            self._http_client = _GatewayTestHTTPClient(self._app, self._chalice_config)
        return self._http_client
