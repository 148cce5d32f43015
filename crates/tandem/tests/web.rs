//! The web UI's Rust side through the real binary, over HTTP.
//!
//! Sessions: a login sets an `HttpOnly; SameSite=Strict` cookie that works on every route; a
//! wrong password is 401 and audited; repeated failures lock the name out (429, `Retry-After`);
//! a change authenticated by the cookie needs the CSRF header (403 without or with a wrong one);
//! logout ends the session server side; a suspended member's session stops working.
//!
//! Leaks: a hostile member writes first (marking-definitions under the ids the others use,
//! releasing to everyone; forged copies of their incidents), then members write incidents with
//! random markings and granular redactions. For every viewer, every `/ui/api/*` data endpoint is
//! compared with an oracle: what the TAXII API (`Store::list`) releases to that viewer. The
//! incident list and pages equal the viewer's TAXII copies; a hidden id answers exactly what an
//! absent one does; "who can see this" and the releasability preview equal the members whose
//! users actually receive the object (a member holding its own claim on the id is served that
//! claim instead: "who can see this" names it still, since the caller may not know of that claim).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{Value, json};
use tandem_model::incident::INCIDENT_EXTENSION_ID;
use tandem_policy::marking::RELEASABILITY_EXTENSION_ID;

const PASSWORD: &str = "web-test-password";

struct Node {
    _proc: Proc,
    port: u16,
    config: std::path::PathBuf,
    http: Client,
}

impl Node {
    fn start(dir: &std::path::Path, port: u16, toml: &NodeToml) -> Node {
        let config = dir.join("node.toml");
        toml.write(&config).unwrap();
        let child = Command::new(bin())
            .args(["serve", "--config", p(&config)])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let proc = Proc(child);
        wait_until("the node listens", || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        // No cookie store: each test holds its cookies itself.
        let http = Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
        Node { _proc: proc, port, config, http }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn login(&self, user: &str, password: &str) -> Response {
        self.http
            .post(self.url("/ui/api/login"))
            .header("Content-Type", "application/json")
            .body(json!({"username": user, "password": password}).to_string())
            .send()
            .unwrap()
    }

    /// A logged-in browser: (cookie header, csrf token).
    fn session(&self, user: &str) -> Session {
        let r = self.login(user, PASSWORD);
        assert_eq!(r.status(), 200, "login of {user}");
        let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
        let body: Value = r.json().unwrap();
        Session { cookie, csrf: body["csrf"].as_str().unwrap().to_string() }
    }

    fn post_objects(&self, user: &str, objects: &[Value]) {
        let r = self
            .http
            .post(self.url("/api/collections/intel/objects/"))
            .basic_auth(user, Some(PASSWORD))
            .header("Accept", TAXII)
            .header("Content-Type", TAXII)
            .body(json!({ "objects": objects }).to_string())
            .send()
            .unwrap();
        assert_eq!(r.status(), 202, "post by {user}");
        let body: Value = r.json().unwrap();
        assert_eq!(body["failure_count"], 0, "post by {user}: {body}");
    }

    /// The viewer's TAXII copies of every incident (latest versions), by id: the oracle.
    fn taxii_incidents(&self, user: &str) -> BTreeMap<String, Value> {
        self.taxii_copies(user, "incident")
    }

    /// The viewer's TAXII copies of every object of type `ty` (latest versions), by id.
    fn taxii_copies(&self, user: &str, ty: &str) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        let mut next: Option<String> = None;
        loop {
            let mut url = self.url(&format!("/api/collections/intel/objects/?match[type]={ty}&limit=1000"));
            if let Some(n) = &next {
                url.push_str(&format!("&next={n}"));
            }
            let r = self.http.get(url).basic_auth(user, Some(PASSWORD)).header("Accept", TAXII).send().unwrap();
            assert_eq!(r.status(), 200);
            let page: Value = r.json().unwrap();
            for o in page["objects"].as_array().into_iter().flatten() {
                out.insert(o["id"].as_str().unwrap().to_string(), o.clone());
            }
            match page["next"].as_str() {
                Some(n) if page["more"] == true => next = Some(n.to_string()),
                _ => return out,
            }
        }
    }
}

struct Session {
    cookie: String,
    csrf: String,
}

impl Session {
    fn on(&self, b: RequestBuilder) -> RequestBuilder {
        b.header("Cookie", &self.cookie)
    }
}

fn get(node: &Node, s: &Session, path: &str) -> (u16, Value) {
    let r = s.on(node.http.get(node.url(path))).send().unwrap();
    (r.status().as_u16(), r.json().unwrap_or(Value::Null))
}

fn audit_lines(node: &Node) -> Vec<Value> {
    let out = tandem(&["audit", "show", "--config", p(&node.config), "--limit", "10000"]);
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

#[test]
fn sessions_cookies_csrf_lockout_and_suspension() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("authority.key");
    let out = tandem(&["roster", "keygen", "--out", p(&key)]);
    assert!(out.status.success(), "{}", text(&out));
    let authority = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let port = free_port();
    let toml = NodeToml::new("USA", port)
        .authority(&authority)
        .member("USA")
        .member("IRQ")
        .user("analyst", "USA", PASSWORD)
        .user("victim", "USA", PASSWORD)
        .user("iraqi", "IRQ", PASSWORD);
    let node = Node::start(dir.path(), port, &toml);

    // The assets need no login and carry the strict headers.
    let r = node.http.get(node.url("/ui/")).send().unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert_eq!(r.headers()["content-security-policy"], tandem_web::CSP);
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    assert_eq!(r.headers()["cache-control"], "no-cache");

    // A wrong password: 401, a TAXII error body, no Basic challenge (no browser dialog).
    let r = node.login("analyst", "wrong");
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("www-authenticate").is_none());
    assert!(r.headers().get("set-cookie").is_none());
    assert_eq!(r.json::<Value>().unwrap()["http_status"], "401");

    // The right one: an HttpOnly, SameSite=Strict cookie of 256 random bits, and the session.
    let r = node.login("analyst", PASSWORD);
    assert_eq!(r.status(), 200);
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(part), "{set}");
    }
    assert!(!set.contains("Secure"), "plain http here: {set}");
    let body: Value = r.json().unwrap();
    assert_eq!((body["user"].as_str(), body["member"].as_str()), (Some("analyst"), Some("USA")));
    let s = Session {
        cookie: set.split(';').next().unwrap().to_string(),
        csrf: body["csrf"].as_str().unwrap().to_string(),
    };
    assert!(s.cookie.len() > "tandem_session=".len() + 40, "{}", s.cookie);
    assert_eq!(get(&node, &s, "/ui/api/session"), (200, body.clone()));
    // The cookie works on TAXII routes too.
    let r = s.on(node.http.get(node.url("/api/collections/"))).header("Accept", TAXII).send().unwrap();
    assert_eq!(r.status(), 200);

    // A change with the cookie: 403 without the CSRF header or with a wrong one, 202 with it.
    let envelope = json!({"objects": [reported_indicator(&[GREEN], "[ipv4-addr:value = '198.51.100.9']")]}).to_string();
    let post = |csrf: Option<&str>| {
        let mut b = s
            .on(node.http.post(node.url("/api/collections/intel/objects/")))
            .header("Accept", TAXII)
            .header("Content-Type", TAXII)
            .body(envelope.clone());
        if let Some(c) = csrf {
            b = b.header("X-Tandem-CSRF", c);
        }
        b.send().unwrap().status().as_u16()
    };
    assert_eq!(post(None), 403);
    assert_eq!(post(Some("not-the-token")), 403);
    assert_eq!(post(Some(&s.csrf)), 202);

    // Logout needs the token too, then the session is gone on the server: the old cookie no
    // longer works anywhere.
    let logout = |csrf: Option<&str>| {
        let mut b = s.on(node.http.post(node.url("/ui/api/logout")));
        if let Some(c) = csrf {
            b = b.header("X-Tandem-CSRF", c);
        }
        b.send().unwrap()
    };
    assert_eq!(logout(None).status(), 403);
    let r = logout(Some(&s.csrf));
    assert_eq!(r.status(), 204);
    assert!(r.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(get(&node, &s, "/ui/api/session").0, 401);
    assert_eq!(get(&node, &s, "/ui/api/incidents").0, 401);
    let r = s.on(node.http.get(node.url("/api/collections/"))).header("Accept", TAXII).send().unwrap();
    assert_eq!(r.status(), 401);

    // Lock-out: after the free failures for a name from one address, 429 with Retry-After,
    // even with the right password.
    for _ in 0..tandem_taxii::auth::FREE_FAILURES {
        assert_eq!(node.login("victim", "guess").status(), 401);
    }
    let r = node.login("victim", PASSWORD);
    assert_eq!(r.status(), 429);
    assert!(r.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);

    // A suspended member's session stops working at once.
    let iraqi = node.session("iraqi");
    assert_eq!(get(&node, &iraqi, "/ui/api/incidents").0, 200);
    let out = tandem(&["roster", "sign", "--key", p(&key), "--seq", "1", "suspend", "--member", "IRQ"]);
    assert!(out.status.success(), "{}", text(&out));
    let r = node
        .http
        .post(node.url("/api/tandem/roster/changes/"))
        .basic_auth("analyst", Some(PASSWORD))
        .header("Content-Type", "application/json")
        .body(out.stdout)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    for path in ["/ui/api/incidents", "/ui/api/session", "/ui/api/roster"] {
        assert_eq!(get(&node, &iraqi, path).0, 403, "{path}");
    }

    // Audited: the login, the failures (with the name presented), the logout and the refusals.
    wait_until("the audit log has the session's story", || {
        let lines = audit_lines(&node);
        let has = |action: &str, user: &str, status: u64| {
            lines.iter().any(|e| e["action"] == action && e["actor_user"] == user && e["status"] == status)
        };
        has("ui.login", "analyst", 200)
            && has("auth.failure", "analyst", 401)
            && has("auth.failure", "victim", 429)
            && has("ui.logout", "analyst", 403)
            && has("ui.logout", "analyst", 204)
            && has("objects.write", "analyst", 403)
            && has("ui.incidents", "iraqi", 403)
    });
}

// ---- the leak oracle ----

const MEMBERS: [&str; 5] = ["USA", "IRQ", "SYR", "GBR", "JOR"];
/// Members whose users write genuine reports; SYR is the hostile one; JOR is suspended.
const WRITERS: [&str; 2] = ["USA", "IRQ"];

fn user_of(member: &str) -> String {
    member.to_lowercase()
}

fn rel_id(name: &str) -> String {
    format!("marking-definition--{}", uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, format!("web-{name}").as_bytes()))
}

fn rel_marking(name: &str, rel_to: &[&str], classification: Option<&str>) -> Value {
    let mut ext = json!({"extension_type": "property-extension", "rel_to": rel_to});
    if let Some(c) = classification {
        ext["classification"] = json!(c);
    }
    json!({"type": "marking-definition", "spec_version": "2.1", "id": rel_id(name),
        "created": "2025-11-01T00:00:00.000Z", "name": format!("REL TO {}", rel_to.join(", ")),
        "extensions": {RELEASABILITY_EXTENSION_ID: ext}})
}

/// The genuine markings every writer defines (each its own copy, under the same ids).
fn genuine_markings() -> Vec<Value> {
    vec![
        rel_marking("irq", &["IRQ"], None),
        rel_marking("lvnt", &["LVNT"], None),
        rel_marking("fvey", &["FVEY"], None),
        rel_marking("secret", &["USA", "IRQ"], Some("SECRET")),
    ]
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    }
}

fn marking_choices() -> Vec<Vec<String>> {
    let g = GREEN.to_string();
    vec![
        vec![g.clone()],
        vec![AMBER.to_string()],
        vec![rel_id("irq")],
        vec![rel_id("lvnt")],
        vec![rel_id("fvey")],
        vec![rel_id("secret")],
        vec![g, rel_id("lvnt")],
        vec![rel_id("fvey"), rel_id("lvnt")],
        vec![rel_id("undefined")],
    ]
}

fn uuid_n(kind: &str, n: u64) -> String {
    format!("{kind}--00000000-0000-4000-8000-{n:012}")
}

fn incident(rng: &mut Rng, n: u64, modified: &str, name: &str, markings: &[String]) -> Value {
    let day = 20_000 + rng.below(10) as i64;
    let date = |d: i64| tandem_model::incident::Date::from_days(d).to_string();
    let best = rng.below(6);
    let ext = json!({
        "extension_type": "property-extension", "event_type": "Battles", "sub_event_type": "Armed clash",
        "time": {"start": date(day - rng.below(3) as i64), "end": date(day), "precision": "days"},
        "place": {"location_refs": [uuid_n("location", rng.below(6))], "precision": 1, "admin1": "SY-DY"},
        "actors": [{"actor_ref": uuid_n("intrusion-set", rng.below(3)), "role": "perpetrator"}],
        "fatalities": {"best": best, "low": best, "high": best + rng.below(3)},
        "sources": [{"name": "wire", "reliability": "B", "credibility": 2}],
    });
    let mut o = json!({"type": "incident", "spec_version": "2.1", "id": uuid_n("incident", n),
        "created": "2025-01-01T00:00:00.000Z", "modified": modified, "name": name,
        "object_marking_refs": markings, "extensions": {INCIDENT_EXTENSION_ID: ext}});
    let choices = marking_choices();
    let mut granular = Vec::new();
    for f in ["fatalities", "time", "place.location_refs", "actors"] {
        if rng.below(4) == 0 {
            let m = &choices[2 + rng.below(4) as usize][0];
            granular.push(json!({"selectors": [format!("extensions.{INCIDENT_EXTENSION_ID}.{f}")], "marking_ref": m}));
        }
    }
    if !granular.is_empty() {
        o["granular_markings"] = json!(granular);
    }
    o
}

fn context(rng: &mut Rng) -> Vec<Value> {
    let mut out = Vec::new();
    for n in 0..6 {
        let m = if rng.below(3) == 0 { AMBER } else { GREEN };
        out.push(json!({"type": "location", "spec_version": "2.1", "id": uuid_n("location", n),
            "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z", "name": format!("place {n}"),
            "latitude": 35.0 + n as f64 / 10.0, "longitude": 40.0, "object_marking_refs": [m]}));
    }
    for n in 0..3 {
        out.push(json!({"type": "intrusion-set", "spec_version": "2.1", "id": uuid_n("intrusion-set", n),
            "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
            "name": format!("cell {n}"), "object_marking_refs": [GREEN]}));
    }
    out
}

fn codes(v: &Value) -> BTreeSet<String> {
    v["members"].as_array().unwrap().iter().map(|m| m["code"].as_str().unwrap().to_string()).collect()
}

#[test]
fn every_ui_endpoint_releases_exactly_what_list_releases() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut toml = NodeToml::new("USA", port)
        .member("USA")
        .member("IRQ")
        .member("SYR")
        .member("GBR")
        .member_with("JOR", "status = \"suspended\"")
        .group("LVNT", "Levant", &["IRQ", "SYR", "JOR"])
        .group("FVEY", "Five Eyes", &["USA", "GBR"]);
    for m in MEMBERS {
        toml = toml.user_with(&user_of(m), m, PASSWORD, "clearance = \"SECRET\"");
    }
    toml = toml.user_with("usa-low", "USA", PASSWORD, "clearance = \"UNCLASSIFIED\"");
    let node = Node::start(dir.path(), port, &toml);
    let mut rng = Rng(0x5eed_0013);

    // The hostile member first: every marking id the others use, released to everyone, and
    // forged copies of their incidents under their ids (its own markings).
    let everyone: Vec<&str> = MEMBERS.to_vec();
    let squats: Vec<Value> =
        ["irq", "lvnt", "fvey", "secret", "undefined"].iter().map(|n| rel_marking(n, &everyone, None)).collect();
    node.post_objects("syr", &squats);
    let choices = marking_choices();
    let mut forged = Vec::new();
    for n in (0..30).step_by(3) {
        forged.push(incident(&mut rng, n, "2025-06-01T00:00:00.000Z", &format!("forged {n}"), &[AMBER.to_string()]));
    }
    for n in 100..104 {
        forged.push(incident(&mut rng, n, "2025-01-01T00:00:00.000Z", &format!("hostile {n}"), &[GREEN.to_string()]));
    }
    node.post_objects("syr", &forged);

    // The genuine writers: their markings, context, and incidents, some in two versions.
    for (w, writer) in WRITERS.iter().enumerate() {
        let mut objects = genuine_markings();
        objects.extend(context(&mut rng));
        for n in (w as u64 * 15)..(w as u64 * 15 + 15) {
            let m = &choices[rng.below(choices.len() as u64) as usize];
            objects.push(incident(&mut rng, n, "2025-01-01T00:00:00.000Z", &format!("{writer} {n} v1"), m));
            if rng.below(3) == 0 {
                objects.push(incident(&mut rng, n, "2025-02-01T00:00:00.000Z", &format!("{writer} {n} v2"), m));
            }
        }
        node.post_objects(&user_of(writer), &objects);
    }

    // Confirmed merges (`duplicate-of`): the writers' with random markings, some revoked since,
    // and the hostile member's, released to everyone, naming the others' incidents.
    let merge = |n: u64, dup: u64, of: u64, modified: &str, markings: &[String], revoked: bool| {
        let mut r = json!({"type": "relationship", "spec_version": "2.1", "id": uuid_n("relationship", n),
            "created": "2025-04-01T00:00:00.000Z", "modified": modified, "relationship_type": "duplicate-of",
            "source_ref": uuid_n("incident", dup), "target_ref": uuid_n("incident", of), "object_marking_refs": markings});
        if revoked {
            r["revoked"] = json!(true);
        }
        r
    };
    for (w, writer) in WRITERS.iter().enumerate() {
        let mut objects = Vec::new();
        for k in 0..8 {
            let n = w as u64 * 100 + k;
            let m = &choices[rng.below(choices.len() as u64) as usize];
            let (dup, of) = (rng.below(30), rng.below(30));
            objects.push(merge(n, dup, of, "2025-04-01T00:00:00.000Z", m, false));
            if k % 4 == 3 {
                objects.push(merge(n, dup, of, "2025-04-02T00:00:00.000Z", m, true));
            }
        }
        node.post_objects(&user_of(writer), &objects);
    }
    node.post_objects("syr", &[merge(900, 0, 15, "2025-04-01T00:00:00.000Z", &[GREEN.to_string()], false)]);

    // The oracle: every viewer's TAXII copies.
    let oracle: BTreeMap<&str, BTreeMap<String, Value>> =
        MEMBERS.iter().map(|m| (*m, node.taxii_incidents(&user_of(m)))).collect();
    assert!(oracle["JOR"].is_empty(), "a suspended member reads nothing");
    assert!(oracle.values().map(BTreeMap::len).sum::<usize>() > 40, "the data set is not trivial");
    let all_ids: BTreeSet<String> = (0..110).map(|n| uuid_n("incident", n)).collect();
    // Who receives which claim (an id and the name of the copy).
    let receives = |id: &str, name: &Value| -> BTreeSet<String> {
        oracle
            .iter()
            .filter(|(_, o)| o.get(id).is_some_and(|c| &c["name"] == name))
            .map(|(m, _)| m.to_string())
            .collect()
    };

    // Every active member's cleared user, and a USA user cleared to UNCLASSIFIED only (what a
    // classification withholds from it is missing from its copies too).
    let low: BTreeMap<String, Value> = node.taxii_incidents("usa-low");
    assert!(low.len() < oracle["USA"].len(), "the classification withholds something");
    let viewers: Vec<(String, &str, &BTreeMap<String, Value>)> = MEMBERS
        .iter()
        .filter(|m| **m != "JOR")
        .map(|m| (user_of(m), *m, &oracle[m]))
        .chain([("usa-low".to_string(), "USA", &low)])
        .collect();
    let mut correlations = 0;
    let mut merges = 0;
    for (user, m, mine) in viewers {
        let m = &m;
        let s = node.session(&user);
        let locations = node.taxii_copies(&user, "location");
        let relationships = node.taxii_copies(&user, "relationship");

        // The list: exactly the viewer's incidents, at their latest versions, withheld
        // fields null.
        let (status, list) = get(&node, &s, "/ui/api/incidents");
        assert_eq!(status, 200);
        let listed: BTreeMap<String, Value> = list["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| (i["id"].as_str().unwrap().to_string(), i.clone()))
            .collect();
        assert_eq!(listed.keys().collect::<Vec<_>>(), mine.keys().collect::<Vec<_>>(), "{m}: the list");
        assert_eq!(list["count"], mine.len());
        for (id, i) in &listed {
            let copy = &mine[id];
            assert_eq!(i["version"], copy["modified"], "{m} {id}");
            assert_eq!(i["title"], copy["name"], "{m} {id}");
            let ext = &copy["extensions"][INCIDENT_EXTENSION_ID];
            assert_eq!(i["fatalities"], ext["fatalities"]["best"].clone(), "{m} {id}: null when withheld");
            assert_eq!(i["t1"], ext["time"]["end"].clone(), "{m} {id}");
            // A point only from a location the viewer itself receives.
            let point = ext["place"]["location_refs"][0].as_str().and_then(|l| locations.get(l));
            assert_eq!(i["lat"], point.map_or(Value::Null, |l| l["latitude"].clone()), "{m} {id}: the point");
            let cells: Value =
                if ext.get("actors").is_some() { json!([ext["actors"][0]["actor_ref"]]) } else { json!([]) };
            assert_eq!(i["cells"], cells, "{m} {id}");
        }

        // The same entries by id (what the open map fetches when the live stream names an
        // incident): exactly the listed ones among the ids asked, hidden and absent ids alike
        // left out, whatever else the chunk holds.
        let asked: Vec<String> = all_ids.iter().cloned().chain([uuid_n("incident", 999_999)]).collect();
        for chunk in asked.chunks(37) {
            let (status, got) = get(&node, &s, &format!("/ui/api/incidents?ids={}", chunk.join(",")));
            assert_eq!(status, 200, "{m}: by ids");
            let got: BTreeMap<String, Value> = got["incidents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| (i["id"].as_str().unwrap().to_string(), i.clone()))
                .collect();
            let expected: BTreeMap<String, Value> =
                listed.iter().filter(|(id, _)| chunk.contains(id)).map(|(k, v)| (k.clone(), v.clone())).collect();
            assert_eq!(got, expected, "{m}: by ids equals the list's entries");
        }
        let (status, _) = get(&node, &s, "/ui/api/incidents?ids=location--00000000-0000-4000-8000-000000000001");
        assert_eq!(status, 400, "{m}: only incident ids");

        // The pages: the viewer's copy; hidden is missing (same answer as absent).
        let (absent_status, absent) =
            get(&node, &s, &uuid_n("incident", 999_999).replace("incident--", "/ui/api/incidents/incident--"));
        assert_eq!(absent_status, 404);
        for id in &all_ids {
            let (status, page) = get(&node, &s, &format!("/ui/api/incidents/{id}"));
            match mine.get(id) {
                None => assert_eq!((status, &page), (404, &absent), "{m} {id}: hidden answers as absent"),
                Some(copy) => {
                    assert_eq!(status, 200, "{m} {id}");
                    assert_eq!(&page["object"], copy, "{m} {id}: the viewer's own copy");
                    assert_eq!(page["versions"].as_array().unwrap().last(), Some(copy));
                    // Exactly the members served this claim, except a member that holds a
                    // claim of its own on the id: it is served its own, which the caller cannot
                    // know of (it may be hidden from it), so policy's answer stands for it.
                    let who = codes(&page["who_can_see"]);
                    let served = receives(id, &copy["name"]);
                    let own_claim = |x: &String| oracle[x.as_str()].get(id).is_some_and(|c| c["name"] != copy["name"]);
                    assert!(who.is_superset(&served), "{m} {id}: who can see it: {who:?} {served:?}");
                    assert!(who.difference(&served).all(own_claim), "{m} {id}: who can see it: {who:?} {served:?}");
                    // Correlated reports: only incidents the viewer itself receives.
                    for c in page["correlated"].as_array().unwrap() {
                        let other = c["id"].as_str().unwrap();
                        assert!(mine.contains_key(other) && other != id, "{m} {id}: correlated {c}");
                        correlations += 1;
                    }
                    // Merges: exactly the viewer's unrevoked duplicate-of copies naming it.
                    let names = |r: &Value| r["source_ref"] == json!(id) || r["target_ref"] == json!(id);
                    let expected: BTreeSet<(String, String, String)> = relationships
                        .values()
                        .filter(|r| r["relationship_type"] == "duplicate-of" && r["revoked"] != true && names(r))
                        .map(|r| (r["id"].to_string(), r["source_ref"].to_string(), r["target_ref"].to_string()))
                        .collect();
                    let got: BTreeSet<(String, String, String)> = page["merges"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| (r["id"].to_string(), r["duplicate"].to_string(), r["of"].to_string()))
                        .collect();
                    assert_eq!(got, expected, "{m} {id}: merges");
                    merges += got.len();
                    for c in page["cells"].as_array().unwrap() {
                        assert!(c["name"].as_str().unwrap().starts_with("cell "), "{m} {id}");
                    }
                }
            }
        }

        // Cells: the intrusion-sets it sees, counted over its incidents.
        let (status, cells) = get(&node, &s, "/ui/api/cells");
        assert_eq!(status, 200);
        for c in cells.as_array().unwrap() {
            let n = mine
                .values()
                .filter(|i| i["extensions"][INCIDENT_EXTENSION_ID]["actors"][0]["actor_ref"] == c["id"])
                .count();
            assert_eq!(c["incidents"], n, "{m}: {c}");
        }
        // The roster and the coalition (no peers configured here: none listed, to anyone).
        let (status, roster) = get(&node, &s, "/ui/api/roster");
        assert_eq!((status, roster["me"].as_str()), (200, Some(*m)));
        assert_eq!(roster["members"].as_array().unwrap().len(), MEMBERS.len());
        let (status, coalition) = get(&node, &s, "/ui/api/coalition");
        assert_eq!((status, coalition["node"]["member"].as_str()), (200, Some("USA")));
        assert!(coalition["peers"].as_array().is_some_and(Vec::is_empty), "{m}: {coalition}");
        // Markings: TLP and its own member's releasability markings only.
        let (status, markings) = get(&node, &s, "/ui/api/markings");
        assert_eq!(status, 200);
        let rel = markings.as_array().unwrap().iter().filter(|k| k["kind"] == "releasability").count();
        assert_eq!(
            rel,
            if WRITERS.contains(m) {
                4
            } else if *m == "SYR" {
                5
            } else {
                0
            },
            "{m}"
        );
    }

    assert!(correlations > 0, "some reports correlate");
    assert!(merges > 0, "some pages list merges");

    // The preview: exactly the members that then receive a report with those markings.
    let s = node.session("usa");
    for (k, markings) in choices.iter().enumerate() {
        let r = s
            .on(node.http.post(node.url("/ui/api/releasability/preview")))
            .header("X-Tandem-CSRF", &s.csrf)
            .header("Content-Type", "application/json")
            .body(json!({"object_marking_refs": markings}).to_string())
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        let preview = codes(&r.json::<Value>().unwrap());
        let n = 500 + k as u64;
        let name = format!("previewed {k}");
        let mut o = incident(&mut rng, n, "2025-03-01T00:00:00.000Z", &name, markings);
        o.as_object_mut().unwrap().remove("granular_markings");
        node.post_objects("usa", &[o]);
        let got: BTreeSet<String> = MEMBERS
            .iter()
            .filter(|m| {
                node.taxii_incidents(&user_of(m)).get(&uuid_n("incident", n)).is_some_and(|c| c["name"] == name)
            })
            .map(|m| m.to_string())
            .collect();
        assert_eq!(preview, got, "markings {markings:?}");
    }
}
