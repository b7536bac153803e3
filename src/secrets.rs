//! A secret value that never shows itself, and the libsodium sealed box GitHub wants for it.
//!
//! GitHub's REST API takes an Actions secret only encrypted with the repository's public key
//! (X25519) as a sealed box: `crypto_box_seal`, an ephemeral key pair and XSalsa20-Poly1305.
//! The `crypto_box` crate (RustCrypto) implements it in Rust, compatible with libsodium.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use crypto_box::PublicKey;
use crypto_box::aead::OsRng;

use crate::error::{Error, Result};

/// A token or password: `Debug` and `Display` print `[redacted]`, so no log, error or report
/// can carry it by accident. Only [`Secret::expose`] gives the value, for sealing.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Seals `secret` for the holder of `public_key` (base64, as GitHub serves it); base64 out.
pub fn seal(public_key: &str, secret: &Secret) -> Result<String> {
    let bad_key = || {
        Error::network(
            "GitHub's public key for secrets is not a base64 32-byte key",
            None,
        )
        .with_help("nothing was set; try again, or report it if it persists")
    };
    let bytes = BASE64.decode(public_key.trim()).map_err(|_| bad_key())?;
    let key = PublicKey::from_slice(&bytes).map_err(|_| bad_key())?;
    let sealed = key
        .seal(&mut OsRng, secret.expose().as_bytes())
        .map_err(|_| Error::internal("sealing a secret failed"))?;
    Ok(BASE64.encode(sealed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto_box::SecretKey;

    #[test]
    fn a_sealed_secret_opens_with_the_private_key_only() {
        let private = SecretKey::generate(&mut OsRng);
        let public = BASE64.encode(private.public_key().as_bytes());
        let sealed = seal(&public, &Secret::new("as-very-secret")).unwrap();
        let bytes = BASE64.decode(sealed).unwrap();
        // An ephemeral public key and a tag: 48 bytes more than the plaintext.
        assert_eq!(bytes.len(), "as-very-secret".len() + 48);
        assert_eq!(private.unseal(&bytes).unwrap(), b"as-very-secret");
        let other = SecretKey::generate(&mut OsRng);
        assert!(other.unseal(&bytes).is_err());
    }

    #[test]
    fn a_bad_key_is_refused() {
        assert!(seal("not base64!", &Secret::new("x")).is_err());
        assert!(seal(&BASE64.encode([0u8; 31]), &Secret::new("x")).is_err());
    }

    #[test]
    fn secrets_never_format_their_value() {
        let secret = Secret::new("as-hunter2");
        assert_eq!(
            format!("{secret} {secret:?}"),
            "[redacted] Secret([redacted])"
        );
    }
}
