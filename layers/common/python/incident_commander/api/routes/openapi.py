"""GET /openapi.json: the API's OpenAPI 3.1 document, generated from the routes and their models.

Request validation failures are answered with 400 (not Powertools' default 422), so the document
is adjusted to say so; it is built once per container.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn

from ..context import ApiContext, json_response

TITLE = "Incident Commander API"
VERSION = "1.0.0"
DESCRIPTION = ("Alert ingestion, incidents with their diagnosis and decision, the tamper-evident timeline, "
               "human answers to escalations, health and demo scenarios. Humans authenticate with a Cognito "
               "ID token (roles from groups viewer / responder / admin), machines with SigV4 (IAM); webhooks "
               "with their source's token. Errors are JSON objects with an `error` field naming the problem.")
SECURITY_SCHEMES = {
    "cognito": APIKey(name="Authorization", in_=APIKeyIn.header,
                      description="Cognito user pool ID token (API Gateway Cognito authorizer)"),
    "sigv4": APIKey(name="Authorization", in_=APIKeyIn.header,
                    description="AWS Signature Version 4 (API Gateway IAM authorization)",
                    **{"x-amazon-apigateway-authtype": "awsSigv4"}),
}


def document(app: APIGatewayRestResolver) -> dict[str, Any]:
    spec = json.loads(app.get_openapi_json_schema(
        title=TITLE, version=VERSION, description=DESCRIPTION, security_schemes=SECURITY_SCHEMES,
        security=[{"cognito": []}, {"sigv4": []}]))
    for path in spec.get("paths", {}).values():
        for op in path.values():
            responses = op.setdefault("responses", {})
            responses.pop("422", None)
            if "200" in responses and any(c in responses for c in ("201", "202")):
                responses.pop("200")  # Powertools' default success entry, when the route declares its own
            if not any(c.startswith("2") for c in responses):  # a route that names no success answers 200
                responses["200"] = {"description": "Successful response", "content": {"application/json": {}}}
            for status, (description, applies) in ANY_OPERATION.items():
                if applies(op):
                    responses.setdefault(status, {"description": description, "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}})
    schemas = spec.get("components", {}).get("schemas", {})
    if "HTTPValidationError" not in json.dumps(spec["paths"]):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    return spec


# answers any operation may give, whatever its route declares: validation, authentication, throttling
ANY_OPERATION: dict[str, tuple[str, Callable[[dict[str, Any]], bool]]] = {
    "400": ("Bad input: the message names the field", lambda op: bool(op.get("parameters") or op.get("requestBody"))),
    "401": ("Not authenticated", lambda op: True),
    "403": ("Authenticated but not allowed", lambda op: True),
    "413": ("Body too large", lambda op: "requestBody" in op),
    "429": ("Too many requests (API Gateway throttling)", lambda op: True),
}


def register(ctx: ApiContext) -> None:
    app = ctx.app
    built = cache(lambda: document(app))

    @app.get("/openapi.json", summary="This document", include_in_schema=False)
    def openapi():
        return json_response(200, built())
