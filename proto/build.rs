//! Compiles proto/users/v1/users.proto with protox (pure Rust), so no system `protoc` is needed,
//! and keeps the encoded descriptor set for gRPC reflection.

use std::{env, fs, path::PathBuf};

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=users");
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let descriptors = protox::compile(["users/v1/users.proto"], ["."])?;
    fs::write(
        out_dir.join("users_v1_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}
