// Writes a STIX bundle of N synthetic incidents (each with its location) for the performance
// measurement: `node bundle.mjs N out.json`. Seeded, so every run draws the same map.
import fs from "node:fs";

const [n = "30000", out = "bundle.json"] = process.argv.slice(2);
const N = Number(n);
const EXT = "extension-definition--447704c2-c7f8-4c08-993a-83a938df3ee7";
const TOWNS = [["Deir ez-Zor", 35.336, 40.141, "SY-DY"], ["Raqqa", 35.95, 39.009, "SY-RA"], ["Mosul", 36.34, 43.13, "IQ-NI"],
  ["Ramadi", 33.425, 43.299, "IQ-AN"], ["Tikrit", 34.607, 43.679, "IQ-SD"], ["Tadmur", 34.56, 38.267, "SY-HI"],
  ["Baghdad", 33.315, 44.366, "IQ-BG"], ["Aleppo", 36.202, 37.159, "SY-HL"], ["Kirkuk", 35.468, 44.392, "IQ-KI"],
  ["Al Bukamal", 34.453, 40.918, "SY-DY"], ["Fallujah", 33.349, 43.784, "IQ-AN"], ["Baqubah", 33.746, 44.643, "IQ-DI"]];
const KINDS = [["Battles", "Armed clash"], ["Explosions/Remote violence", "Remote explosive/landmine/IED"],
  ["Explosions/Remote violence", "Suicide bomb"], ["Violence against civilians", "Attack"],
  ["Strategic developments", "Arrests"], ["Protests", "Peaceful protest"]];
let seed = 20141;
const rnd = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
const hex = (k, w) => k.toString(16).padStart(w, "0");
const uuid = (tag, i) => `${hex(tag, 8)}-${hex(i >>> 16, 4)}-4${hex(i & 0xfff, 3)}-8${hex((i >>> 12) & 0xf, 3)}-${hex(i, 12)}`;
const day = (d) => new Date(Date.UTC(2014, 0, 1) + d * 86400000).toISOString().slice(0, 10);
const objects = [];
for (let i = 0; i < N; i++) {
  const [town, lat, lon, admin1] = TOWNS[Math.floor(rnd() * TOWNS.length)];
  const [et, st] = KINDS[Math.floor(rnd() * rnd() * KINDS.length)];
  const d = Math.floor(rnd() * 4380);
  const created = `${day(d)}T12:00:00.000Z`;
  const loc = { type: "location", spec_version: "2.1", id: `location--${uuid(0x10c, i)}`, created, modified: created,
    name: town, latitude: +(lat + (rnd() - 0.5) * 0.6).toFixed(4), longitude: +(lon + (rnd() - 0.5) * 0.6).toFixed(4),
    country: admin1.slice(0, 2), administrative_area: admin1 };
  const month = rnd() < 0.08;
  const time = month ? { start: `${day(d).slice(0, 8)}01`, end: day(d), precision: "month" } : { end: day(d), precision: "day" };
  if (month && time.start > time.end) time.start = time.end;
  const inc = { type: "incident", spec_version: "2.1", id: `incident--${uuid(0x1c1, i)}`, created, modified: created,
    name: `SYNTHETIC ${st} near ${town} (${day(d)})`, labels: ["synthetic"],
    extensions: { [EXT]: { extension_type: "property-extension", event_type: et, sub_event_type: st, time,
      place: { location_refs: [loc.id], precision: rnd() < 0.15 ? 2 : 1, admin1 },
      fatalities: { best: Math.floor(rnd() * rnd() * 25) },
      sources: [{ name: "Synthetic desk", reliability: "ABCD"[i % 4], credibility: 1 + (i % 4) }] } } };
  objects.push(loc, inc);
}
fs.writeFileSync(out, JSON.stringify({ type: "bundle", id: `bundle--${uuid(0xb0, N)}`, objects }));
