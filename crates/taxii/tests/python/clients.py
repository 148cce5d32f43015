"""Drives a running Tandem TAXII server with the real Python clients.

Usage: clients.py BASE_URL USER PASSWORD COLLECTION_ID
Checks taxii2-client 2.3.0 (discovery, collections, add_objects with status polling, paging with
as_pages, get_object, versions, manifest, delete) and stix2's TAXIICollectionSink/Source.
Exits non-zero on the first failure.
"""

import sys
import uuid

from taxii2client.v21 import Server, Collection, as_pages
import stix2
from stix2 import TAXIICollectionSink, TAXIICollectionSource, Filter

GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"


def indicator(n, modified="2025-01-01T00:00:00.000Z"):
    return {
        "type": "indicator", "spec_version": "2.1",
        "id": "indicator--%s" % uuid.UUID(int=n, version=4),
        "created": "2025-01-01T00:00:00.000Z", "modified": modified,
        "name": "indicator %d" % n, "pattern": "[ipv4-addr:value = '10.0.0.1']",
        "pattern_type": "stix", "valid_from": "2025-01-01T00:00:00Z",
        "object_marking_refs": [GREEN],
    }


def main():
    base, user, password, coll_id = sys.argv[1:5]
    server = Server(base + "/taxii2/", user=user, password=password)
    assert server.title, "discovery title"
    root = server.default
    assert root is not None, "default api root"
    assert "application/taxii+json;version=2.1" in root.versions
    colls = {c.id: c for c in root.collections}
    coll = colls[coll_id]
    assert coll.can_read and coll.can_write

    # add_objects posts, then polls .../status/<id> (no trailing slash) until complete.
    objs = [indicator(n) for n in range(1, 251)]
    status = coll.add_objects({"objects": objs})
    assert status.status == "complete", status.status
    assert status.success_count == 250, status.success_count
    assert status.failure_count == 0
    again = root.get_status(status.id)
    assert again.success_count == 250

    # Paging: as_pages must terminate and see each object once.
    seen = []
    for envelope in as_pages(coll.get_objects, per_request=100):
        seen.extend(o["id"] for o in envelope.get("objects", []))
    assert len(seen) == 250 and len(set(seen)) == 250, len(seen)
    seen = []
    for envelope in as_pages(coll.get_manifest, per_request=70):
        seen.extend(o["id"] for o in envelope.get("objects", []))
    assert len(set(seen)) == 250, len(seen)

    one = objs[0]["id"]
    env = coll.get_object(one)
    assert env["objects"][0]["id"] == one
    coll.add_objects({"objects": [indicator(1, "2025-02-01T00:00:00.000Z")]})
    versions = coll.object_versions(one)
    assert len(versions["versions"]) == 2, versions
    env = coll.get_objects(type="indicator", version="all", id=one)
    assert len(env["objects"]) == 2
    empty = coll.get_objects(added_after="2099-01-01T00:00:00Z")
    assert empty.get("objects", []) == [] and not empty.get("more")

    # stix2 sink (posts a bundle) and source.
    sink = TAXIICollectionSink(coll)
    malware = stix2.Malware(name="tandem test malware", is_family=False, object_marking_refs=[GREEN])
    sink.add(malware)
    source = TAXIICollectionSource(Collection(coll.url, user=user, password=password))
    got = source.get(malware.id)
    assert got is not None and got.id == malware.id
    assert source.get("malware--%s" % uuid.uuid4()) is None
    hits = source.query([Filter("type", "=", "malware")])
    assert [h.id for h in hits] == [malware.id], hits
    assert len(source.all_versions(one)) == 2

    coll.delete_object(one)
    try:
        coll.get_object(one)
        raise AssertionError("deleted object still served")
    except Exception as e:  # requests.HTTPError
        assert getattr(getattr(e, "response", None), "status_code", None) == 404, e

    print("python clients: ok")


if __name__ == "__main__":
    main()
