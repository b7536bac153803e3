//! Names the embedded template set for `gpu-ci --version`: a short hash of every file under
//! `templates/` (path and bytes, in path order), so two binaries that would render the same
//! files say the same name, and any template change shows.

use std::fs;
use std::path::{Path, PathBuf};

fn files(dir: &Path, found: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", dir.display()))
        .map(|entry| entry.expect("a readable folder entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(&path, found);
        } else {
            found.push(path);
        }
    }
}

/// FNV-1a, 64 bits: stable across Rust releases, unlike `DefaultHasher`.
fn fnv1a(hash: &mut u64, bytes: &[u8]) {
    for byte in bytes {
        *hash ^= u64::from(*byte);
        *hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
}

fn main() {
    let root = Path::new("templates");
    println!("cargo::rerun-if-changed=templates");
    let mut found = Vec::new();
    files(root, &mut found);
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    for path in &found {
        let rel = path.strip_prefix(root).expect("under templates/");
        // Forward slashes, so a Windows build names the same set.
        let rel = rel.to_string_lossy().replace('\\', "/");
        fnv1a(&mut hash, rel.as_bytes());
        fnv1a(&mut hash, &[0]);
        let bytes = fs::read(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        fnv1a(&mut hash, &bytes);
        fnv1a(&mut hash, &[0]);
    }
    println!("cargo::rustc-env=GPU_CI_TEMPLATES={:08x}", hash >> 32);
}
