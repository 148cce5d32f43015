"""Schemathesis against a live node, over the OpenAPI description the node serves of its
non-TAXII endpoints (`GET /api/tandem/openapi.json`, `crates/node/src/http/openapi.json`).

The node is seeded first (`seeded`): a cell (intrusion-set), two near-duplicate incidents of two
members attributed to it (a merge candidate), their locations, and two watch zones of the user.
Operations that act on something existing then reach their success answers: each has explicit
cases with the seeded ids (`explicit_cases`: merge, unmerge of that merge, a cell's track, an
incident, a zone's PATCH and DELETE, search, place resolution), and generation fixes the path
parameters to the seeded ids for half of its cases (`SEEDED_PATHS`), the other half generated.

Every described operation but the live stream (its response never ends) is then called with a
bounded number of generated requests, valid and invalid (Schemathesis's positive and negative
generation), with a fixed seed and derandomized generation so a failure reproduces, under each
of the three ways a user authenticates: HTTP Basic, a Bearer API token (`tandem token create`)
and a web session cookie with its CSRF header (`POST /ui/api/login`). Each response must: not
be a 5xx, have a status the description lists, have the content type and headers it names
(`Retry-After` on 429/503), and match its schema (the main endpoints' schemas name their fields
and types). Each operation that a user of the member may succeed at must have succeeded at
least once under each authentication.
"""

import os
import subprocess
import time

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

from conftest import GREEN, PASSWORD, tandem_binary

# Examples per operation (valid and invalid) under Basic auth; Bearer and session runs take a
# third as many each. TANDEM_SCHEMATHESIS_EXAMPLES and TANDEM_SCHEMATHESIS_SEED run a longer or
# another search; the defaults are what CI runs (time: README, "Reliability and security").
MAX_EXAMPLES = int(os.environ.get("TANDEM_SCHEMATHESIS_EXAMPLES", "50"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]
AUTH = ("usa", PASSWORD)
SEED = int(os.environ.get("TANDEM_SCHEMATHESIS_SEED", "20260615"))

CELL = "intrusion-set--6f1d3a52-8c1e-4b0f-9a7e-5d2c1b0a9e11"
INCIDENT_EXT = "extension-definition--447704c2-c7f8-4c08-993a-83a938df3ee7"

# Operations a plain user of the node's member cannot succeed at, whatever the request: the
# audit log is for auditors, notifications for peer node accounts, a roster change needs the
# coalition authority's signature, the widened-release feed is for peers.
NO_SUCCESS_FOR_A_USER = {"auditRead", "peerNotify", "rosterSubmit", "syncWidened"}


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


def incident(n, day, lat):
    """An incident attributed to CELL on `day` and its location (Deir ez-Zor)."""
    iid = "incident--00000000-0000-4000-8000-%012d" % n
    loc = "location--00000000-0000-4000-8000-%012d" % n
    return iid, [
        {"type": "incident", "spec_version": "2.1", "id": iid,
         "created": day + "T12:00:00.000Z", "modified": day + "T12:00:00.000Z",
         "name": "IED on the Deir ez-Zor road %d" % n, "object_marking_refs": [GREEN],
         "extensions": {INCIDENT_EXT: {
             "extension_type": "property-extension",
             "event_type": "Explosions/Remote violence",
             "sub_event_type": "Remote explosive/landmine/IED",
             "time": {"start": day, "end": day, "precision": "day"},
             "place": {"location_refs": [loc], "precision": 1, "admin1": "SY-DY"},
             "actors": [{"actor_ref": CELL, "role": "perpetrator"}],
             "fatalities": {"best": 3}}}},
        {"type": "location", "spec_version": "2.1", "id": loc,
         "created": "2025-11-01T00:00:00.000Z", "modified": "2025-11-01T00:00:00.000Z",
         "latitude": lat, "longitude": 40.45, "object_marking_refs": [GREEN]},
    ]


def zone(node, name):
    r = requests.post(node.base + "/api/tandem/watch-zones/", auth=AUTH, timeout=30,
                      json={"name": name, "point": [36.34, 43.13], "radius_km": 2})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def seed(node):
    """What the operations on existing data need, and a token and a session for the user."""
    cell = {"type": "intrusion-set", "spec_version": "2.1", "id": CELL,
            "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
            "name": "Deir ez-Zor cell", "object_marking_refs": [GREEN]}
    of, objects = incident(1, "2025-11-20", 35.02)
    node.add([cell] + objects)
    # The same event reported by IRQ, 1 km away: a candidate duplicate across members.
    duplicate, objects = incident(2, "2025-11-20", 35.03)
    node.add(objects, user="irq")
    candidates = requests.get(node.base + "/api/tandem/analytics/correlations", auth=AUTH,
                              timeout=30).json()["candidates"]
    assert {(c["a"], c["b"]) for c in candidates} == {(duplicate, of)}, candidates
    token = subprocess.run([tandem_binary(), "token", "create", "--config", str(node.config),
                            "--user", "usa", "--label", "schemathesis"],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert token.startswith("tdm_"), token
    return {"of": of, "duplicate": duplicate, "zone": zone(node, "Mosul old city"), "token": token}


def login(node):
    """A fresh web session of the user: the session's requests carry its cookie, and its
    CSRF token is the header unsafe methods need."""
    session = requests.Session()
    r = session.post(node.base + "/ui/api/login", json={"username": AUTH[0], "password": AUTH[1]},
                     timeout=30)
    assert r.status_code == 200 and r.json()["csrf"], r.text
    return session, {"X-Tandem-CSRF": r.json()["csrf"]}


def authentications(node, seeded):
    """(name, keyword arguments of a call, examples per operation): the three ways in."""
    session, csrf = login(node)
    # A running node accepts a new token within a second.
    bearer = {"headers": {"Authorization": "Bearer " + seeded["token"]}}
    deadline = time.time() + 10
    while requests.get(node.base + "/ui/api/session", timeout=30, **bearer).status_code != 200:
        assert time.time() < deadline, "the node never accepted the new token"
        time.sleep(0.2)
    third = max(1, MAX_EXAMPLES // 3)
    return [("basic", {"auth": AUTH}, MAX_EXAMPLES),
            ("bearer", bearer, third),
            ("session", {"session": session, "headers": csrf}, third)]


def explicit_cases(seeded, state):
    """Per operation id, the requests on seeded data that must succeed (each a function of
    what earlier ones made: the merge's relationship is what the unmerge undoes)."""
    return {
        "analyticsMerge": [lambda: {"body": {"duplicate": seeded["duplicate"], "of": seeded["of"]},
                                    "media_type": "application/json"}],
        "analyticsUnmerge": [lambda: {"path_parameters": {"relationship": state["relationship"]}}],
        "analyticsTrack": [lambda: {"path_parameters": {"cell": CELL}}],
        "uiIncident": [lambda: {"path_parameters": {"id": seeded["of"]}}],
        "zonesUpdate": [lambda: {"path_parameters": {"id": seeded["zone"]},
                                 "body": {"name": "Mosul old city (west)", "radius_km": 3},
                                 "media_type": "application/json"}],
        "zonesDelete": [lambda: {"path_parameters": {"id": state["doomed_zone"]}}],
        "search": [lambda: {"query": {"q": "IED", "type": "incident"}}],
        "placesResolve": [lambda: {"query": {"text": "an IED near Mosul"}}],
        "placesSearch": [lambda: {"query": {"q": "Mosul", "limit": 3}}],
        "placesReverse": [lambda: {"query": {"lat": 36.34, "lon": 43.13}}],
        "analyticsHotspots": [lambda: {"query": {"scan": "true"}}],
        "import": [lambda: {"query": {"format": "stix", "dry_run": "true"}, "media_type": "application/json",
                            "body": {"type": "bundle", "id": "bundle--6f1d3a52-8c1e-4b0f-9a7e-5d2c1b0a9e12",
                                     "objects": [{"type": "indicator", "spec_version": "2.1",
                                                  "id": "indicator--6f1d3a52-8c1e-4b0f-9a7e-5d2c1b0a9e13",
                                                  "created": "2025-01-01T00:00:00.000Z",
                                                  "modified": "2025-01-01T00:00:00.000Z",
                                                  "pattern": "[ipv4-addr:value = '198.51.100.9']",
                                                  "pattern_type": "stix", "valid_from": "2025-01-01T00:00:00Z",
                                                  "object_marking_refs": [GREEN]}]}}],
        "uiLogin": [lambda: {"body": {"username": AUTH[0], "password": AUTH[1]},
                             "media_type": "application/json"}],
    }


def seeded_paths(seeded):
    """Path parameters generation fixes, for half of each operation's cases, to seeded ids."""
    return {"analyticsTrack": {"cell": CELL}, "uiIncident": {"id": seeded["of"]},
            "zonesUpdate": {"id": seeded["zone"]}}


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
    per operation; its pytest plug-in's lazy loading does not run under pytest 9), under each
    authentication, collecting every operation's failure before failing."""
    seeded = seed(node)
    schema, doc = load(node)
    schema = schema.exclude(operation_id="stream")
    state = {}
    explicit = explicit_cases(seeded, state)
    paths = seeded_paths(seeded)
    failures, calls = [], []
    succeeded = {}  # authentication -> operation ids answered 2xx at least once
    operations = [r.ok() for r in schema.get_all_operations()]
    for auth_name, auth, examples in authentications(node, seeded):
        ok = succeeded.setdefault(auth_name, set())
        state["doomed_zone"] = zone(node, "to be deleted (%s)" % auth_name)
        for operation in operations:
            op_id = operation.definition.raw["operationId"]
            if auth_name == "session" and op_id == "uiLogout":
                continue  # it would end the session every later case uses: checked below
            strategies = [operation.as_strategy(mode) for mode in
                          (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)]
            if op_id in paths:
                strategies.append(operation.as_strategy(schemathesis.GenerationMode.POSITIVE,
                                                        path_parameters=paths[op_id]))

            def call(case):
                calls.append(operation.label)
                response = case.call_and_validate(timeout=30, checks=CHECKS, **auth)
                if response.status_code < 300:
                    ok.add(op_id)
                return response

            @hypothesis.seed(SEED)
            @hypothesis.settings(max_examples=examples, derandomize=True, deadline=None,
                                 database=None, suppress_health_check=list(hypothesis.HealthCheck),
                                 phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate])
            @hypothesis.given(case=hypothesis.strategies.one_of(*strategies))
            def run(case):
                call(case)

            try:
                # A described example body first: what generation alone rarely makes valid (a
                # zone needs one of several shapes) gets its success checked too.
                example = (doc["paths"][operation.path][operation.method.lower()].get("requestBody", {})
                           .get("content", {}).get("application/json", {}).get("example"))
                if example is not None:
                    response = call(operation.Case(body=example, media_type="application/json"))
                    assert response.status_code < 300, (op_id, response.status_code, response.text)
                # Then the seeded requests, once per authentication (the merge, its undoing and
                # the deletion change what they act on).
                for make in explicit.get(op_id, []):
                    response = call(operation.Case(**make()))
                    assert response.status_code < 300, (op_id, auth_name, response.status_code, response.text)
                    if op_id == "analyticsMerge":
                        state["relationship"] = response.json()["relationship"]
                    if op_id == "uiLogin" and "session" in auth:
                        # The session now carries the new login's cookie: its token goes along.
                        auth["headers"]["X-Tandem-CSRF"] = response.json()["csrf"]
                run()
            # Schemathesis's FailureGroup is a BaseExceptionGroup: every operation's failures, together.
            except (Exception, BaseExceptionGroup) as e:  # noqa: BLE001
                failures.append("%s (%s):\n%s" % (operation.label, auth_name, str(e)[:3000]))
    tested = {o.label for o in operations}
    described = {"%s %s" % (m.upper(), p) for p, item in doc["paths"].items() for m in item}
    assert tested == described - {"GET /api/tandem/stream/"}, described - tested
    print("schemathesis: %d requests over %d operations, 3 authentications" % (len(calls), len(tested)))
    assert not failures, "\n\n".join(failures)
    # Every operation a user may succeed at did, under every authentication (the seeded data
    # and fixed path parameters reach past the 4xx answers).
    ids = {o.definition.raw["operationId"] for o in operations}
    for auth_name, ok in succeeded.items():
        expected = ids - NO_SUCCESS_FOR_A_USER - ({"uiLogout"} if auth_name == "session" else set())
        assert expected <= ok, (auth_name, sorted(expected - ok))


def test_a_session_logs_out_with_its_csrf_token(node):
    """The one operation the session run leaves out: logging out ends the session."""
    session, csrf = login(node)
    assert session.get(node.base + "/ui/api/session", timeout=30).status_code == 200
    assert session.post(node.base + "/ui/api/logout", timeout=30).status_code == 403, "no CSRF header"
    assert session.post(node.base + "/ui/api/logout", headers=csrf, timeout=30).status_code == 204
    assert session.get(node.base + "/ui/api/session", timeout=30).status_code == 401
