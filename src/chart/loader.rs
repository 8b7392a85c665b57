//! Chart loading: a chart directory (honouring `.helmignore`, refusing symlinks that leave the
//! chart) or a `.tgz` becomes a [`Chart`]; both go through one file-list assembler, so a
//! directory and its package load to the same chart.

use super::archive::{self, ArchiveLimits, Budget};
use super::helmignore::HelmIgnore;
use super::validate::validate_metadata_in;
use super::{Chart, ChartError, ChartFile, Metadata};
use rayon::prelude::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::rc::Rc;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A file of a chart before it is sorted into templates, values, subcharts…: its
/// slash-separated path relative to the chart root and its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawFile {
    pub name: String,
    pub data: Vec<u8>,
}

impl RawFile {
    pub(crate) fn new(name: String, mut data: Vec<u8>) -> Self {
        if data.starts_with(UTF8_BOM) {
            data.drain(..UTF8_BOM.len());
        }
        RawFile { name, data }
    }
}

/// How the files of one chart are named in errors: `path/to/chart/values.yaml` for a
/// directory, `mychart/values.yaml (in mychart-1.0.0.tgz)` for an archive.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    root: String,
    archive: Option<String>,
}

impl Origin {
    pub(crate) fn dir(dir: &Path) -> Self {
        let root = dir.display().to_string();
        let root = match root.trim_end_matches('/') {
            "" => "/".to_string(),
            trimmed => trimmed.to_string(),
        };
        Origin {
            root,
            archive: None,
        }
    }

    pub(crate) fn archive(archive: &str, top: &str) -> Self {
        Origin {
            root: top.to_string(),
            archive: Some(archive.to_string()),
        }
    }

    /// The chart itself (its directory or top folder).
    pub(crate) fn chart(&self) -> String {
        self.with_archive(self.root.clone())
    }

    /// One file of the chart.
    pub(crate) fn file(&self, relative: &str) -> String {
        self.with_archive(format!("{}/{relative}", self.root))
    }

    fn subchart(&self, name: &str) -> Origin {
        Origin {
            root: format!("{}/charts/{name}", self.root),
            archive: self.archive.clone(),
        }
    }

    fn with_archive(&self, text: String) -> String {
        match &self.archive {
            Some(archive) => format!("{text} (in {archive})"),
            None => text,
        }
    }
}

/// Loads a chart from a directory or a `.tgz` file.
pub fn load(path: &Path) -> Result<Chart, ChartError> {
    let meta = fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ChartError::MissingChartPath(path.to_path_buf()),
        _ => ChartError::read(path.display(), e),
    })?;
    if meta.is_dir() {
        return load_dir(path);
    }
    let bytes = fs::read(path).map_err(|e| ChartError::read(path.display(), e))?;
    load_archive(&bytes, &path.display().to_string())
}

/// Loads a chart directory: `.helmignore` honoured, subcharts in `charts/` (directories and
/// `.tgz`) loaded recursively.
pub fn load_dir(dir: &Path) -> Result<Chart, ChartError> {
    let files = collect_dir_files(dir)?;
    let mut budget = Budget::new(ArchiveLimits::default());
    assemble(files, &Origin::dir(dir), &mut budget)
}

/// Loads a chart from the bytes of a `.tgz`; `origin` (a file name or URL) names it in errors.
pub fn load_archive(bytes: &[u8], origin: &str) -> Result<Chart, ChartError> {
    load_archive_with_limits(bytes, origin, ArchiveLimits::default())
}

/// [`load_archive`] with explicit decompression limits.
pub fn load_archive_with_limits(
    bytes: &[u8],
    origin: &str,
    limits: ArchiveLimits,
) -> Result<Chart, ChartError> {
    let mut budget = Budget::new(limits);
    load_archive_in(bytes, origin, &mut budget)
}

fn load_archive_in(bytes: &[u8], origin: &str, budget: &mut Budget) -> Result<Chart, ChartError> {
    let (top, files) = archive::read_entries(bytes, origin, budget)?;
    assemble(files, &Origin::archive(origin, &top), budget)
}

/// Reads every file of a chart directory that `.helmignore` keeps (subchart directories with
/// their own `.helmignore` too), sorted by name.
pub(crate) fn collect_dir_files(dir: &Path) -> Result<Vec<RawFile>, ChartError> {
    let meta = fs::metadata(dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ChartError::MissingChartPath(dir.to_path_buf()),
        _ => ChartError::read(dir.display(), e),
    })?;
    if !meta.is_dir() {
        return Err(ChartError::InvalidChartLayout {
            file: dir.display().to_string(),
            message: "expected a chart directory, found a file".into(),
        });
    }
    let root = fs::canonicalize(dir).map_err(|e| ChartError::read(dir.display(), e))?;
    let mut walker = DirWalker {
        shown_root: Origin::dir(dir).root,
        root: root.clone(),
        ancestors: vec![root.clone()],
        pending: Vec::new(),
    };
    let rules = vec![(String::new(), Rc::new(HelmIgnore::for_dir(dir)?))];
    walker.walk(dir, "", &rules)?;
    let mut files = walker.read_pending()?;
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

/// Finds a chart directory's files (following `.helmignore` and the symlink rules); the
/// files are read afterwards, in parallel.
struct DirWalker {
    shown_root: String,
    root: PathBuf,
    /// Canonical directories on the current path, to stop symlink loops.
    ancestors: Vec<PathBuf>,
    /// Regular files found: (name in the chart, path to read).
    pending: Vec<(String, PathBuf)>,
}

impl DirWalker {
    fn shown(&self, relative: &str) -> String {
        format!("{}/{relative}", self.shown_root)
    }

    fn walk(
        &mut self,
        dir: &Path,
        relative: &str,
        rules: &[(String, Rc<HelmIgnore>)],
    ) -> Result<(), ChartError> {
        let shown_dir = if relative.is_empty() {
            self.shown_root.clone()
        } else {
            self.shown(relative)
        };
        // The directory listing gives each entry's type without a stat call per file.
        let mut entries = fs::read_dir(dir)
            .map_err(|e| ChartError::read(&shown_dir, e))?
            .map(|entry| entry.and_then(|e| Ok((e.file_name(), e.file_type()?))))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ChartError::read(&shown_dir, e))?;
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, file_type) in entries {
            let Some(name) = name.to_str().map(str::to_string) else {
                return Err(ChartError::InvalidChartLayout {
                    file: format!("{shown_dir}/{}", name.to_string_lossy()),
                    message: "file names in a chart must be valid UTF-8".into(),
                });
            };
            let child_rel = if relative.is_empty() {
                name.clone()
            } else {
                format!("{relative}/{name}")
            };
            let path = dir.join(&name);
            let ignored = |is_dir: bool| {
                rules.iter().any(|(prefix, rules)| {
                    child_rel
                        .strip_prefix(prefix.as_str())
                        .is_some_and(|rel| rules.is_ignored(rel, is_dir))
                })
            };
            // Symbolic links are followed (within the chart); other entries are typed by the
            // listing itself.
            let (is_dir, is_file, target) = if file_type.is_symlink() {
                let Ok(target) = fs::canonicalize(&path) else {
                    if ignored(false) {
                        continue;
                    }
                    return Err(ChartError::InvalidChartLayout {
                        file: self.shown(&child_rel),
                        message: "is a broken symbolic link".into(),
                    });
                };
                let meta = fs::metadata(&target)
                    .map_err(|e| ChartError::read(self.shown(&child_rel), e))?;
                if ignored(meta.is_dir()) {
                    continue;
                }
                if !target.starts_with(&self.root) {
                    return Err(ChartError::SymlinkEscapesChart {
                        path: self.shown(&child_rel),
                        target: target.display().to_string(),
                    });
                }
                (meta.is_dir(), meta.is_file(), target)
            } else {
                if ignored(file_type.is_dir()) {
                    continue;
                }
                (file_type.is_dir(), file_type.is_file(), path)
            };
            if is_dir {
                let canonical = fs::canonicalize(&target)
                    .map_err(|e| ChartError::read(self.shown(&child_rel), e))?;
                if self.ancestors.contains(&canonical) {
                    return Err(ChartError::InvalidChartLayout {
                        file: self.shown(&child_rel),
                        message: "is a symbolic link to one of its own parent directories (a loop)"
                            .into(),
                    });
                }
                // A directory directly in some chart's charts/ is a subchart: its own
                // .helmignore applies beneath it, on top of its parents' rules.
                let (chart_prefix, _) = rules.last().expect("the chart root has rules");
                let is_subchart = child_rel
                    .strip_prefix(chart_prefix.as_str())
                    .and_then(|rest| rest.strip_prefix("charts/"))
                    .is_some_and(|rest| !rest.contains('/'));
                let mut nested = rules.to_vec();
                if is_subchart {
                    nested.push((
                        format!("{child_rel}/"),
                        Rc::new(HelmIgnore::for_dir(&target)?),
                    ));
                }
                self.ancestors.push(canonical);
                self.walk(&target, &child_rel, &nested)?;
                self.ancestors.pop();
                continue;
            }
            if !is_file {
                return Err(ChartError::IrregularFile {
                    path: self.shown(&child_rel),
                });
            }
            self.pending.push((child_rel, target));
        }
        Ok(())
    }

    /// Reads every file found, in parallel, within the chart size limit.
    fn read_pending(mut self) -> Result<Vec<RawFile>, ChartError> {
        use std::io::Read;
        use std::sync::atomic::{AtomicU64, Ordering};

        let pending = std::mem::take(&mut self.pending);
        let limit = ArchiveLimits::default().max_decompressed_bytes;
        let remaining = AtomicU64::new(limit);
        let too_large = || ChartError::ArchiveTooLarge {
            origin: self.shown_root.clone(),
            limit,
        };
        let read = |(name, path): (String, PathBuf)| -> Result<RawFile, ChartError> {
            let shown = self.shown(&name);
            let left = remaining.load(Ordering::Relaxed);
            let file = fs::File::open(&path).map_err(|e| ChartError::read(&shown, e))?;
            // The size sizes the buffer and stops an oversized file before it is read.
            // Reading at most that many bytes takes one read (no end-of-file probe); a file
            // that grows meanwhile is read as it was when sized.
            let expected = file
                .metadata()
                .map_err(|e| ChartError::read(&shown, e))?
                .len();
            if expected > left {
                return Err(too_large());
            }
            let mut data = Vec::with_capacity(expected as usize);
            file.take(expected)
                .read_to_end(&mut data)
                .map_err(|e| ChartError::read(&shown, e))?;
            let size = data.len() as u64;
            remaining
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| {
                    r.checked_sub(size)
                })
                .map_err(|_| too_large())?;
            Ok(RawFile::new(name, data))
        };
        let results: Vec<Result<RawFile, ChartError>> = pending.into_par_iter().map(read).collect();
        results.into_iter().collect()
    }
}

/// Sorts the files of one chart into a [`Chart`], loading subcharts recursively.
pub(crate) fn assemble(
    files: Vec<RawFile>,
    origin: &Origin,
    budget: &mut Budget,
) -> Result<Chart, ChartError> {
    let chart_yaml = origin.file("Chart.yaml");
    let Some(chart_file) = files.iter().find(|f| f.name == "Chart.yaml") else {
        return Err(ChartError::MissingChartYaml {
            chart: origin.chart(),
        });
    };
    let mut metadata = parse_metadata(&chart_file.data, &chart_yaml)?;
    let legacy = matches!(metadata.api_version.as_str(), "v1" | "");
    if legacy {
        apply_requirements(&mut metadata, &files, origin)?;
    }
    validate_metadata_in(&metadata, &chart_yaml)?;

    let mut chart = Chart {
        metadata,
        lock: None,
        templates: Vec::new(),
        values: Default::default(),
        raw_values: None,
        schema: None,
        files: Vec::new(),
        dependencies: Vec::new(),
    };
    // Subchart name -> its files (paths relative to the subchart) or its archive.
    let mut subchart_dirs: std::collections::BTreeMap<String, Vec<RawFile>> = Default::default();
    let mut subchart_archives: Vec<RawFile> = Vec::new();

    for file in files {
        let name = file.name.as_str();
        match name {
            "Chart.yaml" => {}
            "Chart.lock" | "requirements.lock" => {
                if name == "requirements.lock" && (!legacy || chart.lock.is_some()) {
                    chart.files.push(ChartFile {
                        name: file.name,
                        data: file.data,
                    });
                    continue;
                }
                let text = utf8(&file.data, &origin.file(name))?;
                let lock = serde_yaml::from_str(text)
                    .map_err(|e| ChartError::yaml(origin.file(name), &e))?;
                chart.lock = Some(lock);
                if name == "requirements.lock" {
                    // helm keeps a v1 chart's requirements files among its files too.
                    chart.files.push(ChartFile {
                        name: file.name,
                        data: file.data,
                    });
                }
            }
            "values.yaml" => {
                let shown = origin.file(name);
                let text = utf8(&file.data, &shown)?;
                chart.values = crate::values::parse_values_str(text, &shown).map_err(|e| {
                    ChartError::InvalidValues {
                        file: shown.clone(),
                        message: e.to_string(),
                    }
                })?;
                chart.raw_values = Some(text.to_string());
            }
            "values.schema.json" => {
                serde_json::from_slice::<serde_json::Value>(&file.data)
                    .map_err(|e| ChartError::json(origin.file(name), &e))?;
                chart.schema = Some(file.data);
            }
            _ if name.starts_with("templates/") => chart.templates.push(ChartFile {
                name: file.name,
                data: file.data,
            }),
            _ if name.starts_with("charts/") => {
                let rest = &name["charts/".len()..];
                let (subchart, inner) = match rest.split_once('/') {
                    Some((subchart, inner)) => (subchart, Some(inner)),
                    None => (rest, None),
                };
                if subchart.starts_with('.') || subchart.starts_with('_') {
                    // helm skips hidden and `_`-prefixed entries of charts/.
                    continue;
                }
                match inner {
                    Some(inner) => {
                        let inner = inner.to_string();
                        subchart_dirs
                            .entry(subchart.to_string())
                            .or_default()
                            .push(RawFile {
                                name: inner,
                                data: file.data,
                            });
                    }
                    None if rest.ends_with(".tgz") => subchart_archives.push(file),
                    None if rest.ends_with(".prov") => chart.files.push(ChartFile {
                        name: file.name,
                        data: file.data,
                    }),
                    None => {
                        return Err(ChartError::InvalidChartLayout {
                            file: origin.file(name),
                            message: "charts/ may only hold subchart directories and .tgz archives"
                                .into(),
                        });
                    }
                }
            }
            _ => chart.files.push(ChartFile {
                name: file.name,
                data: file.data,
            }),
        }
    }

    // Subchart directories that hold no archives draw nothing from the archive budget, so
    // they load in parallel (their values files are most of the loading time); the others
    // load in turn, sharing the budget.
    let (independent, sharing): (Vec<_>, Vec<_>) =
        subchart_dirs.into_iter().partition(|(_, files)| {
            !files
                .iter()
                .any(|f| f.name.contains("charts/") && f.name.ends_with(".tgz"))
        });
    let loaded: Vec<Result<Chart, ChartError>> = independent
        .into_par_iter()
        .map(|(name, files)| {
            let mut unused = Budget::new(ArchiveLimits::default());
            assemble(files, &origin.subchart(&name), &mut unused)
        })
        .collect();
    for sub in loaded {
        chart.dependencies.push(sub?);
    }
    for (name, files) in sharing {
        let sub_origin = origin.subchart(&name);
        chart
            .dependencies
            .push(assemble(files, &sub_origin, budget)?);
    }
    for archive_file in subchart_archives {
        let shown = origin.file(&archive_file.name);
        chart
            .dependencies
            .push(load_archive_in(&archive_file.data, &shown, budget)?);
    }
    chart.templates.sort_by(|a, b| a.name.cmp(&b.name));
    chart.files.sort_by(|a, b| a.name.cmp(&b.name));
    chart
        .dependencies
        .sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    Ok(chart)
}

/// apiVersion v1 charts (helm 2) list dependencies in `requirements.yaml`; like helm, read
/// them into the metadata when Chart.yaml has none. The file itself stays in `files`.
fn apply_requirements(
    metadata: &mut Metadata,
    files: &[RawFile],
    origin: &Origin,
) -> Result<(), ChartError> {
    #[derive(serde::Deserialize)]
    struct Requirements {
        #[serde(default)]
        dependencies: Vec<super::Dependency>,
    }
    let Some(file) = files.iter().find(|f| f.name == "requirements.yaml") else {
        return Ok(());
    };
    let shown = origin.file(&file.name);
    let text = utf8(&file.data, &shown)?;
    if text.trim().is_empty() || !metadata.dependencies.is_empty() {
        return Ok(());
    }
    let requirements: Requirements =
        serde_yaml::from_str(text).map_err(|e| ChartError::yaml(&shown, &e))?;
    metadata.dependencies = requirements.dependencies;
    Ok(())
}

/// Parses `Chart.yaml`; `shown` names it in errors.
pub(crate) fn parse_metadata(data: &[u8], shown: &str) -> Result<Metadata, ChartError> {
    let text = utf8(data, shown)?;
    if text.trim().is_empty() {
        return Ok(Metadata::default());
    }
    let document: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| ChartError::yaml(shown, &e))?;
    let serde_yaml::Value::Mapping(mapping) = &document else {
        return Err(ChartError::InvalidYaml {
            file: shown.to_string(),
            position: None,
            message: "Chart.yaml must be a mapping of fields (name, version, …)".into(),
        });
    };
    serde_yaml::from_value(document.clone()).map_err(|err| {
        // Type errors lose their position through serde's flatten; find the offending field
        // by deserializing one field at a time, and its line by its key.
        for (key, value) in mapping {
            let single = serde_yaml::Mapping::from_iter([(key.clone(), value.clone())]);
            if let Err(field_err) =
                serde_yaml::from_value::<Metadata>(serde_yaml::Value::Mapping(single))
            {
                let key = key.as_str().unwrap_or("?");
                let line = text.lines().position(|l| {
                    l.strip_prefix(key)
                        .is_some_and(|rest| rest.trim_start().starts_with(':'))
                });
                return ChartError::InvalidYaml {
                    file: shown.to_string(),
                    position: line.map(|l| super::TextPosition {
                        line: l + 1,
                        column: 1,
                    }),
                    message: format!("field `{key}`: {field_err}"),
                };
            }
        }
        ChartError::yaml(shown, &err)
    })
}

fn utf8<'a>(data: &'a [u8], shown: &str) -> Result<&'a str, ChartError> {
    std::str::from_utf8(data).map_err(|e| ChartError::InvalidChartLayout {
        file: shown.to_string(),
        message: format!(
            "is not valid UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        ),
    })
}
