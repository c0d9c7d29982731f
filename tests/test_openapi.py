"""The OpenAPI document matches the app: the same paths and methods, and schemathesis finds no
5xx and no response that contradicts the document (status codes, content types, bodies).

Schemathesis runs against the WSGI app in-process (real SQLite file and media folder, the queue
replaced by a recorder); examples per operation are bounded so the run stays well under 2 min.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from api_fixtures import QueueRecorder, app_config
from service import create_app
from service.api.openapi import openapi_document

API_PREFIXES = ("/api/", "/v1/")
MAX_EXAMPLES = 12


@pytest.fixture(scope="module")
def api_app(tmp_path_factory):
    # Speech is synthesized in the request: generated 4096-character inputs would take minutes
    # each, so this app refuses long ones (422, a documented answer) and stays quick.
    app = create_app(app_config(tmp_path_factory.mktemp("openapi"), QueueRecorder(),
                                EVENTS_MAX_SECONDS=0.5, SPEECH_MAX_INPUT=120))
    yield app
    app.extensions["narrator"].db.dispose()


# Loaded from the same document the app serves (test_the_document_is_served_as_json checks that);
# schemathesis.pytest.from_fixture would be neater but fails under pytest 9 (it sets a node's
# removed `_nodeid`).
schema = schemathesis.openapi.from_dict(openapi_document())


def routed_operations(app) -> set[tuple[str, str]]:
    """(path in OpenAPI form, method) for every API route the app answers."""
    operations = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API_PREFIXES):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule).replace("{job_id}", "{id}")
        for method in rule.methods - {"OPTIONS"}:
            operations.add((path, method.lower()))
    return operations


def test_the_document_describes_every_route_and_only_those(api_app):
    documented = {(path, method) for path, item in openapi_document()["paths"].items()
                  for method in item if method in {"get", "head", "post", "put", "delete", "patch"}}
    routed = routed_operations(api_app)
    # Flask answers HEAD for every GET; the document lists HEAD only where clients rely on it.
    routed_without_implicit_head = {(p, m) for p, m in routed
                                    if m != "head" or (p, "head") in documented}
    assert documented == routed_without_implicit_head


def test_the_document_is_served_as_json(api_app):
    response = api_app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json() == openapi_document()
    assert response.get_json()["openapi"].startswith("3.1")


def test_the_document_holds_no_secrets():
    text = str(openapi_document()).lower()
    assert not re.search(r"password|secret|aws_|redis://[^ ]*@", text)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
def test_generated_requests_get_documented_answers(case, api_app):
    case.call_and_validate(app=api_app, checks=[not_a_server_error, status_code_conformance,
                                                content_type_conformance,
                                                response_schema_conformance])
