//! `sqlx::migrate!` embeds `migrations/` when the crate compiles: a new migration file must
//! rebuild it, which cargo does not know without being told.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
