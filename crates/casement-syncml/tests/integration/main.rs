//! The codec against spec samples and real Windows captures (see `testdata/README.md`), hostile
//! input, and the parse ∘ write round trip.

mod equivalence;
mod fixtures;
mod hostile;
mod roundtrip;
