//! Cluster passwords at rest: encrypted with ChaCha20-Poly1305 under a 32-byte key.
//!
//! # The key
//!
//! [`SecretKey`] is 32 random bytes, written as 64 hexadecimal characters (upper or lower case,
//! surrounding white space ignored). It comes from `ROCKSCOPE_SECRET_KEY` (read by the binary
//! and passed in [`crate::StoreOptions::secret_key`]) or else from the key file beside the
//! database, `<database path>.key` ([`key_file_path`]), which [`SecretKey::load_or_create`]
//! creates with mode `0600` on first start. Without its key a database's passwords are lost
//! (every other table stays readable), so back the key up with the database.
//!
//! # Stored form
//!
//! `clusters.password` holds [`PREFIX`] followed by the hexadecimal of a fresh random 96-bit
//! nonce and the ciphertext with its 16-byte tag. A random nonce per value (rather than a
//! counter) needs no state, and at rockscope's few writes a collision of 96-bit nonces is out of
//! reach. A value without the prefix is a plaintext password of an older rockscope; the store
//! encrypts those rows when it opens the database, so after that
//! every value carries the prefix and the two forms cannot be confused.

use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rusqlite::{Transaction, params};

use crate::error::{Error, Result};

/// What starts every encrypted `clusters.password` value (version 1 of the format).
pub const PREFIX: &str = "rsenc1:";

/// The associated data every password is sealed with: a value copied into another column or
/// another program's table does not open as a password.
const AAD: &[u8] = b"rockscope clusters.password v1";

/// Bytes of a nonce.
const NONCE_LEN: usize = 12;

/// The key that encrypts the cluster passwords: 32 bytes. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

/// Why a text is not a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a secret key is 64 hexadecimal characters (32 bytes), e.g. from `openssl rand -hex 32`; \
     got {0}"
)]
pub struct KeyFormatError(String);

impl SecretKey {
    /// A key from its text: 64 hexadecimal characters, white space around them ignored.
    pub fn parse(text: &str) -> Result<SecretKey, KeyFormatError> {
        let text = text.trim();
        if text.len() != 64 {
            return Err(KeyFormatError(format!(
                "{} characters",
                text.chars().count()
            )));
        }
        let bytes = decode_hex(text)
            .ok_or_else(|| KeyFormatError("a character that is not hexadecimal".into()))?;
        let mut key = [0u8; 32];
        key.copy_from_slice(&bytes);
        Ok(SecretKey(key))
    }

    /// A new random key (from the operating system's generator).
    pub fn generate() -> SecretKey {
        SecretKey(ChaCha20Poly1305::generate_key(&mut OsRng).into())
    }

    /// The key's text form (64 lower-case hexadecimal characters), as [`SecretKey::parse`] reads.
    pub fn to_hex(&self) -> String {
        encode_hex(&self.0)
    }

    /// The key in the file at `path`, or, when there is no such file, a new key written there
    /// (mode `0600`, whatever the umask; never overwriting a file that appeared meanwhile).
    pub fn load_or_create(path: &Path) -> Result<SecretKey> {
        let key_error = |source: std::io::Error| Error::KeyFile {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => SecretKey::parse(&text).map_err(|e| Error::KeyFormat {
                origin: path.display().to_string(),
                source: e,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SecretKey::generate();
                write_key_file(path, &key).map_err(key_error)?;
                log::info!(
                    "store: created the secret key file {} (back it up with the database)",
                    path.display()
                );
                Ok(key)
            }
            Err(e) => Err(key_error(e)),
        }
    }

    /// Encrypts `password` into its stored form ([`PREFIX`], nonce, ciphertext).
    pub(crate) fn seal(&self, password: &str) -> String {
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.0));
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: password.as_bytes(),
            aad: AAD,
        };
        // Encryption into a Vec fails only for messages over 256 GiB.
        let sealed = cipher.encrypt(&nonce, payload).unwrap_or_default();
        let mut out = String::with_capacity(PREFIX.len() + 2 * (NONCE_LEN + sealed.len()));
        out.push_str(PREFIX);
        out.push_str(&encode_hex(&nonce));
        out.push_str(&encode_hex(&sealed));
        out
    }

    /// The password in a stored value; `None` when it does not open with this key (a wrong or
    /// lost key, or a damaged value). `stored` must carry [`PREFIX`].
    pub(crate) fn open(&self, stored: &str) -> Option<String> {
        let bytes = decode_hex(stored.strip_prefix(PREFIX)?)?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.0));
        let payload = Payload {
            msg: sealed,
            aad: AAD,
        };
        let clear = cipher.decrypt(Nonce::from_slice(nonce), payload).ok()?;
        String::from_utf8(clear).ok()
    }
}

/// Writes `key` to the new file `path` (mode `0600`; never over an existing file).
pub(crate) fn write_key_file(path: &Path, key: &SecretKey) -> std::io::Result<()> {
    let mut file = owner_only_file(path)?;
    file.write_all(format!("{}\n", key.to_hex()).as_bytes())?;
    file.sync_all()
}

/// Creates a new file readable and writable by its owner only, whatever the umask.
fn owner_only_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    crate::files::restrict(path, crate::files::FILE_MODE)?;
    Ok(file)
}

/// The key file of the database at `db_path`: `<db_path>.key`.
pub fn key_file_path(db_path: &Path) -> PathBuf {
    let mut p = db_path.as_os_str().to_owned();
    p.push(".key");
    PathBuf::from(p)
}

/// Encrypts every `clusters.password` value that is still plaintext (written by a rockscope
/// before encryption at rest); returns how many.
pub(crate) fn encrypt_plaintext_rows(tx: &Transaction<'_>, key: &SecretKey) -> Result<usize> {
    let plain: Vec<(i64, String)> = {
        let mut stmt = tx.prepare(
            "SELECT id, password FROM clusters WHERE substr(password, 1, length(?1)) IS NOT ?1",
        )?;
        stmt.query_map([PREFIX], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    for (id, password) in &plain {
        tx.execute(
            "UPDATE clusters SET password = ?2 WHERE id = ?1",
            params![id, key.seal(password)],
        )?;
    }
    Ok(plain.len())
}

/// The names of the clusters whose stored password does not open with `key`.
pub(crate) fn unreadable_clusters(
    conn: &rusqlite::Connection,
    key: &SecretKey,
) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name, password FROM clusters ORDER BY id")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows
        .into_iter()
        .filter(|(_, stored)| key.open(stored).is_none())
        .map(|(name, _)| name)
        .collect())
}

/// Re-encrypts every stored password from `old` to `new`, in one transaction. Fails (changing
/// nothing) with [`Error::UnreadablePasswords`] when some password does not open with `old`.
pub(crate) fn reencrypt(tx: &Transaction<'_>, old: &SecretKey, new: &SecretKey) -> Result<usize> {
    let rows: Vec<(i64, String, String)> = {
        let mut stmt = tx.prepare("SELECT id, name, password FROM clusters ORDER BY id")?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    let mut unreadable = Vec::new();
    let mut sealed = Vec::with_capacity(rows.len());
    for (id, name, stored) in rows {
        match old.open(&stored) {
            Some(clear) => sealed.push((id, new.seal(&clear))),
            None => unreadable.push(name),
        }
    }
    if !unreadable.is_empty() {
        return Err(Error::UnreadablePasswords {
            clusters: unreadable,
        });
    }
    for (id, value) in &sealed {
        tx.execute(
            "UPDATE clusters SET password = ?2 WHERE id = ?1",
            params![id, value],
        )?;
    }
    Ok(sealed.len())
}

fn encode_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_password_opens_with_its_key_only() {
        let key = SecretKey::generate();
        let sealed = key.seal("p@ss");
        assert!(sealed.starts_with(PREFIX));
        assert!(!sealed.contains("p@ss"));
        assert_ne!(sealed, key.seal("p@ss"), "a fresh nonce per value");
        assert_eq!(key.open(&sealed).as_deref(), Some("p@ss"));
        assert_eq!(SecretKey::generate().open(&sealed), None);
        assert_eq!(key.open("p@ss"), None);
    }

    #[test]
    fn a_key_is_64_hex_characters() {
        let key = SecretKey::generate();
        assert_eq!(SecretKey::parse(&format!(" {}\n", key.to_hex())), Ok(key));
        assert!(SecretKey::parse("abc").is_err());
        assert!(SecretKey::parse(&"g".repeat(64)).is_err());
        assert_eq!(format!("{:?}", SecretKey::generate()), "SecretKey(***)");
    }
}
