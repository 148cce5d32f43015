"""Bad input over raw HTTP: the right 4xx with a TAXII error body, never a 500."""

import json

import pytest
import requests

from conftest import GREEN, PASSWORD, TAXII, indicator, new_id, ts


def assert_error(r, status):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"] == TAXII, r.headers
    body = r.json()
    assert body["title"] and body["http_status"] == str(status), body


def post(node, data, headers=None, user="usa", url=None):
    h = {"Accept": TAXII, "Content-Type": TAXII}
    h.update(headers or {})
    return requests.post(url or node.coll_url + "objects/", data=data, headers=h,
                         auth=(user, PASSWORD), timeout=60)


@pytest.mark.parametrize("body", [b"{", b"not json", b"[1,2]", b'{"objects": 5}',
                                  b'{"type": "indicator", "objects": []}', b"\xff\xfe"])
def test_malformed_bodies(node, body):
    assert_error(post(node, body), 400)


def test_accept_header(node):
    url = node.coll_url + "objects/"
    for accept in ("application/json", "application/taxii+json;version=2.0", "text/html"):
        r = requests.get(url, headers={"Accept": accept}, auth=("usa", PASSWORD))
        assert_error(r, 406)
    r = requests.get(url, headers={"Accept": None}, auth=("usa", PASSWORD))
    assert_error(r, 406)
    for accept in ("application/taxii+json", "application/taxii+json; version=2.1",
                   "application/taxii+json;version=2.1; charset=utf-8"):
        r = requests.get(url, headers={"Accept": accept}, auth=("usa", PASSWORD))
        assert r.status_code == 200, (accept, r.text)
        assert r.headers["Content-Type"] == TAXII


def test_content_type(node):
    body = json.dumps({"objects": [indicator()]})
    for ct in ("application/json", "text/plain", "application/stix+json;version=2.1",
               "application/taxii+json;version=2.0"):
        assert_error(post(node, body, {"Content-Type": ct}), 415)
    r = requests.post(node.coll_url + "objects/", data=body, auth=("usa", PASSWORD),
                      headers={"Accept": TAXII})  # no Content-Type
    assert_error(r, 415)


def test_oversized_body(node_factory):
    node = node_factory(max_content_length=20000)
    objs = [indicator() for _ in range(100)]
    assert_error(post(node, json.dumps({"objects": objs})), 413)

    def chunks():  # no Content-Length: the limit applies while reading
        yield b'{"objects": ['
        for i, o in enumerate(objs):
            yield (b"," if i else b"") + json.dumps(o).encode()
        yield b"]}"

    assert_error(post(node, chunks()), 413)
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
    for f in st["failures"]:
        assert f.get("message") and "version" in f and "id" in f
    assert no_pattern["id"] in {f["id"] for f in st["failures"]}
    for g in good:
        assert node.get(node.coll_url + "objects/%s/" % g["id"]).status_code == 200
    for b in (no_pattern, older):
        assert node.get(node.coll_url + "objects/%s/" % b["id"]).status_code == 404


def test_conflicting_version(node):
    obj = indicator()
    node.add([obj])
    changed = dict(obj, name="same id and modified, different content")
    st = post(node, json.dumps({"objects": [changed]})).json()
    assert st["failure_count"] == 1 and st["success_count"] == 0, st
    assert "conflict" in st["failures"][0]["message"].lower() or st["failures"][0]["message"]
    got = node.get(node.coll_url + "objects/%s/" % obj["id"]).json()["objects"][0]
    assert got["name"] == obj["name"]
    # Another member may not version USA's object.
    v2 = dict(obj, modified=ts(300), name="IRQ's version")
    st = post(node, json.dumps({"objects": [v2]}), user="irq").json()
    assert st["failure_count"] == 1, st
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
        r = node.get(url)
        assert r.status_code in (400, 404), (url, r.status_code)
        assert_error(r, r.status_code)
    assert_error(post(node, json.dumps({"objects": [indicator()]}),
                      url=node.api + "collections/nope/objects/"), 404)
    r = requests.put(node.coll_url + "objects/", headers={"Accept": TAXII},
                     auth=("usa", PASSWORD))
    assert_error(r, 405)


@pytest.mark.parametrize("params", [
    {"limit": "0"}, {"limit": "-1"}, {"limit": "abc"}, {"limit": "1.5"},
    {"next": "garbage"}, {"next": "!!!!"}, {"next": ""},
    {"added_after": "yesterday"}, {"added_after": "2025-13-01T00:00:00Z"},
    {"added_after": "2025-01-01"},
    {"match[version]": "newest"}, {"match[version]": "2025-01-01"},
    {"match[version]": "last,"},
    {"match[spec_version]": "two"}, {"match[type]": ""}, {"match[id]": "a,,b"},
])
def test_bad_filters(node, params):
    for path in ("objects/", "manifest/"):
        r = node.get(node.coll_url + path, params=params)
        assert_error(r, 400)


def test_duplicated_parameter(node):
    r = requests.get(node.coll_url + "objects/?limit=1&limit=2",
                     headers={"Accept": TAXII}, auth=("usa", PASSWORD))
    assert_error(r, 400)


def test_bad_credentials(node):
    url = node.coll_url + "objects/"
    for auth in (None, ("usa", "wrong"), ("nobody", PASSWORD), ("", "")):
        r = requests.get(url, headers={"Accept": TAXII}, auth=auth)
        assert_error(r, 401)
        assert "WWW-Authenticate" in r.headers
    for header in ("Bearer nonsense", "Basic !!!", "Digest abc", "Bearer "):
        r = requests.get(url, headers={"Accept": TAXII, "Authorization": header})
        assert_error(r, 401)
        assert "WWW-Authenticate" in r.headers
    r = requests.get(node.base + "/taxii2/", headers={"Accept": TAXII})
    assert_error(r, 401)
    r = requests.post(url, data="{}", headers={"Accept": TAXII, "Content-Type": TAXII},
                      auth=("usa", "wrong"))
    assert_error(r, 401)


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
            assert_error(r, r.status_code)
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
