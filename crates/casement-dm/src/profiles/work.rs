//! TODO work
