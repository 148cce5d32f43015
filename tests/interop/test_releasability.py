"""Releasability over HTTP: objects posted by USA, read by users of several members.

Members: USA (originator), IRQ and JOR (group LVNT), SYR. Users: usa (SECRET), usa-low, irq
(SECRET), irq-low (UNCLASSIFIED), syr (SECRET), jor (CONFIDENTIAL).
"""

import pytest
import requests
from taxii2client.v21 import as_pages

from conftest import AMBER, GREEN, PASSWORD, TAXII, ids_of, indicator, new_id, rel_marking, ts

READERS = ["usa", "usa-low", "irq", "irq-low", "syr", "jor"]


@pytest.fixture(scope="module")
def world(node):
    m_irq = rel_marking(["IRQ"])
    m_lvnt = rel_marking(["LVNT"])
    m_secret = rel_marking(["IRQ", "SYR"], "SECRET")
    m_conf = rel_marking(["IRQ", "JOR"], "CONFIDENTIAL")
    node.add([m_irq, m_lvnt, m_secret, m_conf])
    objs = {
        "green": indicator(name="green", markings=[GREEN]),
        "amber": indicator(name="amber", markings=[AMBER]),
        "rel_irq": indicator(name="rel irq", markings=[m_irq["id"]]),
        "rel_lvnt": indicator(name="rel lvnt", markings=[m_lvnt["id"]]),
        "secret": indicator(name="secret", markings=[m_secret["id"]]),
        "conf": indicator(name="confidential", markings=[m_conf["id"]]),
        "unmarked": indicator(name="unmarked", markings=()),
        "unknown": indicator(name="unknown marking", markings=[new_id("marking-definition")]),
        "granular": indicator(name="granular", markings=[GREEN], description="USA eyes only",
                              granular_markings=[{"selectors": ["description"],
                                                  "marking_ref": AMBER}]),
        "granular_rel": indicator(name="granular rel", markings=[GREEN],
                                  description="for IRQ too",
                                  granular_markings=[{"selectors": ["description"],
                                                      "marking_ref": m_irq["id"]}]),
    }
    st = node.post(list(objs.values()))
    assert st.status_code == 202 and st.json()["success_count"] == len(objs), st.text
    # Versions: the AMBER object gets a second version, still AMBER; rel_irq a second version.
    amber2 = dict(objs["amber"], modified=ts(30), name="amber v2")
    rel2 = dict(objs["rel_irq"], modified=ts(30), name="rel irq v2")
    node.add([amber2, rel2])
    markings = [m_irq, m_lvnt, m_secret, m_conf]
    return {"objs": objs, "markings": markings}


# Who sees each object (besides USA's own users, who see everything USA originated).
VISIBLE = {
    "green": {"irq", "irq-low", "syr", "jor"},
    "amber": set(),
    "rel_irq": {"irq", "irq-low"},
    "rel_lvnt": {"irq", "irq-low", "jor"},
    "secret": {"irq", "syr"},
    "conf": {"irq", "jor"},
    "unmarked": set(),
    "unknown": set(),
    "granular": {"irq", "irq-low", "syr", "jor"},
    "granular_rel": {"irq", "irq-low", "syr", "jor"},
}


def expected(user):
    if user == "usa":
        return set(VISIBLE)
    if user == "usa-low":
        # The originator's own users too need the clearance: usa-low is UNCLASSIFIED.
        return set(VISIBLE) - {"secret", "conf"}
    return {k for k, who in VISIBLE.items() if user in who}


def names_by_id(world):
    return {o["id"]: k for k, o in world["objs"].items()}


@pytest.mark.parametrize("user", READERS)
def test_objects_listing(node, world, user):
    coll = node.collection(user)
    names = names_by_id(world)
    got = [names[i] for i in ids_of(coll.get_objects(type="indicator")) if i in names]
    assert sorted(got) == sorted(expected(user)), user
    # Markings themselves are visible to every active member: each sees every one USA sees.
    mids = set(ids_of(coll.get_objects(type="marking-definition")))
    assert {m["id"] for m in world["markings"]} <= mids
    assert mids == set(ids_of(node.collection("usa").get_objects(type="marking-definition")))


@pytest.mark.parametrize("user", READERS)
def test_get_object_versions_manifest(node, world, user):
    seen = expected(user)
    for key, obj in world["objs"].items():
        base = node.coll_url + "objects/%s/" % obj["id"]
        r_obj = node.get(base, user=user, params={"match[version]": "all"})
        r_ver = node.get(base + "versions/", user=user)
        r_man = node.get(node.coll_url + "manifest/", user=user,
                         params={"match[id]": obj["id"], "match[version]": "all"})
        if key in seen:
            assert r_obj.status_code == 200, (user, key)
            assert r_ver.status_code == 200, (user, key)
            n = len(r_obj.json()["objects"])
            assert n == len(r_ver.json()["versions"]) == len(r_man.json()["objects"])
            assert n == (2 if key in ("amber", "rel_irq") else 1)
        else:
            assert r_obj.status_code == 404, (user, key, r_obj.text)
            assert r_ver.status_code == 404, (user, key)
            assert r_man.status_code == 200 and "objects" not in r_man.json(), (user, key)


@pytest.mark.parametrize("user", ["irq", "syr", "jor", "irq-low"])
def test_granular_redaction(node, world, user):
    g = world["objs"]["granular"]
    got = node.get(node.coll_url + "objects/%s/" % g["id"], user=user).json()["objects"][0]
    assert "description" not in got
    assert got["name"] == "granular"
    gr = world["objs"]["granular_rel"]
    got = node.get(node.coll_url + "objects/%s/" % gr["id"], user=user).json()["objects"][0]
    if user in ("irq", "irq-low"):
        assert got["description"] == "for IRQ too"
    else:
        assert "description" not in got
    # Filtering on a redacted property never reveals it: the listing carries the same copy.
    listed = [o for o in node.collection(user).get_objects(id=g["id"])["objects"]]
    assert listed == [node.get(node.coll_url + "objects/%s/" % g["id"],
                               user=user).json()["objects"][0]]


def test_originator_sees_granular(node, world):
    g = world["objs"]["granular"]
    got = node.get(node.coll_url + "objects/%s/" % g["id"], user="usa").json()["objects"][0]
    assert got["description"] == "USA eyes only"


@pytest.mark.parametrize("user", READERS)
def test_paging_respects_releasability(node, world, user):
    names = names_by_id(world)
    got = []
    for env in as_pages(node.collection(user).get_objects, per_request=1, type="indicator",
                        version="all"):
        objs = env.get("objects", [])
        assert len(objs) <= 1
        got += [names[o["id"]] for o in objs if o["id"] in names]
    want = sorted([k for k in expected(user)] + [k for k in ("amber", "rel_irq")
                                                 if k in expected(user)])
    assert sorted(got) == want, user


def listing(node, user, limit=1000):
    """Every indicator `user` lists, in feed (date added) order, following `next`."""
    url, params, out = node.coll_url + "objects/", {"limit": limit, "match[type]": "indicator"}, []
    while True:
        env = node.get(url, user=user, params=params).json()
        out += ids_of(env)
        if not env.get("more"):
            return out
        params = dict(params, next=env["next"])


def test_next_token_is_rechecked(node, world):
    """A `next` token issued to USA, replayed by SYR, yields exactly what SYR may see after the
    token's position: a position in the feed, not a grant of what USA saw."""
    url = node.coll_url + "objects/"
    r = node.get(url, user="usa", params={"limit": 1, "match[type]": "indicator"}).json()
    token, got = r["next"], []
    while token:
        page = node.get(url, user="syr", params={"limit": 1, "next": token,
                                                 "match[type]": "indicator"})
        assert page.status_code == 200, page.text
        env = page.json()
        got += ids_of(env)
        token = env.get("next") if env["more"] else None
    after_token = listing(node, "usa")[1:]
    syr_sees = set(listing(node, "syr"))
    assert got == [i for i in after_token if i in syr_sees]
    names = names_by_id(world)
    assert {names[i] for i in got if i in names} == \
        expected("syr") - {names.get(ids_of(r)[0])}


def test_hidden_404_is_identical_to_missing(node, world):
    amber = world["objs"]["amber"]["id"]
    missing = new_id("indicator")
    for suffix in ("", "versions/"):
        a = requests.get(node.coll_url + "objects/%s/%s" % (amber, suffix),
                         headers={"Accept": TAXII}, auth=("syr", PASSWORD))
        m = requests.get(node.coll_url + "objects/%s/%s" % (missing, suffix),
                         headers={"Accept": TAXII}, auth=("syr", PASSWORD))
        assert a.status_code == m.status_code == 404
        assert a.content == m.content
        assert a.headers["Content-Type"] == m.headers["Content-Type"]
        assert a.headers.get("Content-Length") == m.headers.get("Content-Length")
    # DELETE of a hidden object: the same 404 as a missing one, and nothing is deleted.
    a = requests.delete(node.coll_url + "objects/%s/" % amber, headers={"Accept": TAXII},
                        auth=("syr", PASSWORD))
    m = requests.delete(node.coll_url + "objects/%s/" % missing, headers={"Accept": TAXII},
                        auth=("syr", PASSWORD))
    assert a.status_code == m.status_code == 404 and a.content == m.content
    assert node.get(node.coll_url + "objects/%s/" % amber).status_code == 200


def test_other_member_cannot_delete_or_version(node, world):
    green = world["objs"]["green"]
    r = requests.delete(node.coll_url + "objects/%s/" % green["id"], headers={"Accept": TAXII},
                        auth=("irq", PASSWORD))
    # IRQ sees the object, so it is told why (a hidden one answers 404, as if missing).
    assert r.status_code == 403, r.text
    assert r.headers["Content-Type"] == TAXII
    assert r.json() == {"title": "Forbidden", "http_status": "403",
                        "description": "only the originating member may delete"}
    assert node.get(node.coll_url + "objects/%s/" % green["id"]).status_code == 200
    # IRQ cannot re-mark USA's object into a wider audience: what it posts under USA's id is
    # IRQ's own claim (accepted as any write of its own), never a version of USA's object.
    amber = indicator(name="usa amber", markings=[AMBER])
    node.add([amber])
    wider = dict(amber, modified=ts(99), name="irq's wider copy", object_marking_refs=[GREEN])
    st = node.post([wider], user="irq").json()
    assert st["failure_count"] == 0 and st["success_count"] == 1, st
    versions = node.get(node.coll_url + "objects/%s/versions/" % amber["id"]).json()["versions"]
    assert versions == ["2025-01-01T00:00:00.000000Z"], versions
    usa = node.get(node.coll_url + "objects/%s/" % amber["id"]).json()["objects"]
    assert [o["name"] for o in usa] == ["usa amber"]
    # Nothing of USA's AMBER object reaches SYR: it is served IRQ's own claim, IRQ's content.
    syr = node.get(node.coll_url + "objects/%s/" % amber["id"], user="syr").json()["objects"]
    assert [o["name"] for o in syr] == ["irq's wider copy"]


def test_written_by_another_member(node, world):
    """IRQ writes an AMBER object: only IRQ sees it; the originator is the principal's member."""
    obj = indicator(name="irq amber", markings=[AMBER], created_by_ref=new_id("identity"))
    node.add([obj], user="irq")
    assert node.get(node.coll_url + "objects/%s/" % obj["id"], user="irq-low").status_code == 200
    for user in ("usa", "syr", "jor"):
        assert node.get(node.coll_url + "objects/%s/" % obj["id"], user=user).status_code == 404
    # IRQ's own AMBER object is not counted in USA's manifest.
    man = node.get(node.coll_url + "manifest/", user="usa", params={"match[id]": obj["id"]})
    assert "objects" not in man.json()


def test_headers_do_not_leak(node, world):
    """Date-added headers of an empty (all-hidden) result reveal nothing about hidden objects."""
    amber = world["objs"]["amber"]["id"]
    r1 = node.get(node.coll_url + "objects/", user="syr", params={"match[id]": amber})
    r2 = node.get(node.coll_url + "objects/", user="syr",
                  params={"match[id]": new_id("indicator")})
    assert r1.status_code == r2.status_code == 200
    assert r1.content == r2.content
    for h in ("X-TAXII-Date-Added-First", "X-TAXII-Date-Added-Last"):
        assert r1.headers[h] == r2.headers[h]


def test_write_to_a_hidden_id_says_nothing(node, world):
    """SYR posts a version under USA's AMBER object's id, which SYR may not see: the answer is
    the one for an id nobody holds (it used to say "only the originating member may ...")."""
    amber = indicator(name="usa amber v1", markings=[AMBER])
    node.add([amber, dict(amber, modified=ts(30), name="usa amber v2")])
    fresh = dict(amber, id=new_id("indicator"))
    answers = []
    for target in (amber, fresh):
        st = node.post([dict(target, modified=ts(600), name="syr's try")], user="syr").json()
        answers.append((st["status"], st["success_count"], st["failure_count"],
                        [s.get("message") for s in st.get("successes", [])]))
    assert answers[0] == answers[1] == ("complete", 1, 0, [None]), answers
    # USA's versions are unchanged and still hidden from SYR, which reads its own claim.
    versions = node.get(node.coll_url + "objects/%s/versions/" % amber["id"]).json()["versions"]
    assert len(versions) == 2
    syr = node.get(node.coll_url + "objects/%s/" % amber["id"], user="syr", params={"match[version]": "all"})
    assert [o["name"] for o in syr.json()["objects"]] == ["syr's try"]
