//! Derivation of the Valkey key of a session.

use sha2::{Digest, Sha256};

/// Returns `<prefix>:<hex SHA-256 of the session id>`.
///
/// Hashing keeps session ids, which may be bearer tokens, out of the keyspace
/// and out of `MONITOR` output, and gives every key the same length.
pub(crate) fn session_key(prefix: &str, session_id: &str) -> String {
    let digest = Sha256::digest(session_id.as_bytes());
    let mut digest_hex = [0u8; 64];
    hex::encode_to_slice(digest, &mut digest_hex).expect("64 bytes hold a 32-byte digest in hex");
    let digest_hex = std::str::from_utf8(&digest_hex).expect("hex digits are ASCII");

    // One allocation of the exact size, on the path of every request.
    let mut key = String::with_capacity(prefix.len() + 1 + digest_hex.len());
    key.push_str(prefix);
    key.push(':');
    key.push_str(digest_hex);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_prefix_and_hex_digest() {
        // SHA-256("abc") from FIPS 180-2, appendix B.1.
        assert_eq!(
            session_key("taint:v1", "abc"),
            "taint:v1:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn key_has_fixed_length_and_lower_case_hex() {
        let key = session_key("p", &"x".repeat(500));
        let (prefix, digest) = key.split_once(':').unwrap();
        assert_eq!(prefix, "p");
        assert_eq!(digest.len(), 64);
        assert!(
            digest
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        );
    }
}
