"""Schemathesis against a live node, over the OpenAPI description the node serves of its
non-TAXII endpoints (`GET /api/tandem/openapi.json`, `crates/node/src/http/openapi.json`).

Every described operation but the live stream (its response never ends) is called with a
bounded number of generated requests, valid and invalid (Schemathesis's positive and negative
generation), as a user of
the node's member over HTTP Basic, with a fixed seed and derandomized generation so a failure
reproduces. Each response must: not be a 5xx, have a status the description lists, have the
content type and headers it names (`Retry-After` on 429/503), and match its schema.
"""

import os

import hypothesis
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

# Examples per operation (valid and invalid): 39 operations, 50 each (1,950 requests), took
# 43 s on this shared two-core machine (load average 7.8). TANDEM_SCHEMATHESIS_EXAMPLES and TANDEM_SCHEMATHESIS_SEED
# run a longer or another search; the defaults are what CI runs.
MAX_EXAMPLES = int(os.environ.get("TANDEM_SCHEMATHESIS_EXAMPLES", "50"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]
AUTH = ("usa", PASSWORD)
SEED = int(os.environ.get("TANDEM_SCHEMATHESIS_SEED", "20260615"))


def load(node):
    """The served description as a Schemathesis schema (seeded, derandomized), and as JSON."""
    config = schemathesis.Config.from_dict({
        "seed": SEED,
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True},
    })
    # Loaded from the served document rather than with `from_url`, which leaves out the
    # operation at the URL it loaded: the description's own route is fuzzed too.
    r = requests.get(node.base + "/api/tandem/openapi.json", auth=AUTH, timeout=30)
    r.raise_for_status()
    schema = schemathesis.openapi.from_dict(r.json(), config=config)
    schema.config.update(base_url=node.base)
    return schema, r.json()


def test_the_description_is_served_authenticated(node):
    r = requests.get(node.base + "/api/tandem/openapi.json", timeout=30)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic")
    r = requests.get(node.base + "/api/tandem/openapi.json", auth=AUTH, timeout=30)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["openapi"].startswith("3.0")
    assert "/api/tandem/places/" in doc["paths"] and "/ui/api/session" in doc["paths"]


def test_every_operation_conforms(node):
    """Each operation in turn, through Schemathesis's Python API (a Hypothesis strategy of cases
    per operation; its pytest plug-in's lazy loading does not run under pytest 9), collecting
    every operation's failure before failing."""
    schema, doc = load(node)
    schema = schema.exclude(operation_id="stream")
    failures, tested, calls = [], [], []
    for result in schema.get_all_operations():
        operation = result.ok()
        tested.append(operation.label)

        @hypothesis.seed(SEED)
        @hypothesis.settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None,
                             database=None, suppress_health_check=list(hypothesis.HealthCheck),
                             phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate])
        @hypothesis.given(case=hypothesis.strategies.one_of(
            operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
            operation.as_strategy(schemathesis.GenerationMode.NEGATIVE)))
        def run(case):
            calls.append(operation.label)
            case.call_and_validate(auth=AUTH, timeout=30, checks=CHECKS)

        try:
            # A described example body first: what generation alone rarely makes valid (a zone
            # needs one of several shapes) gets its success checked too.
            example = (doc["paths"][operation.path][operation.method.lower()].get("requestBody", {})
                       .get("content", {}).get("application/json", {}).get("example"))
            if example is not None:
                calls.append(operation.label)
                response = operation.Case(body=example, media_type="application/json") \
                    .call_and_validate(auth=AUTH, timeout=30, checks=CHECKS)
                assert response.status_code < 300, (operation.label, response.status_code, response.text)
            run()
        # Schemathesis's FailureGroup is a BaseExceptionGroup: every operation's failures, together.
        except (Exception, BaseExceptionGroup) as e:  # noqa: BLE001
            failures.append("%s:\n%s" % (operation.label, str(e)[:3000]))
    described = {"%s %s" % (m.upper(), p) for p, item in doc["paths"].items() for m in item}
    assert set(tested) == described - {"GET /api/tandem/stream/"}, described - set(tested)
    print("schemathesis: %d requests over %d operations" % (len(calls), len(tested)))
    assert not failures, "\n\n".join(failures)
