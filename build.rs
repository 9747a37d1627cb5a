// Re-run the build when migrations change, so that `embed_migrations!` picks them up.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
