//! Chart archives (`.tgz`): reading untrusted archives safely (no `..`, absolute paths, links
//! or device files; capped decompressed size and entry count; corrupt or truncated data
//! refused), extracting them for `pull --untar`, and writing reproducible packages.

use super::ChartError;
use super::loader::{self, Origin, RawFile};
use super::validate::validate_metadata_in;
use flate2::read::GzDecoder;
use std::cell::Cell;
use std::collections::HashSet;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// helm's cap on what a chart archive may decompress to (`MaxDecompressedChartSize`).
pub const MAX_DECOMPRESSED_BYTES: u64 = 100 * 1024 * 1024;
/// Cap on the number of entries in one chart archive (subcharts included).
pub const MAX_ENTRIES: usize = 10_000;

/// Limits applied while reading an archive. Nested subchart archives share the same budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Maximum total decompressed bytes (tar stream, headers included).
    pub max_decompressed_bytes: u64,
    /// Maximum number of tar entries.
    pub max_entries: usize,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_decompressed_bytes: MAX_DECOMPRESSED_BYTES,
            max_entries: MAX_ENTRIES,
        }
    }
}

/// What is left of the limits while one chart (and its nested archives) is read.
#[derive(Debug)]
pub(crate) struct Budget {
    limits: ArchiveLimits,
    bytes: u64,
    entries: usize,
}

impl Budget {
    pub(crate) fn new(limits: ArchiveLimits) -> Self {
        Budget {
            limits,
            bytes: limits.max_decompressed_bytes,
            entries: limits.max_entries,
        }
    }
}

/// A reader that fails once more than `remaining` bytes have been read through it.
struct CappedReader<R> {
    inner: R,
    remaining: u64,
    read: u64,
    exceeded: Rc<Cell<bool>>,
}

impl<R: Read> Read for CappedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.remaining {
            self.exceeded.set(true);
            return Err(io::Error::other("decompressed size limit exceeded"));
        }
        Ok(n)
    }
}

/// Reads the entries of a chart archive with every safety check. Returns the top folder
/// name and the files under it (paths relative to it), sorted by name.
pub(crate) fn read_entries(
    bytes: &[u8],
    origin: &str,
    budget: &mut Budget,
) -> Result<(String, Vec<RawFile>), ChartError> {
    let corrupt = |reason: String| ChartError::CorruptArchive {
        origin: origin.to_string(),
        reason,
    };
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        let hint = if origin.ends_with(".yaml") || origin.ends_with(".yml") {
            "it looks like a YAML file, but a chart directory or .tgz was expected"
        } else {
            "it is not gzip-compressed"
        };
        return Err(corrupt(hint.into()));
    }
    let too_large = || ChartError::ArchiveTooLarge {
        origin: origin.to_string(),
        limit: budget.limits.max_decompressed_bytes,
    };
    let limit_bytes = budget.limits.max_decompressed_bytes;
    let exceeded = Rc::new(Cell::new(false));
    let reader = CappedReader {
        inner: GzDecoder::new(bytes),
        remaining: budget.bytes,
        read: 0,
        exceeded: exceeded.clone(),
    };
    let io_failure = |e: io::Error, what: &str| {
        if exceeded.get() {
            ChartError::ArchiveTooLarge {
                origin: origin.to_string(),
                limit: limit_bytes,
            }
        } else {
            corrupt(format!("it is truncated or corrupt ({what}: {e})"))
        }
    };
    let mut archive = tar::Archive::new(reader);
    let mut top: Option<String> = None;
    let mut files = Vec::new();
    let mut seen = HashSet::new();
    let entries = archive
        .entries()
        .map_err(|e| io_failure(e, "reading the tar stream"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| io_failure(e, "reading the tar stream"))?;
        if budget.entries == 0 {
            return Err(ChartError::ArchiveTooManyEntries {
                origin: origin.to_string(),
                limit: budget.limits.max_entries,
            });
        }
        budget.entries -= 1;
        let raw_path = String::from_utf8(entry.path_bytes().into_owned()).map_err(|e| {
            ChartError::UnsafeArchiveEntry {
                origin: origin.to_string(),
                entry: String::from_utf8_lossy(e.as_bytes()).into_owned(),
                reason: "its name is not valid UTF-8".into(),
            }
        })?;
        let unsafe_entry = |reason: &str| ChartError::UnsafeArchiveEntry {
            origin: origin.to_string(),
            entry: raw_path.clone(),
            reason: reason.to_string(),
        };
        let kind = entry.header().entry_type();
        use tar::EntryType as T;
        match kind {
            T::Directory => {
                split_entry_path(&raw_path).map_err(unsafe_entry)?;
                continue;
            }
            T::XGlobalHeader | T::XHeader | T::GNULongName | T::GNULongLink => continue,
            T::Regular | T::Continuous => {}
            T::Symlink | T::Link => {
                let target = entry
                    .link_name()
                    .ok()
                    .flatten()
                    .map(|t| t.display().to_string())
                    .unwrap_or_default();
                return Err(unsafe_entry(&format!(
                    "it is a link (to `{target}`); chart archives may not contain links"
                )));
            }
            T::Char | T::Block | T::Fifo => {
                return Err(unsafe_entry(
                    "it is a device or pipe; chart archives may only contain regular files",
                ));
            }
            _ => {
                return Err(unsafe_entry(
                    "it has an unsupported entry type; chart archives may only contain regular files",
                ));
            }
        }
        let (entry_top, relative) = split_entry_path(&raw_path).map_err(unsafe_entry)?;
        if relative.is_empty() {
            return Err(unsafe_entry(
                "it is not inside the chart's top-level folder",
            ));
        }
        match &top {
            None => top = Some(entry_top.clone()),
            Some(existing) if *existing != entry_top => {
                return Err(corrupt(format!(
                    "it has more than one top-level folder (`{existing}` and `{entry_top}`); a chart archive holds one chart folder"
                )));
            }
            Some(_) => {}
        }
        let size = entry
            .header()
            .size()
            .map_err(|e| io_failure(e, "reading an entry header"))?;
        if size > budget.bytes {
            return Err(too_large());
        }
        let mut data = Vec::with_capacity(size.min(1 << 20) as usize);
        entry
            .read_to_end(&mut data)
            .map_err(|e| io_failure(e, &format!("reading `{raw_path}`")))?;
        if data.len() as u64 != size {
            return Err(corrupt(format!(
                "`{raw_path}` is truncated ({} of {size} bytes)",
                data.len()
            )));
        }
        if !seen.insert(relative.clone()) {
            return Err(unsafe_entry("the archive contains this path twice"));
        }
        files.push(RawFile::new(relative, data));
    }
    // Read to the end so a truncated or corrupt gzip trailer (CRC, length) is noticed.
    let mut reader = archive.into_inner();
    io::copy(&mut reader, &mut io::sink())
        .map_err(|e| io_failure(e, "checking the end of the gzip stream"))?;
    budget.bytes = budget.bytes.saturating_sub(reader.read);
    let Some(top) = top else {
        return Err(corrupt("it contains no files".into()));
    };
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((top, files))
}

/// Splits an archive entry path into its top folder and the path beneath it, refusing
/// anything that could land outside the chart folder.
fn split_entry_path(raw: &str) -> Result<(String, String), &'static str> {
    let normalized = raw.replace('\\', "/");
    if normalized.contains('\0') {
        return Err("its name contains a NUL byte");
    }
    if normalized.starts_with('/') {
        return Err("it is an absolute path");
    }
    let bytes = normalized.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err("it is an absolute (drive-letter) path");
    }
    let parts: Vec<&str> = normalized
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return Err("it refers to a parent directory (`..`)");
    }
    match parts.split_first() {
        Some((top, rest)) => Ok((top.to_string(), rest.join("/"))),
        None => Err("it has an empty name"),
    }
}

/// Safely extracts a chart archive into `dest` (for `pull --untar`) and returns the chart
/// directory (`dest/<top folder>`). The archive is fully checked and loaded first; files are
/// written to a temporary directory in `dest` and renamed into place, so a failure leaves
/// nothing behind. An existing `dest/<top folder>` is never overwritten.
pub fn extract(bytes: &[u8], dest: &Path) -> Result<PathBuf, ChartError> {
    extract_with_limits(bytes, "the chart archive", dest, ArchiveLimits::default())
}

/// [`extract`] naming the archive in errors (`origin`: a file name or URL) and with
/// explicit decompression limits.
pub fn extract_with_limits(
    bytes: &[u8],
    origin: &str,
    dest: &Path,
    limits: ArchiveLimits,
) -> Result<PathBuf, ChartError> {
    let mut budget = Budget::new(limits);
    let (top, files) = read_entries(bytes, origin, &mut budget)?;
    loader::assemble(files.clone(), &Origin::archive(origin, &top), &mut budget)?;
    let target = dest.join(&top);
    if fs::symlink_metadata(&target).is_ok() {
        return Err(ChartError::DestinationExists(target));
    }
    fs::create_dir_all(dest).map_err(|e| ChartError::write(dest.display(), e))?;
    let staging = dest.join(temp_name(&top));
    let result = (|| {
        fs::create_dir(&staging).map_err(|e| ChartError::write(staging.display(), e))?;
        for file in &files {
            let path = staging.join(&file.name);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(|e| ChartError::write(parent.display(), e))?;
            }
            fs::write(&path, &file.data).map_err(|e| ChartError::write(path.display(), e))?;
        }
        fs::rename(&staging, &target).map_err(|e| ChartError::write(target.display(), e))
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    result.map(|()| target)
}

/// Packages the chart directory `chart_dir` into `dest_dir/<name>-<version>.tgz` and returns
/// that path. `.helmignore` is honoured; `version`/`app_version` override `Chart.yaml`. The
/// archive is reproducible: entries sorted, mtime 0, uid/gid 0, mode 0644, and a gzip header
/// without time or file name — packaging the same chart twice gives identical bytes. The
/// file is written to a temporary file in `dest_dir` and renamed, so a failure leaves nothing.
pub fn write_package(
    chart_dir: &Path,
    dest_dir: &Path,
    version: Option<&str>,
    app_version: Option<&str>,
) -> Result<PathBuf, ChartError> {
    let (file_name, bytes) = package_bytes(chart_dir, version, app_version)?;
    let target = dest_dir.join(&file_name);
    fs::create_dir_all(dest_dir).map_err(|e| ChartError::write(dest_dir.display(), e))?;
    let staging = dest_dir.join(temp_name(&file_name));
    let result = (|| {
        let mut out =
            fs::File::create(&staging).map_err(|e| ChartError::write(staging.display(), e))?;
        out.write_all(&bytes)
            .and_then(|()| out.sync_all())
            .map_err(|e| ChartError::write(staging.display(), e))?;
        fs::rename(&staging, &target).map_err(|e| ChartError::write(target.display(), e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&staging);
    }
    result.map(|()| target)
}

/// Builds the package of `chart_dir` in memory: its file name and its bytes.
pub fn package_bytes(
    chart_dir: &Path,
    version: Option<&str>,
    app_version: Option<&str>,
) -> Result<(String, Vec<u8>), ChartError> {
    let mut files = loader::collect_dir_files(chart_dir)?;
    let origin = Origin::dir(chart_dir);
    // Load (and so validate) the chart exactly as it will be packaged.
    let chart = loader::assemble(
        files.clone(),
        &origin,
        &mut Budget::new(ArchiveLimits::default()),
    )?;
    let mut metadata = chart.metadata;
    if version.is_some() || app_version.is_some() {
        if let Some(version) = version {
            metadata.version = version.to_string();
        }
        if let Some(app_version) = app_version {
            metadata.app_version = Some(app_version.to_string());
        }
        let shown = format!(
            "{} (with --version/--app-version)",
            origin.file("Chart.yaml")
        );
        validate_metadata_in(&metadata, &shown)?;
        let yaml = metadata.to_sorted_yaml();
        let chart_yaml = files
            .iter_mut()
            .find(|f| f.name == "Chart.yaml")
            .expect("a loaded chart has a Chart.yaml");
        chart_yaml.data = yaml.into_bytes();
    }
    let name = metadata.name.clone();
    let file_name = format!("{name}-{}.tgz", metadata.version);

    let mut tar = tar::Builder::new(Vec::new());
    for file in &files {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(file.data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        let path = format!("{name}/{}", file.name);
        tar.append_data(&mut header, &path, file.data.as_slice())
            .map_err(|e| ChartError::write(&file_name, e))?;
    }
    let tar_bytes = tar
        .into_inner()
        .map_err(|e| ChartError::write(&file_name, e))?;
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar_bytes)
        .map_err(|e| ChartError::write(&file_name, e))?;
    let bytes = gz.finish().map_err(|e| ChartError::write(&file_name, e))?;
    // The package must load back to a chart (e.g. names stay within limits).
    loader::load_archive_with_limits(&bytes, &file_name, ArchiveLimits::default())?;
    Ok((file_name, bytes))
}

/// A hidden, unique name for a staging file or directory next to its final location.
fn temp_name(final_name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(".{final_name}.rudder-tmp-{}-{nanos}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_paths_are_checked() {
        assert_eq!(
            split_entry_path("mychart/templates/a.yaml").unwrap(),
            ("mychart".into(), "templates/a.yaml".into())
        );
        assert_eq!(
            split_entry_path("./mychart/Chart.yaml").unwrap(),
            ("mychart".into(), "Chart.yaml".into())
        );
        assert!(split_entry_path("/etc/passwd").is_err());
        assert!(split_entry_path("C:/evil").is_err());
        assert!(split_entry_path("mychart/../../evil").is_err());
        assert!(split_entry_path("mychart\\..\\evil").is_err());
        assert_eq!(split_entry_path("Chart.yaml").unwrap().1, "");
    }
}
