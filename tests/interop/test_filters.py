"""Every TAXII 2.1 filter, through taxii2-client and raw requests."""

import time

import pytest

from conftest import ids_of, indicator, new_id, ts


@pytest.fixture(scope="module")
def data(node):
    """Three objects with several versions plus a malware and a marked identity."""
    coll = node.collection()
    a, b = new_id("indicator"), new_id("indicator")
    versions_a = [indicator(a, created=ts(0), modified=ts(s)) for s in (0, 10, 20)]
    versions_b = [indicator(b, created=ts(0), modified=ts(0, micros=123456))]
    malware = {"type": "malware", "spec_version": "2.1", "id": new_id("malware"),
               "created": ts(5), "modified": ts(5), "name": "filter malware", "is_family": True,
               "object_marking_refs": [versions_a[0]["object_marking_refs"][0]]}
    # Posted in separate requests, so date_added differs.
    node.add(versions_a[:1])
    time.sleep(0.01)
    node.add(versions_b)
    time.sleep(0.01)
    node.add([malware])
    time.sleep(0.01)
    node.add(versions_a[1:])
    return {"coll": coll, "a": a, "b": b, "malware": malware["id"], "versions_a": versions_a,
            "versions_b": versions_b}


def test_match_type_and_id(node, data):
    coll = data["coll"]
    assert ids_of(coll.get_objects(type="malware")) == [data["malware"]]
    assert sorted(ids_of(coll.get_objects(type="indicator"))) == sorted([data["a"], data["b"]])
    assert sorted(ids_of(coll.get_objects(type="malware,indicator"))) == sorted(
        [data["a"], data["b"], data["malware"]])
    assert ids_of(coll.get_objects(id=data["b"])) == [data["b"]]
    got = ids_of(coll.get_objects(id="%s,%s" % (data["a"], data["malware"])))
    assert sorted(got) == sorted([data["a"], data["malware"]])
    # AND across fields.
    assert ids_of(coll.get_objects(id=data["a"], type="malware")) == []
    assert ids_of(coll.get_objects(type="campaign")) == []


def test_match_version(node, data):
    coll, a = data["coll"], data["a"]

    def mods(**kw):
        return [o["modified"] for o in coll.get_objects(id=a, **kw).get("objects", [])]

    va = [v["modified"] for v in data["versions_a"]]
    assert mods() == [va[2]]  # default: last
    assert mods(version="last") == [va[2]]
    assert mods(version="first") == [va[0]]
    assert sorted(mods(version="all")) == va
    assert sorted(mods(version="first,last")) == [va[0], va[2]]
    assert mods(version=va[1]) == [va[1]]
    # The same instant with different fractional digits.
    for spelled in ("2025-01-01T00:00:10Z", "2025-01-01T00:00:10.0Z", "2025-01-01T00:00:10.000Z",
                    "2025-01-01T00:00:10.000000Z"):
        assert mods(version=spelled) == [va[1]], spelled
    b = data["b"]
    for spelled in ("2025-01-01T00:00:00.123456Z",):
        got = [o["id"] for o in coll.get_objects(id=b, version=spelled).get("objects", [])]
        assert got == [b]
    got = coll.get_objects(id=b, version="2025-01-01T00:00:00.123Z").get("objects", [])
    assert got == []  # .123 is not .123456
    got = coll.get_objects(id=a, version="%s,%s" % (va[0], "2025-01-01T00:00:20.000000Z"))
    assert sorted(o["modified"] for o in got["objects"]) == [va[0], va[2]]
    assert mods(version="2030-01-01T00:00:00Z") == []
    # Manifest and object endpoints honour it too.
    man = coll.get_manifest(id=a, version="all")
    assert sorted(m["version"] for m in man["objects"]) == [
        "2025-01-01T00:00:00.000000Z", "2025-01-01T00:00:10.000000Z", "2025-01-01T00:00:20.000000Z"]
    assert [o["modified"] for o in coll.get_object(a, version="first")["objects"]] == [va[0]]


def test_match_spec_version(node, data):
    coll = data["coll"]
    assert len(ids_of(coll.get_objects(spec_version="2.1"))) == 3
    assert ids_of(coll.get_objects(spec_version="2.0")) == []
    assert len(ids_of(coll.get_objects(spec_version="2.0,2.1"))) == 3


def test_added_after_and_headers(node, data):
    url = node.coll_url + "objects/"
    r = node.get(url, params={"match[version]": "all"})
    first, last = r.headers["X-TAXII-Date-Added-First"], r.headers["X-TAXII-Date-Added-Last"]
    assert first.endswith("Z") and len(first) == len("2025-01-01T00:00:00.000000Z")
    man = node.get(node.coll_url + "manifest/", params={"match[version]": "all"}).json()["objects"]
    added = [m["date_added"] for m in man]
    assert added == sorted(added) and added[0] == first and added[-1] == last
    # added_after is exclusive, and compares instants, not strings.
    after_first = node.get(url, params={"added_after": added[0], "match[version]": "all"}).json()
    assert len(after_first["objects"]) == len(added) - 1
    coarse = added[0][:-1].rstrip("0").rstrip(".") + "Z"  # same instant, fewer digits
    r = node.get(url, params={"added_after": coarse, "match[version]": "all"}).json()
    assert len(r["objects"]) == len(added) - 1
    empty = node.get(url, params={"added_after": "2099-01-01T00:00:00Z"})
    assert empty.status_code == 200 and empty.json() == {"more": False}
    assert "X-TAXII-Date-Added-First" in empty.headers and "X-TAXII-Date-Added-Last" in empty.headers
    # Resuming from Date-Added-Last never skips or repeats.
    seen, after = [], None
    while True:
        params = {"limit": 2, "match[version]": "all"}
        if after:
            params["added_after"] = after
        r = node.get(url, params=params)
        objs = r.json().get("objects", [])
        if not objs:
            break
        seen += [(o["id"], o["modified"]) for o in objs]
        after = r.headers["X-TAXII-Date-Added-Last"]
    assert len(seen) == len(added) and len(set(seen)) == len(seen)


def test_limit_and_next(node, data):
    url = node.coll_url + "objects/"
    r = node.get(url, params={"limit": 1, "match[version]": "all"}).json()
    assert len(r["objects"]) == 1 and r["more"] is True and r["next"]
    seen = ids_of(r)
    while r.get("more"):
        r = node.get(url, params={"limit": 1, "next": r["next"], "match[version]": "all"}).json()
        assert len(r.get("objects", [])) <= 1
        seen += ids_of(r)
    assert len(seen) == 5
    # A limit above the server maximum is capped, never exceeded.
    r = node.get(url, params={"limit": 100000})
    assert r.status_code == 200 and len(r.json()["objects"]) == 3
    # manifest paging carries next too
    r = node.get(node.coll_url + "manifest/", params={"limit": 2}).json()
    assert r["more"] and r["next"]
    r2 = node.get(node.coll_url + "manifest/", params={"limit": 2, "next": r["next"]}).json()
    assert not set(m["id"] for m in r["objects"]) & set(m["id"] for m in r2["objects"])


def test_versions_endpoint_paging(node, data):
    url = node.coll_url + "objects/%s/versions/" % data["a"]
    r = node.get(url, params={"limit": 2}).json()
    assert len(r["versions"]) == 2 and r["more"] and r["next"]
    r2 = node.get(url, params={"limit": 2, "next": r["next"]}).json()
    assert r["versions"] + r2["versions"] == sorted(r["versions"] + r2["versions"])
    assert len(r2["versions"]) == 1 and not r2["more"]
