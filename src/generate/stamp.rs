//! The `gpu-ci-hash:` line every generated file carries: the hash of what gpu-ci wrote, so that
//! `update` can tell an untouched file from an edited one.

use crate::newlines::to_lf;

/// The mark before the hash.
const HASH_MARK: &str = "gpu-ci-hash: ";
const HASH_PLACEHOLDER: &str = "0000000000000000";

/// FNV-1a: stable across versions and platforms, which is all an edit check needs.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The hash of `text` with its recorded hash blanked: equal to the recorded one while the
/// file is as gpu-ci wrote it.
pub fn content_hash(text: &str) -> String {
    let normalised = match text.find(HASH_MARK) {
        Some(at) => {
            let value = at + HASH_MARK.len();
            let end = (value + HASH_PLACEHOLDER.len()).min(text.len());
            format!("{}{HASH_PLACEHOLDER}{}", &text[..value], &text[end..])
        }
        None => text.to_string(),
    };
    format!("{:016x}", fnv1a(to_lf(&normalised).as_bytes()))
}

/// The hash a file says gpu-ci wrote, if its header still says so.
pub fn recorded_hash(text: &str) -> Option<&str> {
    let at = text.find(HASH_MARK)? + HASH_MARK.len();
    let value = text.get(at..at + HASH_PLACEHOLDER.len())?;
    value
        .chars()
        .all(|c| c.is_ascii_hexdigit())
        .then_some(value)
}

/// Writes the content hash into a freshly rendered file's placeholder.
pub fn stamp(text: String) -> String {
    let hash = content_hash(&text);
    text.replacen(
        &format!("{HASH_MARK}{HASH_PLACEHOLDER}"),
        &format!("{HASH_MARK}{hash}"),
        1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_notices_any_edit_but_not_its_own_value() {
        let stamped = stamp(format!("# {HASH_MARK}{HASH_PLACEHOLDER} note\nbody\n"));
        let recorded = recorded_hash(&stamped).unwrap().to_string();
        assert_ne!(recorded, HASH_PLACEHOLDER);
        assert_eq!(content_hash(&stamped), recorded);
        assert_ne!(content_hash(&stamped.replace("body", "b0dy")), recorded);
    }
}
