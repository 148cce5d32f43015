//! The peer list: `[[peers]]` from the config merged with peers added at run time
//! (`tandem peer add`), which are kept in the store. A config entry wins over a stored one for the
//! same member.

use tandem_store::Store;

use crate::client::PeerSpec;

const PREFIX: &str = "sync/peer/";

pub fn stored(store: &dyn Store) -> anyhow::Result<Vec<PeerSpec>> {
    Ok(store.list_meta(PREFIX)?.into_iter().filter_map(|(_, v)| serde_json::from_value(v).ok()).collect())
}

pub fn add(store: &dyn Store, peer: &PeerSpec) -> anyhow::Result<()> {
    if peer.token.is_none() && peer.username.is_none() {
        anyhow::bail!("peer {}: a username/password or a token is required", peer.member);
    }
    reqwest::Url::parse(&peer.url).map_err(|e| anyhow::anyhow!("peer {}: url {:?}: {e}", peer.member, peer.url))?;
    store.put_meta(&format!("{PREFIX}{}", peer.member), Some(&serde_json::to_value(peer)?))?;
    Ok(())
}

/// Removes a stored peer and its cursor and status; returns whether it existed.
pub fn remove(store: &dyn Store, member: &str) -> anyhow::Result<bool> {
    let existed = store.get_meta(&format!("{PREFIX}{member}"))?.is_some();
    store.put_meta(&format!("{PREFIX}{member}"), None)?;
    store.put_meta(&format!("sync/cursor/{member}"), None)?;
    store.put_meta(&format!("sync/status/{member}"), None)?;
    Ok(existed)
}

/// Config peers, then stored peers for members the config does not list.
pub fn merged(config: &[PeerSpec], stored: Vec<PeerSpec>) -> Vec<PeerSpec> {
    let mut out = config.to_vec();
    for p in stored {
        if !out.iter().any(|c| c.member == p.member) {
            out.push(p);
        }
    }
    out
}
