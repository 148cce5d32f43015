//! The published TLP marking-definition objects (TLP 2.0 and 1.0), used verbatim.

use serde_json::{Value, json};

/// Traffic Light Protocol levels, most permissive first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tlp {
    Clear,
    Green,
    Amber,
    AmberStrict,
    Red,
}

pub const TLP2_CLEAR: &str = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";
pub const TLP2_GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
pub const TLP2_AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
pub const TLP2_AMBER_STRICT: &str = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";
pub const TLP2_RED: &str = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";
pub const TLP1_WHITE: &str = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9";
pub const TLP1_GREEN: &str = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da";
pub const TLP1_AMBER: &str = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82";
pub const TLP1_RED: &str = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed";

/// The TLP level a well-known marking-definition id stands for.
pub fn tlp_of(marking_id: &str) -> Option<Tlp> {
    Some(match marking_id {
        TLP2_CLEAR | TLP1_WHITE => Tlp::Clear,
        TLP2_GREEN | TLP1_GREEN => Tlp::Green,
        TLP2_AMBER | TLP1_AMBER => Tlp::Amber,
        TLP2_AMBER_STRICT => Tlp::AmberStrict,
        TLP2_RED | TLP1_RED => Tlp::Red,
        _ => return None,
    })
}

/// The published marking-definition objects, as OASIS distributes them.
pub fn published_definitions() -> Vec<Value> {
    let v2 = |id: &str, name: &str| {
        json!({
            "type": "marking-definition", "spec_version": "2.1", "id": id,
            "created": "2022-10-01T00:00:00.000Z", "name": name,
            "extensions": {"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
                "extension_type": "property-extension", "tlp_2_0": name.trim_start_matches("TLP:").to_lowercase()}}
        })
    };
    let v1 = |id: &str, tlp: &str| {
        json!({
            "type": "marking-definition", "spec_version": "2.1", "id": id,
            "created": "2017-01-20T00:00:00.000Z", "definition_type": "tlp",
            "name": format!("TLP:{}", tlp.to_uppercase()), "definition": {"tlp": tlp}
        })
    };
    vec![
        v2(TLP2_CLEAR, "TLP:CLEAR"),
        v2(TLP2_GREEN, "TLP:GREEN"),
        v2(TLP2_AMBER, "TLP:AMBER"),
        v2(TLP2_AMBER_STRICT, "TLP:AMBER+STRICT"),
        v2(TLP2_RED, "TLP:RED"),
        v1(TLP1_WHITE, "white"),
        v1(TLP1_GREEN, "green"),
        v1(TLP1_AMBER, "amber"),
        v1(TLP1_RED, "red"),
    ]
}
