"""Schemathesis against a live node, over the OpenAPI description the node serves of its
non-TAXII endpoints (`GET /api/tandem/openapi.json`, `crates/node/src/http/openapi.json`).

Every described operation but the live stream (its response never ends) is called with a
bounded number of generated requests, valid and invalid (`generation.modes = all`), as a user of
the node's member over HTTP Basic, with a fixed seed and derandomized generation so a failure
reproduces. Each response must: not be a 5xx, have a status the description lists, have the
content type and headers it names (`Retry-After` on 429/503), and match its schema.
"""

import hypothesis
import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from conftest import PASSWORD

# Examples per operation: 39 operations, on a loaded two-core machine, in about a minute.
MAX_EXAMPLES = 12
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]
AUTH = ("usa", PASSWORD)


@pytest.fixture(scope="module")
def described(node):
    config = schemathesis.Config.from_dict({
        "seed": 20260615,
        "generation": {"modes": ["positive", "negative"], "max-examples": MAX_EXAMPLES,
                       "deterministic": True},
    })
    schema = schemathesis.openapi.from_url(node.base + "/api/tandem/openapi.json", config=config,
                                           auth=AUTH, timeout=30)
    schema.base_url = node.base
    return schema


schema = schemathesis.pytest.from_fixture("described").exclude(operation_id="stream")


def test_the_description_is_served_authenticated(node):
    r = requests.get(node.base + "/api/tandem/openapi.json", timeout=30)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic")
    r = requests.get(node.base + "/api/tandem/openapi.json", auth=AUTH, timeout=30)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["openapi"].startswith("3.0")
    assert "/api/tandem/places/" in doc["paths"] and "/ui/api/session" in doc["paths"]


@schema.parametrize()
@hypothesis.settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
                     suppress_health_check=list(hypothesis.HealthCheck))
def test_every_operation_conforms(case):
    case.call_and_validate(auth=AUTH, timeout=30, checks=CHECKS)
