//! Word lists: numbers, event triggers and their ACLED sub-event types.
//!
//! Kept in one place so that the rules in the other modules read as rules, and so that
//! extending the vocabulary (a new weapon, a new verb) is a one-line change here.

/// What a trigger phrase says happened. Order is priority: when an incident has
/// several, the first in this order decides its sub-event type (a suicide bombing at a
/// checkpoint that is followed by gunfire is still a suicide bombing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Suicide,
    Air,
    Ied,
    Shelling,
    Clash,
    /// "attacked", "opened fire", "gunmen": a clash when security forces are the target,
    /// violence against civilians otherwise.
    Attack,
    Grenade,
    Abduction,
    /// "killed", "gunmen": violence with nothing more specific said.
    Killing,
    Arrest,
    Weapons,
    Looting,
    /// "raided", "operation": says something happened but not what.
    Operation,
}

impl Kind {
    /// (event type, sub-event type) in ACLED's exact wording.
    pub fn acled(self, civilian_target: bool) -> (&'static str, &'static str) {
        match self {
            Kind::Suicide => ("Explosions/Remote violence", "Suicide bomb"),
            Kind::Air => ("Explosions/Remote violence", "Air/drone strike"),
            Kind::Ied => ("Explosions/Remote violence", "Remote explosive/landmine/IED"),
            Kind::Shelling => ("Explosions/Remote violence", "Shelling/artillery/missile attack"),
            Kind::Grenade => ("Explosions/Remote violence", "Grenade"),
            Kind::Clash => ("Battles", "Armed clash"),
            Kind::Attack if civilian_target => ("Violence against civilians", "Attack"),
            Kind::Attack => ("Battles", "Armed clash"),
            Kind::Abduction => ("Violence against civilians", "Abduction/forced disappearance"),
            Kind::Killing if civilian_target => ("Violence against civilians", "Attack"),
            Kind::Killing => ("Battles", "Armed clash"),
            Kind::Arrest => ("Strategic developments", "Arrests"),
            Kind::Weapons => ("Strategic developments", "Disrupted weapons use"),
            Kind::Looting => ("Strategic developments", "Looting/property destruction"),
            Kind::Operation => ("Strategic developments", "Other"),
        }
    }

    /// Whether the kind alone can found an incident.
    pub fn strong(self) -> bool {
        self != Kind::Operation
    }
}

/// Trigger phrases (lowercase token sequences). `Air*` entries marked `true` count only
/// when the sentence also names aircraft or drones ("struck" alone is not an airstrike).
#[rustfmt::skip]
pub const TRIGGERS: &[(&[&str], Kind, bool)] = &[
    (&["suicide", "bomber"], Kind::Suicide, false), (&["suicide", "bombers"], Kind::Suicide, false),
    (&["suicide", "bombing"], Kind::Suicide, false), (&["suicide", "attack"], Kind::Suicide, false),
    (&["suicide", "bomb"], Kind::Suicide, false), (&["suicide", "car", "bomb"], Kind::Suicide, false),
    (&["suicide", "car", "bombing"], Kind::Suicide, false), (&["suicide", "bombings"], Kind::Suicide, false), (&["explosive", "vest"], Kind::Suicide, false),
    (&["explosive", "belt"], Kind::Suicide, false), (&["suicide", "vest"], Kind::Suicide, false),
    (&["blew", "himself", "up"], Kind::Suicide, false), (&["blew", "themselves", "up"], Kind::Suicide, false),
    (&["airstrike"], Kind::Air, false), (&["airstrikes"], Kind::Air, false), (&["air", "strike"], Kind::Air, false),
    (&["air", "strikes"], Kind::Air, false), (&["air", "raid"], Kind::Air, false), (&["air", "raids"], Kind::Air, false),
    (&["drone", "strike"], Kind::Air, false), (&["drone", "strikes"], Kind::Air, false),
    (&["strike"], Kind::Air, true), (&["strikes"], Kind::Air, true), (&["struck"], Kind::Air, true),
    (&["bombed"], Kind::Air, true), (&["hit"], Kind::Air, true), (&["targeted"], Kind::Air, true), (&["bombardment"], Kind::Air, true),
    (&["roadside", "bomb"], Kind::Ied, false), (&["roadside", "bombs"], Kind::Ied, false), (&["ied"], Kind::Ied, false),
    (&["ieds"], Kind::Ied, false), (&["explosive", "device"], Kind::Ied, false), (&["explosive", "devices"], Kind::Ied, false),
    (&["landmine"], Kind::Ied, false), (&["landmines"], Kind::Ied, false), (&["land", "mine"], Kind::Ied, false),
    (&["car", "bomb"], Kind::Ied, false), (&["bomb"], Kind::Ied, false), (&["bombing"], Kind::Ied, false),
    (&["booby-trapped"], Kind::Ied, false), (&["sticky", "bomb"], Kind::Ied, false), (&["explosion"], Kind::Ied, false),
    (&["blast"], Kind::Ied, false), (&["mine"], Kind::Ied, false), (&["exploded"], Kind::Ied, false),
    (&["detonated"], Kind::Ied, false), (&["vbied"], Kind::Ied, false),
    (&["mortar"], Kind::Shelling, false), (&["mortars"], Kind::Shelling, false), (&["shelling"], Kind::Shelling, false),
    (&["shelled"], Kind::Shelling, false), (&["artillery"], Kind::Shelling, false), (&["rocket", "fire"], Kind::Shelling, false),
    (&["rockets"], Kind::Shelling, false), (&["rocket", "attack"], Kind::Shelling, false), (&["missile"], Kind::Shelling, false),
    (&["missiles"], Kind::Shelling, false), (&["shells"], Kind::Shelling, false),
    (&["clash"], Kind::Clash, false), (&["clashes"], Kind::Clash, false), (&["clashed"], Kind::Clash, false),
    (&["exchange", "of", "fire"], Kind::Clash, false), (&["exchanged", "fire"], Kind::Clash, false),
    (&["gunfight"], Kind::Clash, false), (&["firefight"], Kind::Clash, false), (&["gun", "battle"], Kind::Clash, false),
    (&["fighting"], Kind::Clash, false), (&["ambush"], Kind::Clash, false), (&["ambushed"], Kind::Clash, false),
    (&["attacked"], Kind::Attack, false), (&["attack"], Kind::Attack, false), (&["opened", "fire"], Kind::Attack, false),
    (&["shot", "dead"], Kind::Attack, false), (&["shot"], Kind::Attack, false),
    (&["assassinated"], Kind::Attack, false), (&["executed"], Kind::Attack, false), (&["stormed"], Kind::Attack, false),
    (&["stabbed"], Kind::Attack, false),
    (&["killed"], Kind::Killing, false), (&["killing"], Kind::Killing, false), (&["gunmen"], Kind::Killing, false),
    (&["gunman"], Kind::Killing, false), (&["murdered"], Kind::Killing, false),
    (&["grenade"], Kind::Grenade, false), (&["grenades"], Kind::Grenade, false),
    (&["abducted"], Kind::Abduction, false), (&["kidnapped"], Kind::Abduction, false), (&["abduction"], Kind::Abduction, false),
    (&["kidnapping"], Kind::Abduction, false), (&["abducting"], Kind::Abduction, false),
    (&["arrested"], Kind::Arrest, false), (&["detained"], Kind::Arrest, false), (&["captured"], Kind::Arrest, false),
    (&["arrest"], Kind::Arrest, false), (&["arrests"], Kind::Arrest, false), (&["apprehended"], Kind::Arrest, false),
    (&["custody"], Kind::Arrest, false), (&["dismantled"], Kind::Arrest, false), (&["rounded", "up"], Kind::Arrest, false),
    (&["detaining"], Kind::Arrest, false), (&["arresting"], Kind::Arrest, false),
    (&["seized"], Kind::Weapons, false), (&["confiscated"], Kind::Weapons, false), (&["seizure"], Kind::Weapons, false),
    (&["controlled", "detonation"], Kind::Weapons, false), (&["defused"], Kind::Weapons, false), (&["bomb", "disposal"], Kind::Weapons, false),
    (&["weapons", "cache"], Kind::Weapons, false), (&["arms", "cache"], Kind::Weapons, false),
    (&["looted"], Kind::Looting, false), (&["torched"], Kind::Looting, false), (&["set", "fire", "to"], Kind::Looting, false),
    (&["demolished"], Kind::Looting, false), (&["burned", "down"], Kind::Looting, false),
    (&["raid"], Kind::Operation, false), (&["raided"], Kind::Operation, false), (&["operation"], Kind::Operation, false),
    (&["sweep"], Kind::Operation, false), (&["raids"], Kind::Operation, false),
];

/// Words that make "struck", "strikes", "killed" an air or drone strike.
pub const AIR_CONTEXT: &[&str] = &[
    "aircraft",
    "drone",
    "drones",
    "warplane",
    "warplanes",
    "jet",
    "jets",
    "helicopter",
    "helicopters",
    "coalition",
    "airstrike",
    "airstrikes",
    "air",
    "bomber",
];

/// Words that mark a sentence as background or generic rather than news of an event.
pub const GENERIC: &[&[&str]] = &[
    &["recent", "months"],
    &["recent", "weeks"],
    &["recent", "years"],
    &["years", "ago"],
    &["last", "year"],
    &["years", "of"],
    &["frequently"],
    &["regularly"],
    &["usually"],
    &["often"],
    &["continue", "to"],
    &["continues", "to"],
    &["similar", "operations"],
    &["left", "over"],
    &["no", "longer"],
    &["of", "this", "kind"],
    &["in", "the", "past"],
    &["occasional"],
    &["would", "be"],
    &["will", "be"],
    &["plan", "to"],
    &["monthly"],
    &["across", "syria"],
    &["across", "iraq"],
    &["across", "the", "country"],
    &["most", "of", "them", "in"],
];

/// Security-force targets: an attack on these is a clash, not violence against civilians.
pub const SECURITY_TARGETS: &[&str] = &[
    "soldier",
    "soldiers",
    "army",
    "checkpoint",
    "police",
    "policemen",
    "forces",
    "force",
    "patrol",
    "position",
    "positions",
    "guards",
    "guard",
    "troops",
    "base",
    "post",
    "fighters",
    "militia",
    "militias",
    "convoy",
    "officer",
    "officers",
    "personnel",
    "outpost",
];

/// People words: "arrested a suspected facilitator" counts one.
pub const PERSON_NOUNS: &[&str] = &[
    "man",
    "woman",
    "boy",
    "girl",
    "child",
    "member",
    "suspect",
    "militant",
    "fighter",
    "commander",
    "leader",
    "facilitator",
    "soldier",
    "civilian",
    "operative",
    "person",
    "driver",
    "worker",
    "shepherd",
    "emir",
    "official",
    "policeman",
    "officer",
    "guard",
    "resident",
    "farmer",
    "journalist",
    "teacher",
    "doctor",
    "student",
    "financier",
    "smuggler",
    "recruiter",
    "individual",
    "gunman",
    "bomber",
    "trader",
    "merchant",
];

/// Weapons and munitions: a seized-list item must contain one.
pub const WEAPON_WORDS: &[&str] = &[
    "rifle",
    "rifles",
    "gun",
    "guns",
    "pistol",
    "pistols",
    "grenade",
    "grenades",
    "device",
    "devices",
    "ied",
    "ieds",
    "explosives",
    "ammunition",
    "rounds",
    "shells",
    "mines",
    "landmines",
    "launcher",
    "launchers",
    "missile",
    "missiles",
    "rocket",
    "rockets",
    "mortar",
    "mortars",
    "weapons",
    "weapon",
    "bomb",
    "bombs",
    "belt",
    "belts",
    "vest",
    "vests",
    "detonators",
    "detonator",
    "kalashnikov",
    "kalashnikovs",
    "rpg",
    "rpgs",
    "drones",
    "tnt",
    "munitions",
    "bullets",
    "cartridges",
    "machine-guns",
    "ak-47",
    "ak-47s",
    "materials",
];

/// Places that hold weapons rather than being weapons ("a weapons depot").
pub const CONTAINERS: &[&str] =
    &["depot", "cache", "site", "storeroom", "stockpile", "warehouse", "facility", "workshop", "factory", "store"];

const UNITS: &[(&str, u32)] = &[
    ("zero", 0),
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("thirteen", 13),
    ("fourteen", 14),
    ("fifteen", 15),
    ("sixteen", 16),
    ("seventeen", 17),
    ("eighteen", 18),
    ("nineteen", 19),
    ("twenty", 20),
    ("thirty", 30),
    ("forty", 40),
    ("fifty", 50),
    ("sixty", 60),
    ("seventy", 70),
    ("eighty", 80),
    ("ninety", 90),
    ("hundred", 100),
    ("dozen", 12),
];

const ORDINALS: &[&str] = &["second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"];

/// A cardinal number written as digits ("2,000") or a word ("nine", "twenty-one").
pub fn number(word: &str) -> Option<u32> {
    let w = word.to_lowercase();
    if w.bytes().all(|b| b.is_ascii_digit() || b == b',') && w.bytes().any(|b| b.is_ascii_digit()) {
        return w.replace(',', "").parse().ok();
    }
    if let Some((tens, unit)) = w.split_once('-') {
        let t = UNITS.iter().find(|(n, _)| *n == tens)?.1;
        let u = UNITS.iter().find(|(n, _)| *n == unit)?.1;
        return (t >= 20 && u < 10).then_some(t + u);
    }
    UNITS.iter().find(|(n, _)| *n == w).map(|(_, v)| *v)
}

pub fn ordinal(word: &str) -> bool {
    ORDINALS.contains(&word)
}

pub fn month(word: &str) -> Option<u32> {
    const M: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let w = word.trim_end_matches('.');
    if let Some(i) = M.iter().position(|m| *m == w) {
        return Some(i as u32 + 1);
    }
    let abbr = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    if w == "sept" {
        return Some(9);
    }
    abbr.iter().position(|m| *m == w).map(|i| i as u32 + 1)
}

pub fn weekday(word: &str) -> Option<i64> {
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
        .iter()
        .position(|d| *d == word)
        .map(|i| i as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(number("2,000"), Some(2000));
        assert_eq!(number("nine"), Some(9));
        assert_eq!(number("twenty-one"), Some(21));
        assert_eq!(number("dozens"), None);
        assert_eq!(month("Aug.".to_lowercase().as_str()), Some(8));
    }
}
