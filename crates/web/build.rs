//! Embeds `assets/` in the binary: writes `assets.rs` into OUT_DIR, a sorted table of
//! `(relative path, include_bytes!(absolute path))`, so the UI needs no files at run time and no
//! crate beyond std. Cargo re-runs this when any file or directory under `assets/` changes.

use std::path::{Path, PathBuf};

fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    println!("cargo:rerun-if-changed={}", dir.display());
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, root, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            let rel = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>();
            // Editor droppings and dot files are not assets.
            if rel.iter().any(|c| c.starts_with('.')) {
                continue;
            }
            println!("cargo:rerun-if-changed={}", path.display());
            out.push((rel.join("/"), path));
        }
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").map_err(std::io::Error::other)?).join("assets");
    let mut files = Vec::new();
    walk(&root, &root, &mut files)?;
    files.sort();
    let mut code = String::from(
        "/// Every embedded asset: (path under `assets/`, bytes), sorted by path.\npub static ASSETS: &[(&str, &[u8])] = &[\n",
    );
    for (rel, path) in files {
        code.push_str(&format!("    ({rel:?}, include_bytes!({:?})),\n", path.display().to_string()));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").map_err(std::io::Error::other)?).join("assets.rs");
    std::fs::write(out, code)
}
