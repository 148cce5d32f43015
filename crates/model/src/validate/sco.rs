//! Type-specific rules of the STIX 2.1 cyber-observable objects (SCOs): required properties,
//! value formats of the address types, co-constraints and reference targets.

use super::common::require_specific;
use super::ctx::{Ctx, Target, describe, index, target};
use super::hashes::check_hashes;

const ADDRESS: Target =
    target!("an ipv4-addr, ipv6-addr, mac-addr or domain-name", "ipv4-addr", "ipv6-addr", "mac-addr", "domain-name");
const EMAIL_ADDR: Target = target!("an email-addr", "email-addr");
const ARTIFACT: Target = target!("an artifact", "artifact");
const USER_ACCOUNT: Target = target!("a user-account", "user-account");
const NETWORK_TRAFFIC: Target = target!("a network-traffic", "network-traffic");
const PROCESS: Target = target!("a process", "process");

pub(crate) fn check_sco(cx: &mut Ctx<'_>, ty: &str) {
    if let Some(h) = cx.get("hashes") {
        check_hashes(cx, "hashes", h);
    }
    match ty {
        "artifact" => artifact(cx),
        "autonomous-system" => {
            cx.integer("number", true, None, None);
        }
        "directory" => {
            cx.string("path", true);
            for t in ["ctime", "mtime", "atime"] {
                cx.timestamp(t, false);
            }
            cx.ref_list("contains_refs", false, target!("a file or directory", "file", "directory"));
        }
        "domain-name" => {
            nonempty_value(cx);
            cx.ref_list(
                "resolves_to_refs",
                false,
                target!("an ipv4-addr, ipv6-addr or domain-name", "ipv4-addr", "ipv6-addr", "domain-name"),
            );
        }
        "email-addr" => {
            nonempty_value(cx);
            cx.reference("belongs_to_ref", false, USER_ACCOUNT);
        }
        "email-message" => email_message(cx),
        "file" => {
            cx.any_of(&["hashes", "name"]);
            cx.string("name", false);
            cx.integer("size", false, Some(0), None);
            for t in ["ctime", "mtime", "atime"] {
                cx.timestamp(t, false);
            }
            cx.reference("parent_directory_ref", false, target!("a directory", "directory"));
            cx.reference("content_ref", false, ARTIFACT);
            cx.ref_list("contains_refs", false, Target::SCO);
        }
        "ipv4-addr" | "ipv6-addr" => {
            if let Some(v) = cx.string("value", true)
                && !valid_ip(v, ty == "ipv4-addr")
            {
                let kind = if ty == "ipv4-addr" { "IPv4" } else { "IPv6" };
                cx.err("value", format!("{v:?} is not an {kind} address or CIDR block"));
            }
            cx.ref_list("resolves_to_refs", false, target!("a mac-addr", "mac-addr"));
            cx.ref_list("belongs_to_refs", false, target!("an autonomous-system", "autonomous-system"));
        }
        "mac-addr" => {
            if let Some(v) = cx.string("value", true)
                && !valid_mac(v)
            {
                cx.err("value", format!("{v:?} is not a lowercase, colon-delimited MAC-48 address"));
            }
        }
        "mutex" => {
            cx.string("name", true);
        }
        "network-traffic" => network_traffic(cx),
        "process" => {
            require_specific(cx, true);
            cx.boolean("is_hidden", false);
            cx.integer("pid", false, None, None);
            cx.timestamp("created_time", false);
            cx.ref_list("opened_connection_refs", false, NETWORK_TRAFFIC);
            cx.reference("creator_user_ref", false, USER_ACCOUNT);
            cx.reference("image_ref", false, target!("a file", "file"));
            cx.reference("parent_ref", false, PROCESS);
            cx.ref_list("child_refs", false, PROCESS);
        }
        "software" => {
            cx.string("name", true);
        }
        "url" => nonempty_value(cx),
        "user-account" => {
            require_specific(cx, true);
            for t in [
                "account_created",
                "account_expires",
                "credential_last_changed",
                "account_first_login",
                "account_last_login",
            ] {
                cx.timestamp(t, false);
            }
        }
        "windows-registry-key" => {
            require_specific(cx, false);
            cx.timestamp("modified_time", false);
            cx.reference("creator_user_ref", false, USER_ACCOUNT);
            cx.integer("number_of_subkeys", false, Some(0), None);
        }
        "x509-certificate" => {
            require_specific(cx, false);
            cx.boolean("is_self_signed", false);
            cx.timestamp("validity_not_before", false);
            cx.timestamp("validity_not_after", false);
        }
        // Extension-defined (new-sco) types: common rules only.
        _ => {}
    }
}

fn nonempty_value(cx: &mut Ctx<'_>) {
    if let Some(v) = cx.string("value", true)
        && v.is_empty()
    {
        cx.err("value", "must not be empty");
    }
}

fn artifact(cx: &mut Ctx<'_>) {
    match (cx.has("payload_bin"), cx.has("url")) {
        (true, true) => cx.err("url", "must not be present together with payload_bin"),
        (false, false) => cx.err("", "exactly one of payload_bin or url must be present"),
        (false, true) => {
            cx.string("url", true);
            if !cx.has("hashes") {
                cx.err("hashes", "required when url is present");
            }
        }
        // The base64 shape of payload_bin is checked by the generic `_bin` rule.
        (true, false) => {}
    }
    if cx.has("decryption_key") && !cx.has("encryption_algorithm") {
        cx.err("decryption_key", "must not be present without encryption_algorithm");
    }
}

fn email_message(cx: &mut Ctx<'_>) {
    match cx.boolean("is_multipart", true) {
        Some(true) if cx.has("body") => {
            cx.err("body", "must not be present when is_multipart is true (use body_multipart)")
        }
        Some(false) if cx.has("body_multipart") => {
            cx.err("body_multipart", "must not be present when is_multipart is false")
        }
        _ => {}
    }
    cx.timestamp("date", false);
    cx.reference("from_ref", false, EMAIL_ADDR);
    cx.reference("sender_ref", false, EMAIL_ADDR);
    for p in ["to_refs", "cc_refs", "bcc_refs"] {
        cx.ref_list(p, false, EMAIL_ADDR);
    }
    cx.reference("raw_email_ref", false, ARTIFACT);
    let Some(parts) = cx.list_in(cx.obj, "", "body_multipart", false) else {
        return;
    };
    for (i, part) in parts.iter().enumerate() {
        let base = index("body_multipart", i);
        let Some(p) = part.as_object() else {
            cx.err(base, format!("must be a MIME part object, found {}", describe(part)));
            continue;
        };
        match (p.contains_key("body"), p.contains_key("body_raw_ref")) {
            (true, true) => cx.err(base.clone(), "must have exactly one of body or body_raw_ref, found both"),
            (false, false) => cx.err(base.clone(), "must have exactly one of body or body_raw_ref, found neither"),
            _ => {}
        }
        cx.string_in(p, &base, "body", false);
        cx.reference_in(p, &base, "body_raw_ref", false, target!("an artifact or file", "artifact", "file"));
    }
}

fn network_traffic(cx: &mut Ctx<'_>) {
    cx.string_list("protocols", true);
    cx.any_of(&["src_ref", "dst_ref"]);
    cx.reference("src_ref", false, ADDRESS);
    cx.reference("dst_ref", false, ADDRESS);
    cx.integer("src_port", false, Some(0), Some(65535));
    cx.integer("dst_port", false, Some(0), Some(65535));
    cx.timestamp("start", false);
    cx.timestamp("end", false);
    cx.order("start", "end", false);
    if cx.boolean("is_active", false) == Some(true) && cx.has("end") {
        cx.err("end", "must not be present when is_active is true");
    }
    cx.reference("src_payload_ref", false, ARTIFACT);
    cx.reference("dst_payload_ref", false, ARTIFACT);
    cx.ref_list("encapsulates_refs", false, NETWORK_TRAFFIC);
    cx.reference("encapsulated_by_ref", false, NETWORK_TRAFFIC);
}

/// An IPv4 or IPv6 address, optionally with a CIDR suffix.
fn valid_ip(v: &str, v4: bool) -> bool {
    let (addr, prefix) = match v.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (v, None),
    };
    let max = if v4 { 32 } else { 128 };
    if let Some(p) = prefix
        && !(p.bytes().all(|c| c.is_ascii_digit()) && p.parse::<u32>().is_ok_and(|n| n <= max) && !p.is_empty())
    {
        return false;
    }
    if v4 { addr.parse::<std::net::Ipv4Addr>().is_ok() } else { addr.parse::<std::net::Ipv6Addr>().is_ok() }
}

fn valid_mac(v: &str) -> bool {
    let parts: Vec<&str> = v.split(':').collect();
    parts.len() == 6
        && parts.iter().all(|p| p.len() == 2 && p.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)))
}
