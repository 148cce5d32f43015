"""Bad input over raw HTTP: the right 4xx with a TAXII error body, never a 500.

Each case checks the exact status, title and description the node answers: a test that accepts
any message passes whatever the node says."""

import json

import pytest
import requests

from conftest import GREEN, PASSWORD, TAXII, indicator, new_id, ts


TITLES = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
          406: "Not Acceptable", 413: "Payload Too Large", 415: "Unsupported Media Type"}
NOT_FOUND = "the requested resource was not found or is not accessible"
UNAUTHORIZED = "valid credentials are required (HTTP Basic or a Bearer API token)"


def assert_error(r, status, description):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"] == TAXII, r.headers
    body = r.json()
    assert body == {"title": TITLES[status], "http_status": str(status),
                    "description": description}, body


def post(node, data, headers=None, user="usa", url=None):
    h = {"Accept": TAXII, "Content-Type": TAXII}
    h.update(headers or {})
    return requests.post(url or node.coll_url + "objects/", data=data, headers=h,
                         auth=(user, PASSWORD), timeout=60)


@pytest.mark.parametrize("body, description", [
    (b"{", "malformed JSON: EOF while parsing an object at line 1 column 1"),
    (b"not json", "malformed JSON: expected ident at line 1 column 2"),
    (b"[1,2]", "the body must be a TAXII envelope (a JSON object)"),
    (b'{"objects": 5}', "objects must be a list"),
    (b'{"type": "indicator", "objects": []}', "the body must be a TAXII envelope or a STIX bundle"),
    (b"\xff\xfe", "malformed JSON: expected value at line 1 column 1"),
])
def test_malformed_bodies(node, body, description):
    assert_error(post(node, body), 400, description)


NOT_ACCEPTABLE = "the Accept header must include application/taxii+json;version=2.1"
UNSUPPORTED = "the Content-Type must be application/taxii+json;version=2.1"
TOO_LARGE = "the request body exceeds max_content_length of the API root"


def test_accept_header(node):
    url = node.coll_url + "objects/"
    for accept in ("application/json", "application/taxii+json;version=2.0", "text/html"):
        r = requests.get(url, headers={"Accept": accept}, auth=("usa", PASSWORD))
        assert_error(r, 406, NOT_ACCEPTABLE)
    r = requests.get(url, headers={"Accept": None}, auth=("usa", PASSWORD))
    assert_error(r, 406, NOT_ACCEPTABLE)
    for accept in ("application/taxii+json", "application/taxii+json; version=2.1",
                   "application/taxii+json;version=2.1; charset=utf-8"):
        r = requests.get(url, headers={"Accept": accept}, auth=("usa", PASSWORD))
        assert r.status_code == 200, (accept, r.text)
        assert r.headers["Content-Type"] == TAXII


def test_content_type(node):
    body = json.dumps({"objects": [indicator()]})
    for ct in ("application/json", "text/plain", "application/stix+json;version=2.1",
               "application/taxii+json;version=2.0"):
        assert_error(post(node, body, {"Content-Type": ct}), 415, UNSUPPORTED)
    r = requests.post(node.coll_url + "objects/", data=body, auth=("usa", PASSWORD),
                      headers={"Accept": TAXII})  # no Content-Type
    assert_error(r, 415, UNSUPPORTED)


def test_oversized_body(node_factory):
    node = node_factory(max_content_length=20000)
    objs = [indicator() for _ in range(100)]
    assert_error(post(node, json.dumps({"objects": objs})), 413, TOO_LARGE)

    def chunks():  # no Content-Length: the limit applies while reading
        yield b'{"objects": ['
        for i, o in enumerate(objs):
            yield (b"," if i else b"") + json.dumps(o).encode()
        yield b"]}"

    assert_error(post(node, chunks()), 413, TOO_LARGE)
    assert post(node, json.dumps({"objects": objs[:5]})).status_code == 202
    r = node.get(node.api)
    assert r.json()["max_content_length"] == 20000


def test_invalid_objects_partial_success(node):
    good = [indicator(), indicator()]
    no_pattern = indicator()
    del no_pattern["pattern"]
    bad_time = indicator(modified="yesterday")
    bad_type = {"type": "Not A Type!", "id": "x--1", "spec_version": "2.1"}
    no_id = {"type": "indicator", "spec_version": "2.1"}
    older = indicator(created=ts(100), modified=ts(50))  # modified before created
    objs = [good[0], no_pattern, bad_time, bad_type, no_id, "a string", older, good[1]]
    r = post(node, json.dumps({"objects": objs}))
    assert r.status_code == 202, r.text
    st = r.json()
    assert st["total_count"] == len(objs)
    assert st["success_count"] == 2 and st["failure_count"] == len(objs) - 2
    assert st["success_count"] + st["failure_count"] + st["pending_count"] == st["total_count"]
    assert {s["id"] for s in st["successes"]} == {g["id"] for g in good}
    assert [(f["id"], f["version"], f["message"]) for f in st["failures"]] == [
        (no_pattern["id"], no_pattern["modified"], "pattern: required property is missing"),
        (bad_time["id"], "yesterday",
         'modified: not a valid STIX timestamp (too short): "yesterday"'),
        ("x--1", "", 'type: "Not A Type!" is not a valid type name (3-250 characters of a-z, 0-9 '
         'and single hyphens); id: not a valid STIX identifier (type part is not a valid STIX '
         'type name): "x--1"'),
        ("", "", "id: required property is missing; created: required property is missing; "
         "modified: required property is missing; pattern: required property is missing; "
         "pattern_type: required property is missing; valid_from: required property is missing"),
        ("", "", "a STIX object must be a JSON object, found a string"),
        (older["id"], older["modified"], "modified: must not be earlier than created "
         "(%s), found %s" % (older["created"], older["modified"])),
    ], st["failures"]
    assert no_pattern["id"] in {f["id"] for f in st["failures"]}
    for g in good:
        assert node.get(node.coll_url + "objects/%s/" % g["id"]).status_code == 200
    for b in (no_pattern, older):
        assert node.get(node.coll_url + "objects/%s/" % b["id"]).status_code == 404


CONFLICT = "conflict: a different content is already stored under this id and modified timestamp"


def test_conflicting_version(node):
    obj = indicator()
    node.add([obj])
    changed = dict(obj, name="same id and modified, different content")
    st = post(node, json.dumps({"objects": [changed]})).json()
    assert st["failure_count"] == 1 and st["success_count"] == 0, st
    assert st["failures"][0]["message"] == CONFLICT, st
    got = node.get(node.coll_url + "objects/%s/" % obj["id"]).json()["objects"][0]
    assert got["name"] == obj["name"]
    # Another member's "version" of USA's object is its own claim on the id, in its own
    # namespace: accepted like any write of its own, never a version of USA's object.
    v2 = dict(obj, modified=ts(300), name="IRQ's version")
    st = post(node, json.dumps({"objects": [v2]}), user="irq").json()
    assert st["failure_count"] == 0 and st["success_count"] == 1, st
    got = node.get(node.coll_url + "objects/%s/" % obj["id"]).json()["objects"][0]
    assert got["name"] == obj["name"], "USA's readers are served USA's object"
    mine = node.get(node.coll_url + "objects/%s/" % obj["id"], user="irq").json()["objects"][0]
    assert mine["name"] == "IRQ's version"
    # An empty envelope is fine.
    st = post(node, json.dumps({"objects": []})).json()
    assert st["total_count"] == 0 and st["status"] == "complete"


def test_unknown_resources(node):
    for url in (node.api + "collections/%s/" % "9f1c1b2a-0000-4000-8000-000000000000",
                node.api + "collections/nope/objects/",
                node.api + "collections/nope/manifest/",
                node.base + "/other/", node.base + "/api/nothing/",
                node.coll_url + "objects/%s/" % new_id("indicator"),
                node.coll_url + "objects/not-an-id/",
                node.api + "status/not-a-uuid/"):
        assert_error(node.get(url), 404, NOT_FOUND)
    assert_error(post(node, json.dumps({"objects": [indicator()]}),
                      url=node.api + "collections/nope/objects/"), 404, NOT_FOUND)
    r = requests.put(node.coll_url + "objects/", headers={"Accept": TAXII},
                     auth=("usa", PASSWORD))
    assert_error(r, 405, "this method is not supported on this endpoint")


LIMIT = "limit must be a positive integer"


@pytest.mark.parametrize("params, description", [
    ({"limit": "0"}, LIMIT), ({"limit": "-1"}, LIMIT), ({"limit": "abc"}, LIMIT),
    ({"limit": "1.5"}, LIMIT),
    ({"next": "garbage"}, "invalid next token"), ({"next": "!!!!"}, "invalid next token"),
    ({"next": ""}, "invalid next token"),
    ({"added_after": "yesterday"}, 'added_after: invalid timestamp "yesterday": too short'),
    ({"added_after": "2025-13-01T00:00:00Z"},
     'added_after: invalid timestamp "2025-13-01T00:00:00Z": date out of range'),
    ({"added_after": "2025-01-01"}, 'added_after: invalid timestamp "2025-01-01": too short'),
    ({"match[version]": "newest"}, 'match[version]: invalid timestamp "newest": too short'),
    ({"match[version]": "2025-01-01"},
     'match[version]: invalid timestamp "2025-01-01": too short'),
    ({"match[version]": "last,"}, "match[version] has an empty value"),
    ({"match[spec_version]": "two"}, 'match[spec_version]: "two" is not a version such as 2.1'),
    ({"match[type]": ""}, "match[type] has an empty value"),
    ({"match[id]": "a,,b"}, "match[id] has an empty value"),
])
def test_bad_filters(node, params, description):
    for path in ("objects/", "manifest/"):
        r = node.get(node.coll_url + path, params=params)
        assert_error(r, 400, description)


def test_duplicated_parameter(node):
    r = requests.get(node.coll_url + "objects/?limit=1&limit=2",
                     headers={"Accept": TAXII}, auth=("usa", PASSWORD))
    assert_error(r, 400, "limit must not be given more than once")


def test_bad_credentials(node):
    url = node.coll_url + "objects/"
    for auth in (None, ("usa", "wrong"), ("nobody", PASSWORD), ("", "")):
        r = requests.get(url, headers={"Accept": TAXII}, auth=auth)
        assert_error(r, 401, UNAUTHORIZED)
        assert "WWW-Authenticate" in r.headers
    for header in ("Bearer nonsense", "Basic !!!", "Digest abc", "Bearer "):
        r = requests.get(url, headers={"Accept": TAXII, "Authorization": header})
        assert_error(r, 401, UNAUTHORIZED)
        assert "WWW-Authenticate" in r.headers
    r = requests.get(node.base + "/taxii2/", headers={"Accept": TAXII})
    assert_error(r, 401, UNAUTHORIZED)
    r = requests.post(url, data="{}", headers={"Accept": TAXII, "Content-Type": TAXII},
                      auth=("usa", "wrong"))
    assert_error(r, 401, UNAUTHORIZED)


def test_odd_requests_never_500(node):
    """A sweep of odd but well-formed-enough requests: each answers below 500, errors in TAXII
    form."""
    url = node.coll_url + "objects/"
    gets = [url + "?limit=99999999999999999999999", url + "?added_after=9999-12-31T23:59:59.999999Z",
            url + "?added_after=0001-01-01T00:00:00Z", url + "?match[version]=9999-12-31T23:59:59Z",
            url + "?match[id]=" + "x" * 10000, node.coll_url + "objects/%00/",
            node.coll_url + "objects/%ff/", node.coll_url + "objects/" + "a" * 5000 + "/",
            url + "?next=" + "A" * 100, url + "?next=eyJ9",
            url + "?added_after=2025-01-01T00:00:00.1234567891234Z", url + "?match[type]=%00",
            node.api + "status/%2e%2e/", node.coll_url + "manifest/?match[version]=first,last,all",
            url + "?match[version]=first,last,2025-01-01T00:00:00Z&match[spec_version]=2.1,2.0"]
    for u in gets:
        r = requests.get(u, headers={"Accept": TAXII}, auth=("usa", PASSWORD))
        assert r.status_code < 500, (u, r.status_code)
        assert r.headers["Content-Type"] == TAXII
        if r.status_code >= 400:
            assert_error(r, r.status_code, r.json().get("description"))
    bodies = [b"[" * 100000, b'{"objects":' + b"[" * 5000 + b"]" * 5000 + b"}",
              json.dumps({"objects": [None, 1, [], {}, "x"]}).encode(),
              json.dumps({"objects": [indicator(created="9999-12-31T23:59:59.999Z")]}).encode(),
              json.dumps({"objects": [indicator(granular_markings=[
                  {"selectors": ["nope.[99]"], "marking_ref": GREEN}])]}).encode(),
              json.dumps({"objects": [indicator(markings=[new_id("marking-definition")] * 300)]
                          }).encode(),
              json.dumps({"more": True, "next": "x", "objects": [indicator()]}).encode(),
              json.dumps({"type": "bundle", "id": new_id("bundle"), "objects": [indicator()]
                          }).encode()]
    for body in bodies:
        r = post(node, body)
        assert r.status_code in (202, 400), (body[:80], r.status_code, r.text[:300])
        assert r.headers["Content-Type"] == TAXII
        if r.status_code == 202:
            st = r.json()
            assert st["success_count"] + st["failure_count"] + st["pending_count"] == \
                st["total_count"]
