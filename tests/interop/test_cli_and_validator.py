"""`tandem import`, `tandem export`, `tandem validate`, and stix2-validator on what export writes.

stix2-validator runs with `--version 2.1` and `-s crates/model/schemas` (Tandem's extension
schemas): every exported file must have ZERO errors (warnings are allowed and printed).
"""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from stix2validator import ValidationOptions, validate_file

from conftest import (AMBER, GREEN, REPO, demo_export_binary, indicator, new_id, rel_marking,
                      start_node, tandem_binary, write_config, ts)

SCHEMAS = str(REPO / "crates" / "model" / "schemas")


def run(*args):
    return subprocess.run([tandem_binary(), *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def summary(out):
    m = re.search(r"accepted: (\d+)\s+duplicate: (\d+)\s+rejected: (\d+)", out)
    assert m, out
    return tuple(int(x) for x in m.groups())


def stix_validate(path):
    """stix2-validator 2.1 with Tandem's schemas: returns (errors, warnings) as strings."""
    opts = ValidationOptions(version="2.1", schema_dir=SCHEMAS)
    res = validate_file(str(path), opts)
    errors, warnings = [], []
    for o in res.object_results:
        errors += ["%s: %s" % (o.object_id, e) for e in o.errors]
        warnings += ["%s: %s" % (o.object_id, w) for w in o.warnings]
    if res.fatal:
        errors.append("fatal: %s" % res.fatal)
    assert res.is_valid == (not errors)
    return errors, warnings


def bundle(objects):
    return {"type": "bundle", "id": "bundle--%s" % new_id("x").split("--")[1], "objects": objects}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo data set (definitions, seed facts, synthetic incidents with Tandem's extensions)."""
    out = tmp_path_factory.mktemp("demo")
    subprocess.run([demo_export_binary(), str(out), "100", "7"], check=True, capture_output=True,
                   timeout=300)
    files = [out / "definitions.json", out / "seed-facts.json", out / "synthetic.json"]
    total = sum(len(json.loads(f.read_text())["objects"]) for f in files)
    return files, total


def test_import_export_validate_demo(tmp_path, demo):
    files, total = demo
    config = write_config(tmp_path / "n")
    r = run("import", "--config", config, "--quiet", *files)
    assert r.returncode == 0, r.stdout + r.stderr
    accepted, dup, rejected = summary(r.stdout)
    assert rejected == 0 and accepted + dup == total and accepted > 0
    # Importing again: everything is a duplicate.
    r = run("import", "--config", config, "--quiet", *files)
    assert r.returncode == 0 and summary(r.stdout) == (0, total, 0), r.stdout
    out = tmp_path / "export.json"
    r = run("export", "--config", config, "-o", out)
    assert r.returncode == 0, r.stderr
    exported = json.loads(out.read_text())
    assert exported["type"] == "bundle" and len(exported["objects"]) > 0
    assert any("extensions" in o for o in exported["objects"] if o["type"] == "incident")
    errors, warnings = stix_validate(out)
    assert errors == [], "\n".join(errors[:20])
    # A node started on that data directory serves the same objects over TAXII.
    node = start_node(tmp_path / "n")
    try:
        from taxii2client.v21 import as_pages
        n = sum(len(e.get("objects", [])) for e in as_pages(node.collection().get_objects,
                                                             per_request=1000))
        assert n == len(exported["objects"])
    finally:
        node.stop()


def test_export_of_served_objects_validates(tmp_path):
    """Objects posted over TAXII (markings, granular markings, versions) export valid STIX."""
    node = start_node(tmp_path / "n")
    try:
        m = rel_marking(["IRQ", "LVNT"], "SECRET")
        objs = [m, indicator(markings=[GREEN]), indicator(markings=[AMBER]),
                indicator(markings=[m["id"]], description="d",
                          granular_markings=[{"selectors": ["description"], "marking_ref": AMBER}]),
                {"type": "malware", "spec_version": "2.1", "id": new_id("malware"),
                 "created": ts(), "modified": ts(), "name": "m", "is_family": False},
                {"type": "ipv4-addr", "spec_version": "2.1",
                 "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "198.51.100.3"}]
        node.add(objs)
        v2 = dict(objs[1], modified=ts(60), name="v2")
        node.add([v2])
    finally:
        node.stop()
    out = tmp_path / "all.json"
    r = run("export", "--config", node.config, "--all-versions", "-o", out)
    assert r.returncode == 0, r.stderr
    exported = json.loads(out.read_text())["objects"]
    assert len(exported) == len(objs) + 1
    errors, _ = stix_validate(out)
    assert errors == [], errors
    # The validator's command line in the venv agrees (exit code 0), with Tandem's schemas.
    cli = Path(sys.executable).parent / "stix2_validator"
    if cli.exists():
        p = subprocess.run([str(cli), "--version", "2.1", "-s", SCHEMAS, "-q", str(out)],
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stdout[-3000:]


def test_export_filters(tmp_path):
    config = write_config(tmp_path / "n")
    first = tmp_path / "first.json"
    second = tmp_path / "second.json"
    a = [indicator() for _ in range(3)]
    malware = {"type": "malware", "spec_version": "2.1", "id": new_id("malware"),
               "created": ts(), "modified": ts(), "name": "m", "is_family": False,
               "object_marking_refs": [GREEN]}
    first.write_text(json.dumps(bundle(a + [malware])))
    b = [indicator() for _ in range(2)]
    second.write_text(json.dumps(bundle(b)))
    assert run("import", "--config", config, "--quiet", first).returncode == 0
    time.sleep(0.05)
    between = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".%06dZ" % (
        int((time.time() % 1) * 1e6))
    time.sleep(0.05)
    assert run("import", "--config", config, "--quiet", second).returncode == 0

    def export(*args):
        out = tmp_path / "out.json"
        r = run("export", "--config", config, "-o", out, *args)
        assert r.returncode == 0, r.stderr
        return {o["id"] for o in json.loads(out.read_text())["objects"]}

    assert export() == {o["id"] for o in a + b + [malware]}
    assert export("--type", "malware") == {malware["id"]}
    assert export("--type", "malware", "--type", "indicator") == {o["id"] for o in a + b +
                                                                  [malware]}
    assert export("--added-after", between) == {o["id"] for o in b}
    assert export("--added-after", between, "--type", "malware") == set()
    assert export("--added-after", "2999-01-01T00:00:00Z") == set()
    r = run("export", "--config", config, "--added-after", "yesterday")
    assert r.returncode != 0 and "added-after" in r.stderr
    # Export to standard output is a bundle too.
    r = run("export", "--config", config, "--type", "malware")
    assert json.loads(r.stdout)["objects"][0]["id"] == malware["id"]


def test_import_rejections(tmp_path):
    config = write_config(tmp_path / "n")
    good = indicator()
    no_pattern = indicator()
    del no_pattern["pattern"]
    bad_ts = indicator(created="2025-02-30T00:00:00Z")
    f = tmp_path / "mixed.json"
    f.write_text(json.dumps(bundle([good, no_pattern, bad_ts, {"type": "indicator"}])))
    r = run("import", "--config", config, "--quiet", f)
    assert r.returncode == 2, r.stdout + r.stderr
    assert summary(r.stdout) == (1, 0, 3)
    assert no_pattern["id"] in r.stdout and "pattern" in r.stdout
    assert re.search(r"rejected \dx: .+ \(e\.g\. ", r.stdout)
    # A conflicting version (same id and modified, other content) is rejected.
    conflict = dict(good, name="changed")
    f2 = tmp_path / "conflict.json"
    f2.write_text(json.dumps([conflict]))
    r = run("import", "--config", config, "--quiet", f2)
    assert r.returncode == 2 and summary(r.stdout) == (0, 0, 1), r.stdout
    # A malformed file is an error; what parsed before it is kept.
    ok = indicator()
    f3 = tmp_path / "truncated.json"
    f3.write_text(json.dumps(bundle([ok]))[:-3])
    r = run("import", "--config", config, "--quiet", f3)
    assert r.returncode != 0 and "truncated.json" in r.stderr
    # A directory: every .json file in name order. An envelope works like a bundle.
    d = tmp_path / "dir"
    d.mkdir()
    (d / "a.json").write_text(json.dumps({"objects": [indicator()]}))
    (d / "b.json").write_text(json.dumps(indicator()))
    (d / "notes.txt").write_text("ignored")
    r = run("import", "--config", config, "--quiet", d)
    assert r.returncode == 0 and summary(r.stdout) == (2, 0, 0), r.stdout
    r = run("import", "--config", config, tmp_path / "missing.json")
    assert r.returncode != 0
    r = run("import", "--config", tmp_path / "nope.toml", f)
    assert r.returncode != 0 and "nope.toml" in r.stderr


def test_validate_exit_codes(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(bundle([indicator(), indicator()])))
    r = run("validate", good)
    assert r.returncode == 0, r.stdout
    assert "2 objects: 2 valid, 0 invalid" in r.stdout
    bad_obj = indicator()
    del bad_obj["pattern_type"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(bundle([indicator(), bad_obj])))
    r = run("validate", "--quiet", bad)
    assert r.returncode == 1
    assert "INVALID %s" % bad_obj["id"] in r.stdout and "1 invalid" in r.stdout
    malformed = tmp_path / "malformed.json"
    malformed.write_text("{\"objects\": [")
    r = run("validate", malformed)
    assert r.returncode != 0 and "malformed" in (r.stdout + r.stderr).lower()
    r = run("validate", tmp_path / "missing.json")
    assert r.returncode != 0
    # stix2-validator agrees on the good file.
    errors, _ = stix_validate(good)
    assert errors == []


def test_extension_schemas_are_applied(tmp_path):
    """Negative control: a releasability marking with a bad classification fails stix2-validator
    with Tandem's schemas (so the zero-error results above mean something), and `tandem validate`
    rejects it too."""
    bad = rel_marking(["IRQ"], "TOP-SECRET")
    f = tmp_path / "bad-marking.json"
    f.write_text(json.dumps(bundle([bad])))
    errors, _ = stix_validate(f)
    assert errors, "stix2-validator accepted a bad releasability extension"
    r = run("validate", f)
    assert r.returncode == 1, r.stdout
    good = tmp_path / "good-marking.json"
    good.write_text(json.dumps(bundle([rel_marking(["IRQ", "LVNT"], "SECRET")])))
    assert stix_validate(good)[0] == []
    assert run("validate", good).returncode == 0
