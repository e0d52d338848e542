//! Deterministic identifiers: the same source record always maps to the same
//! document and chunk ids, which is what makes every write idempotent.

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Namespace for Sluice document ids (a fixed random UUID; never change it,
/// or every index built so far gets new ids).
pub const SLUICE_NAMESPACE: Uuid = Uuid::from_u128(0x6f0c_1b9e_52d4_4d1a_9a57_3c2e_8b40_d915);

/// Document id = UUIDv5(namespace, source id + U+001F + external id).
/// The unit separator keeps ("a", "b:c") and ("a:b", "c") apart.
pub fn doc_id(source: &str, external_id: &str) -> Uuid {
    let mut name = Vec::with_capacity(source.len() + external_id.len() + 1);
    name.extend_from_slice(source.as_bytes());
    name.push(0x1f);
    name.extend_from_slice(external_id.as_bytes());
    Uuid::new_v5(&SLUICE_NAMESPACE, &name)
}

/// Chunk id = UUIDv5(doc id, ordinal): stable across runs so a re-chunked
/// document overwrites its own points instead of adding new ones.
pub fn chunk_id(doc_id: &Uuid, ordinal: u32) -> Uuid {
    Uuid::new_v5(doc_id, ordinal.to_string().as_bytes())
}

/// Hex SHA-256 of some bytes; used for chunk and document content hashes.
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_id_is_stable_and_separates_fields() {
        let a = doc_id("confluence", "123");
        assert_eq!(a, doc_id("confluence", "123"));
        assert_ne!(a, doc_id("confluence", "124"));
        assert_ne!(doc_id("a", "b:c"), doc_id("a:b", "c"));
        assert_eq!(a.get_version_num(), 5);
    }

    #[test]
    fn chunk_ids_differ_by_ordinal_and_document() {
        let d1 = doc_id("s", "1");
        let d2 = doc_id("s", "2");
        assert_ne!(chunk_id(&d1, 0), chunk_id(&d1, 1));
        assert_ne!(chunk_id(&d1, 0), chunk_id(&d2, 0));
        assert_eq!(chunk_id(&d1, 3), chunk_id(&d1, 3));
    }

    #[test]
    fn content_hash_is_sha256_hex() {
        assert_eq!(
            content_hash(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
