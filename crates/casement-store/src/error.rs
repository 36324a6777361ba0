/// A storage failure, by who is at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The caller asked for something that conflicts with what is stored (e.g. a duplicate UPN).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The caller named something that does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The database cannot be reached or refused the operation; retrying later may work.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Stored data could not be read back (a bug or a corrupt database).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}
