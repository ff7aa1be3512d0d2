//! Compiles `proto/identity.proto` with the protoc shipped in `protoc-bin-vendored`, so building
//! needs no system protoc.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // sqlx::migrate! embeds the migrations when the crate compiles: a new file must rebuild it.
    println!("cargo:rerun-if-changed=migrations");
    let proto_dir =
        std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let proto = proto_dir.join("identity.proto");
    println!("cargo:rerun-if-changed={}", proto.display());
    println!(
        "cargo:rerun-if-changed={}",
        proto_dir.join("common.proto").display()
    );
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    tonic_prost_build::configure()
        // The shared messages are compiled once, by nave-hub-core.
        .extern_path(".nave.common.v1", "::nave_hub_core::pb")
        .compile_with_config(config, &[proto], &[proto_dir])?;
    Ok(())
}
