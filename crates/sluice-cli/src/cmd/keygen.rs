//! `sluice keygen`: a new API key, printed once, and its key-file entry.

use crate::error::Failure;

pub fn run(name: &str, principals: &[String], rpm: u32) -> Result<(), Failure> {
    if let Some(bad) = principals.iter().find(|p| !p.contains(':')) {
        return Err(Failure::Invalid(format!(
            "--principal {bad}: write it as stored, e.g. confluence:wiki:group:hr (or group:hr for a files source)"
        )));
    }
    let key = format!("slk_{}", uuid::Uuid::new_v4().simple());
    println!("key (store it now, it is not kept anywhere): {key}");
    println!("entry for the key file:");
    println!("  - name: {name}");
    println!("    sha256: {}", sluice_api::hash_key(&key));
    println!("    principals: [{}]", principals.join(", "));
    println!("    requests_per_minute: {rpm}");
    Ok(())
}
