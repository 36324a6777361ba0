//! `sqlx::migrate!` embeds the migration files at compile time; without this, a migration added
//! (or edited) after a build is not seen by the next incremental build.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
