"""MISP and ACLED-style CSV through a real node: `tandem import --format misp`, then
`tandem export --format misp` loaded by PyMISP's `MISPEvent.load` without an error or warning and
compared field by field with the original; the STIX the imports made passes stix2-validator; CSV
rows come back field by field; and
an ACLED-style CSV export of the demo data set reads back through `csv`.

The MISP fixture (crates/interop/fixtures/misp_event.json) was written for Tandem's tests from the
MISP core format's shapes.
"""

import csv
import json
import logging
import subprocess
import warnings

from pymisp import MISPEvent

from conftest import REPO, demo_export_binary, tandem_binary, write_config
from test_cli_and_validator import stix_validate

FIXTURE = REPO / "crates" / "interop" / "fixtures" / "misp_event.json"
MAPPING = 'community = ["USA", "IRQ"]\n\n[sharing_groups]\n"7" = ["IRQ"]\n'


def run(*args):
    p = subprocess.run([tandem_binary(), *map(str, args)], capture_output=True, text=True,
                       timeout=300)
    return p


def load_quietly(event, caplog):
    """MISPEvent.load, failing on any warning PyMISP logs or raises."""
    caplog.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with caplog.at_level(logging.WARNING):
            e = MISPEvent()
            e.load(json.dumps(event))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    return e


def fields(e):
    """What the round trip must keep, per attribute uuid and object uuid."""
    attrs = {}
    for a in e.attributes + [a for o in e.objects for a in o.attributes]:
        attrs[a.uuid] = (a.type, a.category, str(a.value), bool(a.to_ids), getattr(a, "comment", None) or "",
                         bool(getattr(a, "deleted", False)),
                         getattr(a, "object_relation", None) or "")
    return {
        "event": (e.uuid, e.info, str(e.date), int(e.distribution), int(e.threat_level_id),
                  int(e.analysis)),
        "tags": sorted(t.name for t in e.tags),
        "attributes": attrs,
        "objects": sorted((o.uuid, o.name) for o in e.objects),
    }


def test_misp_round_trip_loads_in_pymisp_and_keeps_its_fields(tmp_path, caplog):
    config = write_config(tmp_path / "node")
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(MAPPING)
    p = run("import", "--quiet", "--format", "misp", "--misp-mapping", mapping, "--config", config,
            FIXTURE)
    assert p.returncode == 0, p.stdout + p.stderr
    out = tmp_path / "events.json"
    p = run("export", "--format", "misp", "--misp-mapping", mapping, "--config", config,
            "--output", out)
    assert p.returncode == 0, p.stdout + p.stderr
    events = json.loads(out.read_text())["response"]
    assert len(events) == 1
    exported = load_quietly(events[0], caplog)
    original = load_quietly(json.loads(FIXTURE.read_text()), caplog)
    want, got = fields(original), fields(exported)
    # Galaxy clusters come back as their tags (MISP re-attaches the galaxy from the tag).
    want["tags"] = sorted(want["tags"] + [c.tag_name for g in original.galaxies
                                          for c in g.clusters])
    # The geolocation object is rebuilt from the STIX location: its attributes get new uuids.
    geo = lambda f: sorted(v for v in f["attributes"].values() if v[6] in
                           ("latitude", "longitude", "city", "countrycode"))
    assert geo(want) == geo(got)
    for f in (want, got):
        f["attributes"] = {k: v for k, v in f["attributes"].items()
                           if v[6] not in ("latitude", "longitude", "city", "countrycode")}
    # An incident with Tandem's extension would carry it as one more attribute: none here.
    assert not [v for v in got["attributes"].values() if v[4] == "tandem:incident-extension"]
    differences = [(k, want[k], got[k]) for k in want if want[k] != got[k]]
    assert not differences, differences

    # What the import stored is valid STIX 2.1 for stix2-validator.
    bundle = tmp_path / "bundle.json"
    p = run("export", "--config", config, "--output", bundle)
    assert p.returncode == 0, p.stderr
    errors, _ = stix_validate(bundle)
    assert not errors, errors


def test_unmapped_distribution_is_refused(tmp_path):
    config = write_config(tmp_path / "node")
    p = run("import", "--quiet", "--format", "misp", "--dry-run", "--config", config, FIXTURE)
    assert p.returncode == 2, p.stdout + p.stderr
    assert "refused rather than widened" in p.stdout, p.stdout


def test_demo_incidents_export_as_acled_csv(tmp_path):
    out = tmp_path / "demo"
    subprocess.run([demo_export_binary(), str(out), "50", "7"], check=True, capture_output=True,
                   timeout=300)
    config = write_config(tmp_path / "node")
    files = [out / "definitions.json", out / "seed-facts.json", out / "synthetic.json"]
    p = run("import", "--quiet", "--config", config, *files)
    assert p.returncode == 0, p.stdout + p.stderr
    rows_path = tmp_path / "incidents.csv"
    p = run("export", "--format", "csv", "--config", config, "--output", rows_path)
    assert p.returncode == 0, p.stderr
    with rows_path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows, "no incidents exported"
    for row in rows:
        assert row["event_type"] and row["sub_event_type"] and row["timestamp"].isdigit(), row
    # The report says what the CSV could not hold (the demo's markings at least).
    assert "object_marking_refs" in p.stderr, p.stderr


CSV_ROWS = """event_id_cnty,event_date,time_precision,event_type,sub_event_type,actor1,inter1,actor2,inter2,civilian_targeting,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,source_scale,notes,fatalities,tags,timestamp
SYR1001,2025-11-12,1,Explosions/Remote violence,Remote explosive/landmine/IED,Islamic State (Syria),Rebel group,Civilians (Syria),Civilians,Civilian targeting,Deir ez-Zor,Al Mayadin,Thiban,Thiban,35.0142,40.5628,1,SOHR; Deir Ezzor 24,Subnational,"An IED, planted on a road, hit a car.",2,,1763000000
IRQ2001,2025-10-08,2,Strategic developments,Arrests,Iraqi security forces,State forces,,,,Nineveh,Mosul,,Mosul,36.335,43.1189,2,Shafaq News,National,Five suspects arrested.,0,,1762000000
"""


def test_csv_rows_become_valid_stix_and_come_back(tmp_path):
    config = write_config(tmp_path / "node")
    rows = tmp_path / "rows.csv"
    rows.write_text(CSV_ROWS)
    p = run("import", "--quiet", "--format", "csv", "--config", config, rows)
    assert p.returncode == 0 and "stored: 4" in p.stdout, p.stdout + p.stderr
    bundle = tmp_path / "bundle.json"
    assert run("export", "--config", config, "--output", bundle).returncode == 0
    errors, _ = stix_validate(bundle)
    assert not errors, errors
    out = tmp_path / "out.csv"
    assert run("export", "--format", "csv", "--config", config, "--output", out).returncode == 0
    with rows.open(newline="") as a, out.open(newline="") as b:
        want = sorted(csv.DictReader(a), key=lambda r: r["event_id_cnty"])
        got = sorted(csv.DictReader(b), key=lambda r: r["event_id_cnty"])
    differences = [(w["event_id_cnty"], k, w[k], g[k]) for w, g in zip(want, got) for k in w
                   if w[k] != g[k]]
    assert len(want) == len(got) and not differences, differences
