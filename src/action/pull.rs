//! `rudder pull REPO/CHART | URL | oci://… [--version C] [--devel] [-d DIR] [--untar
//! [--untardir DIR]]`: downloads a chart (digest verified against the index) and saves the
//! package, or safely unpacks it. Nothing is written when any check fails.

use crate::chart::archive;
use crate::repo::{LocateOptions, RepoError, RepoSettings, fetch_chart, write_atomic};
use std::path::PathBuf;

/// What `pull` was asked to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullOptions {
    pub reference: String,
    pub locate: LocateOptions,
    /// Where the package (or the `untardir`) goes (`-d`, default `.`).
    pub destination: PathBuf,
    /// Unpack instead of saving the package.
    pub untar: bool,
    /// Where to unpack, relative to `destination` unless absolute (default `.`).
    pub untardir: Option<PathBuf>,
}

/// What `pull` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullOutcome {
    /// The saved package or the unpacked chart directory.
    pub path: PathBuf,
    /// For `oci://` pulls: `host/path/name:tag` and the manifest digest (helm prints them).
    pub oci: Option<(String, String)>,
}

/// Downloads, verifies and saves (or unpacks) the chart.
pub async fn pull(opts: &PullOptions, settings: &RepoSettings) -> Result<PullOutcome, RepoError> {
    let destination = if opts.destination.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        opts.destination.clone()
    };
    let (fetched, oci) = if opts.reference.starts_with("oci://") {
        let pulled = crate::registry::pull(
            &opts.reference,
            opts.locate.constraint(),
            &opts.locate.registry,
            &settings.registry_config,
        )
        .await?;
        let oci = Some((pulled.display.clone(), pulled.manifest_digest.clone()));
        let loaded = crate::chart::load_archive(&pulled.bytes, &pulled.source)?;
        let fetched = crate::repo::Fetched {
            file_name: format!("{}-{}.tgz", loaded.metadata.name, loaded.metadata.version),
            name: loaded.metadata.name,
            version: loaded.metadata.version,
            digest: crate::repo::sha256_hex(&pulled.bytes),
            source: pulled.source,
            bytes: pulled.bytes,
        };
        (fetched, oci)
    } else {
        (
            fetch_chart(&opts.reference, &opts.locate, settings).await?,
            None,
        )
    };
    if opts.untar {
        let dir = match &opts.untardir {
            Some(d) if d.is_absolute() => d.clone(),
            Some(d) => destination.join(d),
            None => destination.clone(),
        };
        let path = archive::extract_with_limits(
            &fetched.bytes,
            &fetched.source,
            &dir,
            archive::ArchiveLimits::default(),
        )?;
        return Ok(PullOutcome { path, oci });
    }
    let path = destination.join(&fetched.file_name);
    write_atomic(&path, &fetched.bytes, false)?;
    Ok(PullOutcome { path, oci })
}
