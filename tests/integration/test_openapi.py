"""GET /openapi.json describes every registered route, and is a valid OpenAPI 3.1 document."""

from openapi_spec_validator import validate


def test_every_registered_route_is_in_the_document(client, app):
    document = client.http.get("/openapi.json").json_body
    registered = {(path, method.lower()) for path, methods in app.routes.items() for method in methods}
    described = {(path, method) for path, operations in document["paths"].items() for method in operations}
    assert registered == described


def test_the_document_is_valid_openapi(client):
    validate(client.http.get("/openapi.json").json_body)


def test_protected_routes_name_their_roles_and_public_ones_need_no_token(client):
    paths = client.http.get("/openapi.json").json_body["paths"]
    run_job = paths["/jobs/{job}/run"]["post"]
    assert run_job["x-roles"] == ["admin"]
    assert run_job["security"] == [{"bearer": []}]
    assert "security" not in paths["/health"]["get"]
    assert run_job["parameters"][0] == {"name": "job", "in": "path", "required": True, "schema": {"type": "string"}}


def test_every_route_is_an_api_route_with_a_spec(app):
    """A route registered outside ApiBlueprint would skip auth checks and error mapping."""
    for methods in app.routes.values():
        for entry in methods.values():
            assert hasattr(entry.view_function, "api_spec"), entry.view_name
