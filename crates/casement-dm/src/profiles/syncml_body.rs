//! Settings derived from a SyncML body of `Add`/`Replace` items, as administrators have them
//! from other MDMs. STUB: to be completed.

use super::setting::Setting;
use super::validate::Invalid;

/// The settings a SyncML body (a `<SyncBody>`, or bare `Add`/`Replace`/`Atomic` elements) sets.
pub fn settings_from_syncml(body: &str) -> Result<Vec<Setting>, Invalid> {
    let _ = body;
    Err(Invalid::profile("SyncML bodies are not read yet"))
}
