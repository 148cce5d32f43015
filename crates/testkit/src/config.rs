//! A writer of node configurations (`tandem serve --config`) for the tests that drive the
//! binary: one way to spell a roster, users and peers in TOML, instead of a literal per test.

use std::fmt::Write as _;
use std::path::Path;

/// Coalition members the tests use, with their display names.
pub const MEMBERS: &[(&str, &str)] =
    &[("USA", "United States"), ("IRQ", "Iraq"), ("SYR", "Syria"), ("GBR", "United Kingdom"), ("UKR", "Ukraine")];

/// The display name of a member code (the code itself for one not in [`MEMBERS`]).
pub fn member_name(code: &str) -> &str {
    MEMBERS.iter().find(|(c, _)| *c == code).map(|(_, n)| *n).unwrap_or(code)
}

/// A node configuration being written. Tables come out in the order they are added; the
/// `[node]` table is first, so [`NodeToml::node_key`] must be called before any other table.
#[derive(Debug, Clone)]
pub struct NodeToml {
    text: String,
}

impl NodeToml {
    /// `[node]` of `member` on `127.0.0.1:port`, its data in `./data` next to the file.
    pub fn new(member: &str, port: u16) -> Self {
        NodeToml {
            text: format!("[node]\nmember = \"{member}\"\nlisten = \"127.0.0.1:{port}\"\ndata_dir = \"./data\"\n"),
        }
    }

    /// One more line of the `[node]` table (`public_url = "..."`).
    pub fn node_key(mut self, line: &str) -> Self {
        let _ = writeln!(self.text, "{line}");
        self
    }

    /// `[coalition] authority`.
    pub fn authority(mut self, key: &str) -> Self {
        let _ = write!(self.text, "\n[coalition]\nauthority = \"{key}\"\n");
        self
    }

    /// `[storage]` on PostgreSQL at `url`.
    pub fn postgres(mut self, url: &str) -> Self {
        let _ = write!(self.text, "\n[storage]\nbackend = \"postgres\"\nurl = \"{url}\"\n");
        self
    }

    /// `[storage]` on SQLite with a page cache of `mib` MiB per connection.
    pub fn sqlite_cache_mib(mut self, mib: u32) -> Self {
        let _ = write!(self.text, "\n[storage]\ncache_mib = {mib}\n");
        self
    }

    /// A roster member named as in [`MEMBERS`].
    pub fn member(self, code: &str) -> Self {
        self.member_with(code, "")
    }

    /// A roster member with more keys (`status = "suspended"`, `joined = "..."`,
    /// `public_key = "..."`), one per line.
    pub fn member_with(mut self, code: &str, extra: &str) -> Self {
        let _ =
            write!(self.text, "\n[[members]]\ncode = \"{code}\"\nname = \"{}\"\n{}", member_name(code), lines(extra));
        self
    }

    /// A roster group.
    pub fn group(mut self, code: &str, name: &str, members: &[&str]) -> Self {
        let list: Vec<String> = members.iter().map(|m| format!("\"{m}\"")).collect();
        let _ =
            write!(self.text, "\n[[groups]]\ncode = \"{code}\"\nname = \"{name}\"\nmembers = [{}]\n", list.join(", "));
        self
    }

    /// A user with a plain (development) password.
    pub fn user(self, name: &str, member: &str, password: &str) -> Self {
        self.user_with(name, member, password, "")
    }

    /// A user with more keys (`clearance = "SECRET"`, `roles = ["peer"]`), one per line.
    pub fn user_with(mut self, name: &str, member: &str, password: &str, extra: &str) -> Self {
        let _ = write!(
            self.text,
            "\n[[users]]\nname = \"{name}\"\nmember = \"{member}\"\npassword = \"{password}\"\n{}",
            lines(extra)
        );
        self
    }

    /// A peer pulled from `url` with a user and password.
    pub fn peer(mut self, member: &str, url: &str, username: &str, password: &str) -> Self {
        let _ = write!(
            self.text,
            "\n[[peers]]\nmember = \"{member}\"\nurl = \"{url}\"\nusername = \"{username}\"\npassword = \"{password}\"\n"
        );
        self
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Writes the configuration to `path`.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, &self.text)
    }
}

impl std::fmt::Display for NodeToml {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// `extra`'s lines, each ending in a newline.
fn lines(extra: &str) -> String {
    extra.lines().map(str::trim).filter(|l| !l.is_empty()).map(|l| format!("{l}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_configuration_the_node_reads() {
        let text = NodeToml::new("USA", 8480)
            .authority("ed25519:x")
            .member("USA")
            .member_with("SYR", "status = \"suspended\"")
            .group("LVNT", "Levant partners", &["SYR"])
            .user_with("analyst", "USA", "pw", "clearance = \"SECRET\"\nroles = [\"auditor\"]")
            .peer("SYR", "http://127.0.0.1:9/taxii2/", "sync-USA", "x")
            .to_string();
        let config: tandem_node::Config = toml::from_str(&text).expect(&text);
        assert_eq!(config.node.member, "USA");
        assert_eq!(config.members[1].name, "Syria");
        assert_eq!(config.members[1].status, tandem_policy::MemberStatus::Suspended);
        assert_eq!(config.groups[0].members, ["SYR"]);
        assert_eq!(config.users[0].roles, ["auditor"]);
        assert_eq!(config.users[0].clearance.as_deref(), Some("SECRET"));
        assert_eq!(config.peers[0].username.as_deref(), Some("sync-USA"));
        assert_eq!(config.coalition.authority.as_deref(), Some("ed25519:x"));
    }
}
