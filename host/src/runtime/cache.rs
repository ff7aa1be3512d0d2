//! Compiled spokes cached on disk, keyed by the component's digest and the engine's
//! compatibility hash, so a restart (or a second replica on the same volume) does not
//! compile again.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;

use anyhow::Context;
use wasmtime::Engine;
use wasmtime::component::Component;

use super::LoadError;

/// Whether a load found compiled code on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Compiled code was read from the cache.
    Hit,
    /// The component was compiled (and the result stored).
    Miss,
}

/// The folder of compiled artifacts.
pub(super) struct CompiledCache {
    dir: PathBuf,
    /// Distinguishes artifacts of engines with other settings or versions.
    engine_key: String,
}

impl CompiledCache {
    pub(super) fn new(dir: PathBuf, engine: &Engine) -> anyhow::Result<CompiledCache> {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(CompiledCache {
            dir,
            engine_key: format!("{:016x}", hasher.finish()),
        })
    }

    /// The component for `wasm`, from the cache or compiled now.
    pub(super) fn load(
        &self,
        engine: &Engine,
        digest: &str,
        wasm: &[u8],
    ) -> Result<(Component, CacheOutcome), LoadError> {
        let hex = digest.trim_start_matches("sha256:");
        let path = self.dir.join(format!("{hex}-{}.cwasm", self.engine_key));
        if path.exists() {
            // SAFETY: the file was written by `Component::serialize` of this host into its own
            // data folder under a name bound to this engine's settings; nothing else writes there.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => {
                    tracing::debug!(%digest, "compiled spoke loaded from the cache");
                    return Ok((component, CacheOutcome::Hit));
                }
                Err(err) => {
                    tracing::warn!(%digest, error = %err, "unusable cache entry; compiling again");
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let started = std::time::Instant::now();
        let component =
            Component::new(engine, wasm).map_err(|err| LoadError::Invalid(format!("{err:#}")))?;
        tracing::info!(%digest, elapsed_ms = started.elapsed().as_millis() as u64, "spoke compiled (cache miss)");
        match component.serialize() {
            Ok(bytes) => {
                let tmp = path.with_extension(format!("tmp{}", std::process::id()));
                let written =
                    std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, &path));
                if let Err(err) = written {
                    tracing::warn!(%digest, error = %err, "could not store compiled spoke in the cache");
                    let _ = std::fs::remove_file(&tmp);
                }
            }
            Err(err) => tracing::warn!(%digest, error = %err, "could not serialize compiled spoke"),
        }
        Ok((component, CacheOutcome::Miss))
    }
}
