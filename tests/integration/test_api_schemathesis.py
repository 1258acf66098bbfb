"""Schemathesis against the generated OpenAPI document, over HTTP on the local stack (the same front end
`serve` uses): generated valid and invalid requests never get a 5xx, and every response matches the
documented status codes, content type and schema.

Driven through schemathesis' Hypothesis strategies (its pytest plugin does not run on pytest 9).
`IC_SCHEMATHESIS_EXAMPLES` sets the examples per operation (`make fuzz-api`: 200).
"""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from http.server import ThreadingHTTPServer

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from incident_commander.local.http_api import TokenBucket, make_handler
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]
# responders may answer escalations; admin-only scenario playing is refused (403) rather than flooding the stack
HEADERS = {"X-IC-User": "schemathesis", "X-IC-Role": "responder"}
# examples per operation and mode: small in `make test`; `make fuzz-api` runs many more
EXAMPLES = int(os.environ.get("IC_SCHEMATHESIS_EXAMPLES", "5"))


@pytest.fixture(scope="module")
def api_schema(local_stack):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(local_stack, TokenBucket(10_000, 5_000)))
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield schemathesis.openapi.from_url(f"http://127.0.0.1:{httpd.server_address[1]}/openapi.json")
    finally:
        httpd.shutdown()
        httpd.server_close()


def operations(schema) -> list:
    return [r.ok() for r in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_5xx_and_every_answer_is_documented(api_schema, mode):
    ops = operations(api_schema)
    assert len(ops) >= 9, [f"{o.method} {o.path}" for o in ops]
    for op in ops:
        if mode == GenerationMode.NEGATIVE and not (op.path_parameters or op.query or op.body):
            continue  # no input: nothing to get wrong
        @given(case=op.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            case.call_and_validate(headers=HEADERS, checks=CHECKS)

        try:
            run()
        except Unsatisfiable:
            assert mode == GenerationMode.NEGATIVE  # its inputs accept anything: no invalid request exists
        except Exception as exc:
            raise AssertionError(f"{op.method.upper()} {op.path} ({mode.value}): {exc}") from exc


def test_real_incidents_answer_in_their_documented_shape(api_schema, player, t0):
    """The same checks with the path naming an incident that exists (detail, timeline, verify, decision)."""
    player.clock.set(t0)
    status, _ = player.api("POST", "/scenarios/database-cascade")
    assert status == 202
    player.stack.pump.drain()
    player.flush(t0, 400)
    player.wait_for_workflows()
    _, page = player.api("GET", "/incidents", query={"limit": "1", "since": (t0 - timedelta(hours=1)).isoformat()})
    incident_id = page["incidents"][0]["id"]
    ops = [op for op in operations(api_schema) if "{incident_id}" in op.path]
    assert len(ops) >= 4
    for op in ops:
        @given(case=op.as_strategy(path_parameters={"incident_id": incident_id}))
        @settings(max_examples=min(EXAMPLES, 5), deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            response = case.call_and_validate(headers=HEADERS, checks=CHECKS)
            assert response.status_code != 404, response.text

        try:
            run()
        except Exception as exc:
            raise AssertionError(f"{op.method.upper()} {op.path}: {exc}") from exc
