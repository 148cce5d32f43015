"""taxii2-client 2.3.0 and stix2 3.x against a real `tandem serve`."""

import uuid

import pytest
import requests
import stix2
from stix2 import Filter, TAXIICollectionSink, TAXIICollectionSource
from taxii2client.v21 import ApiRoot, Collection, as_pages

from conftest import GREEN, PASSWORD, TAXII, ids_of, indicator, new_id, ts


def test_discovery_api_root_collections(node):
    server = node.server()
    assert server.title == "Tandem interop node"
    assert server.api_roots and server.default is not None
    assert server.default.url == node.api
    root = server.default
    assert TAXII in root.versions
    assert root.max_content_length > 0
    colls = root.collections
    assert len(colls) == 1
    c = colls[0]
    assert c.id == node.collection_id and c.alias == "intel"
    assert c.can_read and c.can_write
    assert "application/stix+json;version=2.1" in c.media_types
    # The collection resource itself, by id and by alias.
    one = Collection(node.coll_url, user="usa", password=PASSWORD)
    assert one.title == c.title
    r = node.get(node.api + "collections/intel/")
    assert r.status_code == 200 and r.json()["id"] == c.id
    assert r.headers["Content-Type"] == TAXII


def test_add_objects_and_status_polling(node):
    coll = node.collection()
    objs = [indicator() for _ in range(120)]
    status = coll.add_objects({"objects": objs}, wait_for_completion=True, poll_interval=0.2)
    assert status.status == "complete"
    assert status.total_count == 120 and status.success_count == 120
    assert status.failure_count == 0 and status.pending_count == 0
    assert {s["id"] for s in status.successes} == {o["id"] for o in objs}
    # taxii2-client polls `.../status/<id>` without a trailing slash: both forms answer.
    for url in (node.api + "status/" + status.id, node.api + "status/" + status.id + "/"):
        r = node.get(url)
        assert r.status_code == 200, (url, r.text)
        assert r.json()["success_count"] == 120
    root = ApiRoot(node.api, user="usa", password=PASSWORD)
    again = root.get_status(status.id)
    assert again.success_count == 120
    # Posting the same versions again: duplicates are successes.
    status = coll.add_objects({"objects": objs[:10]})
    assert status.success_count == 10 and status.failure_count == 0
    # A status resource is not readable by another user.
    r = node.get(node.api + "status/" + status.id + "/", user="irq")
    assert r.status_code in (403, 404), r.text
    r = node.get(node.api + "status/%s/" % uuid.uuid4())
    assert r.status_code == 404 and r.json()["http_status"] == "404"


def test_get_object_versions_manifest_delete(node):
    coll = node.collection()
    oid = new_id("indicator")
    v1 = indicator(oid, created=ts(0))
    v2 = indicator(oid, created=ts(0), modified=ts(60), name="second")
    v3 = indicator(oid, created=ts(0), modified=ts(120), name="third")
    node.add([v1, v2, v3])
    env = coll.get_object(oid)
    assert [o["modified"] for o in env["objects"]] == [v3["modified"]]
    env = coll.get_object(oid, version="all")
    assert sorted(o["modified"] for o in env["objects"]) == [v1["modified"], v2["modified"],
                                                              v3["modified"]]
    env = coll.get_object(oid, version="first")
    assert [o["name"] for o in env["objects"]] == ["interop indicator"]
    versions = coll.object_versions(oid)
    assert versions["versions"] == ["2025-01-01T00:00:00.000000Z", "2025-01-01T00:01:00.000000Z",
                                    "2025-01-01T00:02:00.000000Z"]
    r = node.get(coll.url + "objects/%s/versions/" % oid)
    for h in ("X-TAXII-Date-Added-First", "X-TAXII-Date-Added-Last"):
        assert h in r.headers
    manifest = coll.get_manifest(id=oid, version="all")
    recs = manifest["objects"]
    assert len(recs) == 3 and all(m["id"] == oid for m in recs)
    assert {m["media_type"] for m in recs} == {"application/stix+json;version=2.1"}
    assert [m["date_added"] for m in recs] == sorted(m["date_added"] for m in recs)
    # Delete one version, then the whole object.
    coll.delete_object(oid, version=v1["modified"])
    assert len(coll.object_versions(oid)["versions"]) == 2
    coll.delete_object(oid)
    for url in (coll.url + "objects/%s/" % oid, coll.url + "objects/%s/versions/" % oid):
        r = node.get(url)
        assert r.status_code == 404, r.text
        assert r.headers["Content-Type"] == TAXII and r.json()["http_status"] == "404"
    with pytest.raises(requests.HTTPError) as e:
        coll.get_object(oid)
    assert e.value.response.status_code == 404
    assert oid not in ids_of(coll.get_manifest(id=oid))
    # Deleting again is a 404.
    r = requests.delete(coll.url + "objects/%s/" % oid, headers={"Accept": TAXII},
                        auth=("usa", PASSWORD))
    assert r.status_code == 404


def test_stix2_sink_and_source_round_trip(node):
    coll = node.collection()
    sink = TAXIICollectionSink(coll)
    malware = stix2.Malware(name="interop malware", is_family=False, object_marking_refs=[GREEN])
    ind = stix2.Indicator(name="interop ioc", pattern="[domain-name:value = 'example.org']",
                          pattern_type="stix", object_marking_refs=[GREEN])
    rel = stix2.Relationship(ind, "indicates", malware, object_marking_refs=[GREEN])
    sink.add([malware, ind, rel])  # stix2 posts a bundle
    sink.add(stix2.Bundle(malware.new_version(name="interop malware v2"), allow_custom=False))
    source = TAXIICollectionSource(node.collection())
    got = source.get(malware.id)
    assert got.name == "interop malware v2"
    assert len(source.all_versions(malware.id)) == 2
    assert source.get(new_id("malware")) is None
    hits = source.query([Filter("type", "=", "relationship")])
    assert rel.id in [h.id for h in hits]
    assert [h.id for h in source.relationships(malware)] == [rel.id]
    # A CompositeDataSource / Environment over the TAXII source.
    env = stix2.Environment(source=source)
    assert env.get(ind.id).pattern == ind.pattern


def test_as_pages_thousands(node_factory):
    node = node_factory()
    coll = node.collection()
    objs = [indicator(created=ts(i)) for i in range(5000)]
    for i in range(0, 5000, 1000):
        node.add(objs[i:i + 1000])
    want = {o["id"] for o in objs}
    for per_request in (1000, 333, 1001, 7):
        if per_request == 7:
            # A few pages of an odd size, not the whole collection.
            seen, pages = [], 0
            for env in as_pages(coll.get_objects, per_request=7):
                seen += ids_of(env)
                pages += 1
                if pages == 20:
                    break
            assert len(seen) == 140 and len(set(seen)) == 140
            continue
        seen, added = [], []
        for env in as_pages(coll.get_manifest, per_request=per_request):
            recs = env.get("objects", [])
            assert len(recs) <= min(per_request, 1000)
            seen += [m["id"] for m in recs]
            added += [m["date_added"] for m in recs]
        assert len(seen) == 5000, (per_request, len(seen))
        assert set(seen) == want
        assert added == sorted(added)
    seen = []
    for env in as_pages(coll.get_objects, per_request=1000, type="indicator"):
        seen += ids_of(env)
    assert len(seen) == 5000 and set(seen) == want


def test_next_token_survives_restart(node_factory):
    node = node_factory()
    objs = [indicator(created=ts(i)) for i in range(300)]
    node.add(objs)
    url = node.coll_url + "objects/"
    first = node.get(url, params={"limit": 100}).json()
    assert first["more"] and first.get("next")
    node.restart()
    seen = ids_of(first)
    token = first["next"]
    while token:
        page = node.get(url, params={"limit": 100, "next": token})
        assert page.status_code == 200, page.text
        env = page.json()
        seen += ids_of(env)
        token = env.get("next") if env["more"] else None
    assert len(seen) == 300 and set(seen) == {o["id"] for o in objs}
    # And the data itself survived.
    assert node.get(node.coll_url + "objects/%s/" % objs[0]["id"]).status_code == 200
