//! Credential encryption: AES-256-GCM with a random nonce per write, bound to its row.

use std::fmt;

use aes_gcm::{
    Aes256Gcm, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use base64::Engine as _;
use crmsync_core::{ConnectionId, Credentials, Error, ErrorKind, Result, TenantId};

/// Format marker of a sealed credentials blob: `version ‖ nonce ‖ ciphertext+tag`.
const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 12;
const DECRYPT_FAILED: &str = "credentials cannot be decrypted: wrong key or tampered row";

/// The application's 32-byte key that encrypts connection credentials at rest
/// (AES-256-GCM).
///
/// Every write uses a fresh random 96-bit nonce, and the ciphertext is bound to its
/// tenant and connection id (associated data), so a blob copied to another row does not
/// decrypt. `Debug` never shows the key.
///
/// ```
/// use crmsync_store::CredentialKey;
///
/// let key = CredentialKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")?;
/// assert_eq!(format!("{key:?}"), "CredentialKey([REDACTED])");
/// # Ok::<(), crmsync_core::Error>(())
/// ```
#[derive(Clone)]
pub struct CredentialKey {
    cipher: Aes256Gcm,
}

impl CredentialKey {
    /// A key from its 32 raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self {
            cipher: Aes256Gcm::new(&bytes.into()),
        }
    }

    /// A key from standard base64 (44 characters, e.g. `openssl rand -base64 32`).
    pub fn from_base64(encoded: &str) -> Result<Self> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| Error::new(ErrorKind::Config, "credential key is not valid base64"))?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| {
            Error::new(
                ErrorKind::Config,
                "credential key must be exactly 32 bytes (base64 of 32 random bytes)",
            )
        })?;
        Ok(Self::from_bytes(bytes))
    }

    /// A new random key (for tests and ephemeral stores: data encrypted with it is
    /// unreadable once it is dropped).
    pub fn generate() -> Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| {
            Error::new(ErrorKind::Crypto, "no randomness for a credential key")
                .with_source(RandomError(e))
        })?;
        Ok(Self::from_bytes(bytes))
    }

    /// Encrypts a connection's credentials for storage in its row.
    pub(crate) fn seal(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        credentials: &Credentials,
    ) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| {
            Error::new(ErrorKind::Crypto, "no randomness for a nonce")
                .with_source(RandomError(e))
                .with_operation("store.put_connection")
        })?;
        let aad = associated_data(tenant, connection);
        let plaintext = credentials.to_plaintext();
        let sealed = self.cipher.encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: &plaintext,
                aad: &aad,
            },
        );
        drop(plaintext);
        let sealed = sealed.map_err(|_| {
            Error::new(ErrorKind::Crypto, "credentials cannot be encrypted")
                .with_operation("store.put_connection")
        })?;
        let mut blob = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        blob.push(FORMAT_V1);
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        Ok(blob)
    }

    /// Decrypts what [`CredentialKey::seal`] produced for the same tenant and connection.
    pub(crate) fn open(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        blob: &[u8],
    ) -> Result<Credentials> {
        let failed = || {
            Error::new(ErrorKind::Crypto, DECRYPT_FAILED)
                .with_tenant(tenant)
                .with_connection(connection)
                .with_operation("store.get_connection")
        };
        let (&version, rest) = blob.split_first().ok_or_else(failed)?;
        if version != FORMAT_V1 || rest.len() < NONCE_LEN {
            return Err(failed());
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| failed())?;
        let aad = associated_data(tenant, connection);
        let plaintext = self
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| failed())?;
        // The plaintext is dropped right after parsing; a parse failure means the row
        // was written by something else, which is tampering from our point of view.
        Credentials::from_plaintext(&plaintext).map_err(|_| failed())
    }
}

impl fmt::Debug for CredentialKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CredentialKey([REDACTED])")
    }
}

/// Binds a ciphertext to its row: length-prefixed so `("ab", "c")` ≠ `("a", "bc")`.
fn associated_data(tenant: &TenantId, connection: &ConnectionId) -> Vec<u8> {
    let mut aad = Vec::with_capacity(32 + tenant.as_str().len() + connection.as_str().len());
    aad.extend_from_slice(b"crmsync.credentials.v1");
    for part in [tenant.as_str(), connection.as_str()] {
        aad.extend_from_slice(&(part.len() as u64).to_be_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

/// `getrandom::Error` as a `std::error::Error` source.
#[derive(Debug)]
struct RandomError(getrandom::Error);

impl fmt::Display for RandomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for RandomError {}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample() -> Credentials {
        Credentials::new().with("access_token", "tok-very-secret")
    }

    #[test]
    fn sealed_credentials_open_with_the_same_key_and_row() {
        let key = CredentialKey::from_bytes([7; 32]);
        let (t, c) = (TenantId::new("t1"), ConnectionId::new("c1"));
        let blob = key.seal(&t, &c, &sample()).unwrap();
        assert!(!String::from_utf8_lossy(&blob).contains("tok-very-secret"));
        let opened = key.open(&t, &c, &blob).unwrap();
        assert_eq!(opened.names().collect::<Vec<_>>(), vec!["access_token"]);
    }

    #[test]
    fn each_write_uses_a_fresh_nonce() {
        let key = CredentialKey::from_bytes([7; 32]);
        let (t, c) = (TenantId::new("t1"), ConnectionId::new("c1"));
        assert_ne!(
            key.seal(&t, &c, &sample()).unwrap(),
            key.seal(&t, &c, &sample()).unwrap()
        );
    }

    #[test]
    fn wrong_key_or_other_row_is_a_crypto_error() {
        let key = CredentialKey::from_bytes([7; 32]);
        let (t, c) = (TenantId::new("t1"), ConnectionId::new("c1"));
        let blob = key.seal(&t, &c, &sample()).unwrap();
        let other = CredentialKey::from_bytes([8; 32]);
        let err = other.open(&t, &c, &blob).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Crypto);
        assert!(
            err.to_string().contains("wrong key or tampered row"),
            "{err}"
        );
        for (t2, c2) in [("t2", "c1"), ("t1", "c2"), ("t1c", "1")] {
            let err = key
                .open(&TenantId::new(t2), &ConnectionId::new(c2), &blob)
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Crypto);
        }
        assert_eq!(
            key.open(&t, &c, &blob[..5]).unwrap_err().kind(),
            ErrorKind::Crypto
        );
        assert_eq!(key.open(&t, &c, &[]).unwrap_err().kind(), ErrorKind::Crypto);
    }

    #[test]
    fn base64_keys_must_be_32_bytes() {
        assert!(CredentialKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").is_ok());
        assert_eq!(
            CredentialKey::from_base64("AAEC").unwrap_err().kind(),
            ErrorKind::Config
        );
        assert_eq!(
            CredentialKey::from_base64("not base64!")
                .unwrap_err()
                .kind(),
            ErrorKind::Config
        );
    }
}
