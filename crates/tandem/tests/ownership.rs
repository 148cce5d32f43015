//! Ownership and integrity across members (issue 9), against real `tandem serve` processes over
//! HTTP, each attack done as a hostile member (JOR) would with only its normal user accounts:
//! squatting another member's marking (on one node, and on the path between two nodes), claiming
//! another member's id before its version replicates (two and three nodes), taking over a
//! deleted id, probing hidden data with POST outcomes, reading above one's clearance, and paging
//! tokens. Every node here signs its own member's writes, as a deployed node does.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine;
use common::*;
use serde_json::{Value, json};

const PASSWORD: &str = "ownership-test";
const MEMBERS: [&str; 5] = ["USA", "IRQ", "SYR", "JOR", "GBR"];
const REL_EXT: &str = "extension-definition--7d672761-f8ff-4c5e-9337-dc547165f993";

/// One node: its member, port, config and (once started) process.
struct Node {
    member: &'static str,
    port: u16,
    config: PathBuf,
    _dir: tempfile::TempDir,
    proc: Option<Proc>,
}

impl Node {
    /// A node of `member` with a user `<member>-analyst` (SECRET) for every coalition member, a
    /// `<member>-unclassified` user of its own member, and a peer account `sync-<member>` for
    /// every other member; `keys` are the members' node keys (empty on the first write).
    fn new(member: &'static str) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("node.toml");
        let node = Node { member, port: free_port(), config, _dir: dir, proc: None };
        node.write(&[], &[]);
        node
    }

    fn write(&self, keys: &[(&str, String)], peers: &[&Node]) {
        let mut t = NodeToml::new(self.member, self.port);
        for code in MEMBERS {
            let public_key = match keys.iter().find(|(c, _)| *c == code) {
                Some((_, key)) => format!("public_key = \"{key}\""),
                None => String::new(),
            };
            t = t.member_with(code, &public_key);
        }
        for code in MEMBERS {
            let lower = code.to_lowercase();
            t = t.user_with(&format!("{lower}-analyst"), code, PASSWORD, r#"clearance = "SECRET""#);
            if code != self.member {
                t = t.user_with(&format!("sync-{code}"), code, PASSWORD, "clearance = \"SECRET\"\nroles = [\"peer\"]");
            }
        }
        t = t.user(&format!("{}-unclassified", self.member.to_lowercase()), self.member, PASSWORD);
        for peer in peers {
            let url = format!("http://127.0.0.1:{}/taxii2/", peer.port);
            t = t.peer(peer.member, &url, &format!("sync-{}", self.member), PASSWORD);
        }
        t.write(&self.config).unwrap();
    }

    fn key(&self) -> String {
        let out = Command::new(bin()).args(["key", "show", "--config"]).arg(&self.config).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    fn start(&mut self) {
        let child = Command::new(bin())
            .args(["serve", "--config"])
            .arg(&self.config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.proc = Some(Proc(child));
        wait_until(&format!("{} serves", self.member), || {
            self.get("usa-analyst", "/taxii2/").is_ok_and(|(status, _, _)| status == 200)
        });
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// GET as `user`: (status, `X-TAXII-Date-Added-Last`, body).
    fn get(&self, user: &str, path: &str) -> reqwest::Result<(u16, Option<String>, Value)> {
        let r = reqwest::blocking::Client::new()
            .get(self.url(path))
            .basic_auth(user, Some(PASSWORD))
            .header("Accept", TAXII)
            .send()?;
        let status = r.status().as_u16();
        let last = r.headers().get("x-taxii-date-added-last").and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = r.json().unwrap_or(Value::Null);
        Ok((status, last, body))
    }

    /// The versions of `id` that `user` receives (empty when the object is hidden or missing).
    fn object(&self, user: &str, id: &str) -> Vec<Value> {
        let (status, _, body) =
            self.get(user, &format!("/api/collections/intel/objects/{id}/?match[version]=all")).unwrap();
        match status {
            200 => body["objects"].as_array().cloned().unwrap_or_default(),
            404 => Vec::new(),
            other => panic!("GET {id} as {user}: {other} {body}"),
        }
    }

    /// POSTs `objects` as `user` and returns the status resource (202 expected).
    fn post(&self, user: &str, objects: Vec<Value>) -> Value {
        let r = reqwest::blocking::Client::new()
            .post(self.url("/api/collections/intel/objects/"))
            .basic_auth(user, Some(PASSWORD))
            .header("Accept", TAXII)
            .header("Content-Type", TAXII)
            .body(json!({ "objects": objects }).to_string())
            .send()
            .unwrap();
        assert_eq!(r.status(), 202, "POST as {user}");
        r.json().unwrap()
    }

    fn post_ok(&self, user: &str, objects: Vec<Value>) {
        let n = objects.len();
        let status = self.post(user, objects);
        assert_eq!(status["success_count"], n, "{status}");
    }

    fn delete(&self, user: &str, id: &str) -> u16 {
        reqwest::blocking::Client::new()
            .delete(self.url(&format!("/api/collections/intel/objects/{id}/")))
            .basic_auth(user, Some(PASSWORD))
            .header("Accept", TAXII)
            .send()
            .unwrap()
            .status()
            .as_u16()
    }

    /// Adds a peer to the running node (it follows within seconds).
    fn peer_add(&self, peer: &Node) {
        let out = Command::new(bin())
            .args(["peer", "add", "--config"])
            .arg(&self.config)
            .args([peer.member, "--url", &peer.url("/taxii2/")])
            .args(["--username", &format!("sync-{}", self.member), "--password", PASSWORD])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    /// The sum of `rejected` over this node's peers, as its own analyst reads it, with the
    /// whole status for the message.
    fn rejected(&self) -> (u64, Value) {
        let user = format!("{}-analyst", self.member.to_lowercase());
        let (status, _, body) = self.get(&user, "/api/tandem/peers/").unwrap();
        assert_eq!(status, 200, "{body}");
        let n = body["peers"].as_array().map(|p| p.iter().filter_map(|s| s["rejected"].as_u64()).sum());
        (n.unwrap_or_default(), body)
    }
}

/// Starts `nodes` with every node's key in every roster, each pulling from `peers[i]`.
fn coalition(nodes: &mut [Node], peers: &[&[usize]]) {
    let keys: Vec<(&str, String)> = nodes.iter().map(|n| (n.member, n.key())).collect();
    for (i, n) in nodes.iter().enumerate() {
        let ps: Vec<&Node> = peers[i].iter().map(|p| &nodes[*p]).collect();
        n.write(&keys, &ps);
    }
    for n in nodes.iter_mut() {
        n.start();
    }
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn indicator(markings: &[&str], pattern: &str) -> Value {
    reported_indicator(markings, pattern)
}

fn rel_marking(id: &str, rel_to: &[&str], classification: Option<&str>) -> Value {
    let mut ext = json!({"extension_type": "property-extension", "rel_to": rel_to});
    if let Some(c) = classification {
        ext["classification"] = json!(c);
    }
    json!({"type": "marking-definition", "spec_version": "2.1", "id": id,
        "created": "2025-11-01T00:00:00.000Z", "name": format!("REL TO {}", rel_to.join(", ")),
        "extensions": {REL_EXT: ext}})
}

fn marking_id() -> String {
    format!("marking-definition--{}", uuid())
}

fn ipv4(value: &str, marking: &str) -> Value {
    // The id is derived from the value (STIX deterministic ids), so every member reporting the
    // address reports the same id.
    let id = format!("ipv4-addr--{}", uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, value.as_bytes()));
    json!({"type": "ipv4-addr", "spec_version": "2.1", "id": id, "value": value, "object_marking_refs": [marking]})
}

#[test]
fn a_marking_defined_by_another_member_releases_nothing() {
    let mut usa = Node::new("USA");
    coalition(std::slice::from_mut(&mut usa), &[&[]]);
    let m = marking_id();
    let object = indicator(&[&m], "[ipv4-addr:value = '10.0.0.1']");
    let id = object["id"].as_str().unwrap().to_string();
    usa.post_ok("usa-analyst", vec![object]);
    assert!(usa.object("jor-analyst", &id).is_empty(), "an unknown marking keeps it with USA");

    // JOR defines USA's marking id first, releasing to itself: nothing changes.
    usa.post_ok("jor-analyst", vec![rel_marking(&m, &["USA", "JOR"], None)]);
    assert!(usa.object("jor-analyst", &id).is_empty(), "a squatted marking widened USA's object");
    assert!(usa.object("irq-analyst", &id).is_empty());

    // USA's own definition is what counts, and JOR's squat does not block it.
    usa.post_ok("usa-analyst", vec![rel_marking(&m, &["USA", "IRQ"], None)]);
    assert_eq!(usa.object("irq-analyst", &id).len(), 1);
    assert!(usa.object("jor-analyst", &id).is_empty());
    // A third member is served USA's (signed) definition, JOR its own.
    let seen = |user: &str| usa.object(user, &m)[0]["extensions"][REL_EXT]["rel_to"].clone();
    assert_eq!(seen("irq-analyst"), json!(["USA", "IRQ"]));
    assert_eq!(seen("jor-analyst"), json!(["USA", "JOR"]));
}

/// IRQ - USA - SYR: JOR reads IRQ's marking and indicator on IRQ's node and posts copies under
/// their ids to USA's node before USA replicates from IRQ; USA's peering is added only then.
#[test]
fn squats_on_the_path_neither_leak_nor_forge_nor_block() {
    let mut nodes = [Node::new("IRQ"), Node::new("USA"), Node::new("SYR")];
    coalition(&mut nodes, &[&[], &[], &[1]]);
    let [irq, usa, syr] = &nodes;

    let m = marking_id();
    let secret = indicator(&[&m], "[ipv4-addr:value = '10.1.1.1']");
    let public = indicator(&[GREEN], "[ipv4-addr:value = '10.2.2.2']");
    let (secret_id, public_id) = (secret["id"].as_str().unwrap(), public["id"].as_str().unwrap());
    irq.post_ok("irq-analyst", vec![rel_marking(&m, &["IRQ", "USA"], None), secret.clone(), public.clone()]);

    // What JOR can see on IRQ's node, it copies to USA's node first.
    assert_eq!(irq.object("jor-analyst", &m).len(), 1, "marking-definitions are visible to all");
    assert_eq!(irq.object("jor-analyst", public_id).len(), 1);
    let mut squat = irq.object("jor-analyst", &m)[0].clone();
    squat["extensions"][REL_EXT]["rel_to"] = json!(["IRQ", "USA", "JOR"]);
    let mut forged = public.clone();
    forged["pattern"] = json!("[ipv4-addr:value = '203.0.113.66']");
    usa.post_ok("jor-analyst", vec![squat, forged]);

    usa.peer_add(irq);
    wait_until("IRQ's REL TO IRQ, USA indicator reaches USA", || usa.object("usa-analyst", secret_id).len() == 1);
    wait_until("IRQ's public indicator reaches SYR through USA", || syr.object("syr-analyst", public_id).len() == 1);

    // No leak: the squatted marking does not release IRQ's indicator to JOR, on any node.
    assert!(usa.object("jor-analyst", secret_id).is_empty(), "JOR read IRQ's REL TO IRQ, USA intelligence");
    assert!(syr.object("jor-analyst", secret_id).is_empty());
    assert!(syr.object("syr-analyst", secret_id).is_empty());
    // No forgery: USA's and SYR's analysts read IRQ's content under IRQ's id.
    for node in [usa, syr] {
        let user = format!("{}-analyst", node.member.to_lowercase());
        let got = node.object(&user, public_id);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0]["pattern"], public["pattern"], "{} served JOR's forged content", node.member);
    }
    // Nothing genuine was refused anywhere.
    for node in [usa, syr] {
        let (rejected, status) = node.rejected();
        assert_eq!(rejected, 0, "{} refused genuine versions: {status}", node.member);
    }
    // JOR's own copy stays its own, on the node it posted to.
    assert_eq!(usa.object("jor-analyst", public_id)[0]["pattern"], "[ipv4-addr:value = '203.0.113.66']");
}

#[test]
fn members_report_one_observable_and_deleted_ids_keep_their_owner() {
    let mut usa = Node::new("USA");
    coalition(std::slice::from_mut(&mut usa), &[&[]]);

    // Two members report one address, each with its own releasability.
    let jor_copy = ipv4("198.51.100.9", AMBER);
    let id = jor_copy["id"].as_str().unwrap().to_string();
    usa.post_ok("jor-analyst", vec![jor_copy]);
    let status = usa.post("usa-analyst", vec![ipv4("198.51.100.9", GREEN)]);
    assert_eq!(status["success_count"], 1, "{status}");
    assert_eq!(usa.object("usa-analyst", &id)[0]["object_marking_refs"], json!([GREEN]));
    assert_eq!(usa.object("jor-analyst", &id)[0]["object_marking_refs"], json!([AMBER]));
    assert_eq!(usa.object("irq-analyst", &id)[0]["object_marking_refs"], json!([GREEN]));

    // USA deletes an indicator; JOR posts a later version under its id: nobody is served JOR's
    // version as USA's object's successor.
    let object = indicator(&[GREEN], "[ipv4-addr:value = '10.3.3.3']");
    let oid = object["id"].as_str().unwrap().to_string();
    usa.post_ok("usa-analyst", vec![object.clone()]);
    assert_eq!(usa.delete("usa-analyst", &oid), 200);
    let mut successor = object.clone();
    successor["modified"] = json!("2025-12-01T00:00:00.000Z");
    successor["pattern"] = json!("[ipv4-addr:value = '203.0.113.1']");
    usa.post_ok("jor-analyst", vec![successor]);
    assert!(usa.object("irq-analyst", &oid).is_empty(), "IRQ was served JOR's takeover of USA's id");
    assert!(usa.object("usa-analyst", &oid).is_empty());
    assert_eq!(usa.object("jor-analyst", &oid).len(), 1);
    // USA cannot store the deleted version again; JOR cannot delete USA's objects.
    let again = usa.post("usa-analyst", vec![object]);
    assert_eq!(again["failure_count"], 1, "{again}");
    let other = indicator(&[GREEN], "[ipv4-addr:value = '10.4.4.4']");
    let other_id = other["id"].as_str().unwrap().to_string();
    usa.post_ok("usa-analyst", vec![other]);
    assert_eq!(usa.delete("jor-analyst", &other_id), 403);
    assert_eq!(usa.object("irq-analyst", &other_id).len(), 1);

    // The conflict is listed for the operator, and the audit log recorded who made it; two
    // members reporting one observable is no conflict.
    let out = Command::new(bin()).args(["doctor", "--config"]).arg(&usa.config).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&oid) && !text.contains(&id), "{text}");
    assert!(!out.status.success(), "doctor reports contests as problems");
    wait_until("the audit log records both contests", || {
        let out = Command::new(bin())
            .args(["audit", "show", "--limit", "1000", "--config"])
            .arg(&usa.config)
            .output()
            .unwrap();
        let entries: Vec<Value> =
            String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        let contested = |who: &str, object: &str| {
            entries.iter().any(|e| {
                e["action"] == "claims.contested"
                    && e["actor_member"] == who
                    && e["detail"]["ids"].as_array().is_some_and(|ids| ids.iter().any(|i| i == object))
            })
        };
        contested("JOR", &oid) && !contested("USA", &id)
    });
}

/// The same probes posted by JOR to a node holding USA's hidden data and to an empty node get
/// the same answers, word for word.
#[test]
fn post_outcomes_say_nothing_about_hidden_data() {
    let mut nodes = [Node::new("USA"), Node::new("IRQ")];
    coalition(&mut nodes, &[&[], &[]]);
    let [holder, empty] = &nodes;

    let hidden = indicator(&[AMBER], "[ipv4-addr:value = '10.9.9.9']");
    let deleted = indicator(&[AMBER], "[ipv4-addr:value = '10.8.8.8']");
    let observable = ipv4("192.0.2.77", AMBER);
    holder.post_ok("usa-analyst", vec![hidden.clone(), deleted.clone(), observable.clone()]);
    assert_eq!(holder.delete("usa-analyst", deleted["id"].as_str().unwrap()), 200);

    let mut later = hidden.clone();
    later["modified"] = json!("2025-12-01T00:00:00.000Z");
    let mut different = hidden.clone();
    different["name"] = json!("a guess");
    let mut other_value = observable.clone();
    other_value["object_marking_refs"] = json!([GREEN]);
    let probes = [vec![later], vec![different], vec![hidden.clone()], vec![other_value], vec![deleted.clone()]];
    for probe in probes {
        let answer = |node: &Node| {
            let mut s = node.post("jor-analyst", probe.clone());
            for key in ["id", "request_timestamp"] {
                s.as_object_mut().unwrap().remove(key);
            }
            // An observable's version is the position the node gave it, on each node's own clock.
            for entry in s["successes"].as_array_mut().into_iter().flatten() {
                if entry["id"].as_str().is_some_and(|id| id.starts_with("ipv4-addr--")) {
                    entry.as_object_mut().unwrap().remove("version");
                }
            }
            s
        };
        assert_eq!(answer(holder), answer(empty), "a POST revealed hidden data: {probe:?}");
    }
    // USA's hidden versions are untouched and still hidden from JOR (which reads its own).
    assert_eq!(holder.object("usa-analyst", hidden["id"].as_str().unwrap())[0]["name"], "Checkpoint VBIED");
    assert_eq!(holder.object("irq-analyst", hidden["id"].as_str().unwrap()).len(), 0);
}

#[test]
fn clearance_dominates_for_the_originators_own_users() {
    let mut usa = Node::new("USA");
    coalition(std::slice::from_mut(&mut usa), &[&[]]);
    let m = marking_id();
    let object = indicator(&[&m], "[ipv4-addr:value = '10.5.5.5']");
    let id = object["id"].as_str().unwrap().to_string();
    usa.post_ok("usa-analyst", vec![rel_marking(&m, &["USA"], Some("SECRET")), object]);
    assert_eq!(usa.object("usa-analyst", &id).len(), 1, "cleared users keep seeing it whole");
    assert!(usa.object("usa-unclassified", &id).is_empty(), "an UNCLASSIFIED user read a SECRET object");
}

/// A version withheld from JOR after the pre-filter (its copy would lack a required property)
/// sits between two it receives: pages of one never end on it and no token points at it.
#[test]
fn next_tokens_point_only_at_delivered_versions() {
    let mut usa = Node::new("USA");
    coalition(std::slice::from_mut(&mut usa), &[&[]]);
    let usa_only = marking_id();
    usa.post_ok("usa-analyst", vec![rel_marking(&usa_only, &["USA"], None)]);
    let first = indicator(&[GREEN], "[ipv4-addr:value = '10.6.6.1']");
    let mut withheld = indicator(&[GREEN], "[ipv4-addr:value = '10.6.6.2']");
    withheld["granular_markings"] = json!([{"selectors": ["pattern"], "marking_ref": usa_only}]);
    let last = indicator(&[GREEN], "[ipv4-addr:value = '10.6.6.3']");
    for o in [&first, &withheld, &last] {
        usa.post_ok("usa-analyst", vec![o.clone()]);
    }
    let added = |id: &str| {
        let (_, last, _) = usa.get("usa-analyst", &format!("/api/collections/intel/objects/{id}/")).unwrap();
        last.unwrap()
    };
    let withheld_at = micros(&added(withheld["id"].as_str().unwrap()));

    let mut next: Option<String> = None;
    let mut ids = Vec::new();
    loop {
        let mut path = "/api/collections/intel/objects/?match[type]=indicator&limit=1".to_string();
        if let Some(n) = &next {
            path.push_str(&format!("&next={n}"));
        }
        let (status, last, body) = usa.get("jor-analyst", &path).unwrap();
        assert_eq!(status, 200);
        let objects = body["objects"].as_array().cloned().unwrap_or_default();
        ids.extend(objects.iter().map(|o| o["id"].as_str().unwrap().to_string()));
        match body["next"].as_str() {
            Some(token) => {
                assert_eq!(objects.len(), 1, "a page with more to come carried nothing");
                let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).unwrap();
                let at: i64 = String::from_utf8(bytes).unwrap().trim_start_matches("v1:").parse().unwrap();
                assert_eq!(at, micros(&last.unwrap()), "the token is the page's last delivered version");
                assert_ne!(at, withheld_at, "the token points at the withheld version");
                next = Some(token.to_string());
            }
            None => break,
        }
    }
    assert_eq!(ids, vec![first["id"].as_str().unwrap().to_string(), last["id"].as_str().unwrap().to_string()]);
}

/// `YYYY-MM-DDTHH:MM:SS.ssssssZ` to microseconds since the epoch (TAXII timestamps here).
fn micros(taxii: &str) -> i64 {
    tandem_model::Timestamp::parse(taxii).unwrap().as_micros()
}
