//! Chart archives are untrusted input: corrupt or truncated data, entries escaping the chart
//! (`..`, absolute paths, links), device files, oversize and entry floods are refused with one
//! clear error; extraction writes nothing on failure; packages are reproducible and atomic.

use flate2::Compression;
use flate2::write::GzEncoder;
use rudder::action::package::{PackageOptions, package};
use rudder::action::show::{ShowWhat, show};
use rudder::chart::archive::{self, ArchiveLimits};
use rudder::chart::{self, ChartError};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/charts")
        .join(name)
}

/// One raw tar entry (header + padded data), with the name written verbatim so that
/// malicious names (`..`, `/abs`) can be produced.
fn raw_entry(name: &str, kind: tar::EntryType, data: &[u8], link: Option<&str>) -> Vec<u8> {
    let mut header = tar::Header::new_gnu();
    {
        let gnu = header.as_gnu_mut().unwrap();
        gnu.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(link) = link {
            gnu.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
    }
    header.set_entry_type(kind);
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_cksum();
    let mut out = header.as_bytes().to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

fn file(name: &str, data: &str) -> Vec<u8> {
    raw_entry(name, tar::EntryType::Regular, data.as_bytes(), None)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

fn tgz(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut tar: Vec<u8> = entries.concat();
    tar.extend_from_slice(&[0; 1024]);
    gzip(&tar)
}

const CHART_YAML: &str = "apiVersion: v2\nname: evil\nversion: 0.1.0\n";

fn load_err(bytes: &[u8]) -> ChartError {
    chart::load_archive(bytes, "evil-0.1.0.tgz").unwrap_err()
}

#[test]
fn a_valid_archive_loads() {
    let bytes = tgz(&[
        file("evil/Chart.yaml", CHART_YAML),
        file("evil/templates/cm.yaml", "kind: ConfigMap\n"),
    ]);
    let chart = chart::load_archive(&bytes, "evil-0.1.0.tgz").unwrap();
    assert_eq!(chart.name(), "evil");
    assert_eq!(chart.templates[0].name, "templates/cm.yaml");
}

#[test]
fn data_that_is_not_gzip_is_refused() {
    assert_eq!(
        load_err(b"apiVersion: v2\n").to_string(),
        "evil-0.1.0.tgz is not a valid chart archive (.tgz): it is not gzip-compressed"
    );
    let tmp = tempfile::tempdir().unwrap();
    let values = tmp.path().join("values.yaml");
    fs::write(&values, "a: 1\n").unwrap();
    assert_eq!(
        chart::load(&values).unwrap_err().to_string(),
        format!(
            "{} is not a valid chart archive (.tgz): it looks like a YAML file, but a chart directory or .tgz was expected",
            values.display()
        )
    );
}

#[test]
fn truncated_archives_are_refused() {
    let bytes = tgz(&[
        file("evil/Chart.yaml", CHART_YAML),
        file("evil/README.md", &"lorem ipsum ".repeat(500)),
    ]);
    for cut in [bytes.len() / 2, bytes.len() - 4, 12] {
        let err = load_err(&bytes[..cut]);
        assert!(
            matches!(err, ChartError::CorruptArchive { .. }),
            "cut at {cut}: {err}"
        );
        assert!(
            err.to_string()
                .starts_with("evil-0.1.0.tgz is not a valid chart archive"),
            "{err}"
        );
    }
}

#[test]
fn corrupted_compressed_data_is_refused() {
    let mut bytes = tgz(&[
        file("evil/Chart.yaml", CHART_YAML),
        file("evil/README.md", &"lorem ipsum ".repeat(500)),
    ]);
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    assert!(matches!(
        load_err(&bytes),
        ChartError::CorruptArchive { .. }
    ));
}

#[test]
fn a_tar_entry_cut_short_is_refused() {
    // The gzip stream is intact, but the tar inside ends in the middle of a file.
    let mut tar = file("evil/Chart.yaml", CHART_YAML);
    tar.extend(raw_entry(
        "evil/big.txt",
        tar::EntryType::Regular,
        &[b'x'; 2000],
        None,
    ));
    tar.truncate(tar.len() - 1024);
    let err = load_err(&gzip(&tar));
    assert!(matches!(err, ChartError::CorruptArchive { .. }), "{err}");
    assert!(err.to_string().contains("evil/big.txt"), "{err}");
}

#[test]
fn entries_escaping_the_chart_are_refused() {
    let cases = [
        (
            "evil/../../etc/cron.d/x",
            "it refers to a parent directory (`..`)",
        ),
        (
            "evil/templates/../../x",
            "it refers to a parent directory (`..`)",
        ),
        ("/etc/passwd", "it is an absolute path"),
        ("evil\\..\\..\\x", "it refers to a parent directory (`..`)"),
        ("C:/Windows/evil", "it is an absolute (drive-letter) path"),
        (
            "Chart.yaml",
            "it is not inside the chart's top-level folder",
        ),
    ];
    for (name, reason) in cases {
        let bytes = tgz(&[file("evil/Chart.yaml", CHART_YAML), file(name, "x")]);
        assert_eq!(
            load_err(&bytes).to_string(),
            format!("evil-0.1.0.tgz contains an unsafe entry `{name}`: {reason}"),
        );
    }
}

#[test]
fn links_and_devices_in_archives_are_refused() {
    let symlink = raw_entry(
        "evil/templates/passwd",
        tar::EntryType::Symlink,
        b"",
        Some("/etc/passwd"),
    );
    let hardlink = raw_entry(
        "evil/x",
        tar::EntryType::Link,
        b"",
        Some("../../etc/shadow"),
    );
    let device = raw_entry("evil/dev", tar::EntryType::Char, b"", None);
    let fifo = raw_entry("evil/fifo", tar::EntryType::Fifo, b"", None);
    let expectations = [
        (
            symlink,
            "evil-0.1.0.tgz contains an unsafe entry `evil/templates/passwd`: it is a link (to `/etc/passwd`); chart archives may not contain links",
        ),
        (
            hardlink,
            "evil-0.1.0.tgz contains an unsafe entry `evil/x`: it is a link (to `../../etc/shadow`); chart archives may not contain links",
        ),
        (
            device,
            "evil-0.1.0.tgz contains an unsafe entry `evil/dev`: it is a device or pipe; chart archives may only contain regular files",
        ),
        (
            fifo,
            "evil-0.1.0.tgz contains an unsafe entry `evil/fifo`: it is a device or pipe; chart archives may only contain regular files",
        ),
    ];
    for (entry, expected) in expectations {
        let bytes = tgz(&[file("evil/Chart.yaml", CHART_YAML), entry]);
        assert_eq!(load_err(&bytes).to_string(), expected);
    }
}

#[test]
fn two_top_level_folders_or_duplicate_entries_are_refused() {
    let bytes = tgz(&[
        file("evil/Chart.yaml", CHART_YAML),
        file("other/Chart.yaml", CHART_YAML),
    ]);
    assert!(
        load_err(&bytes)
            .to_string()
            .contains("more than one top-level folder (`evil` and `other`)")
    );
    let bytes = tgz(&[
        file("evil/Chart.yaml", CHART_YAML),
        file("evil/values.yaml", "a: 1\n"),
        file("evil/values.yaml", "a: 2\n"),
    ]);
    assert!(
        load_err(&bytes)
            .to_string()
            .contains("`evil/values.yaml`: the archive contains this path twice")
    );
}

#[test]
fn an_archive_decompressing_past_helms_100_mib_cap_is_refused() {
    // ~100 KiB of gzip expanding to 101 MiB of zeros.
    let size = 101 * 1024 * 1024;
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(&file("evil/Chart.yaml", CHART_YAML)).unwrap();
    let mut header = tar::Header::new_gnu();
    header.set_path("evil/zeros.bin").unwrap();
    header.set_size(size);
    header.set_cksum();
    gz.write_all(header.as_bytes()).unwrap();
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..101 {
        gz.write_all(&chunk).unwrap();
    }
    gz.write_all(&[0; 1024]).unwrap();
    let bytes = gz.finish().unwrap();
    assert!(bytes.len() < 1024 * 1024);
    assert_eq!(
        load_err(&bytes).to_string(),
        "evil-0.1.0.tgz is too large: its files add up to more than 104857600 bytes"
    );
}

#[test]
fn limits_cover_entry_count_and_nested_subchart_archives() {
    let limits = ArchiveLimits {
        max_decompressed_bytes: 64 * 1024,
        max_entries: 5,
    };
    let many: Vec<Vec<u8>> = std::iter::once(file("evil/Chart.yaml", CHART_YAML))
        .chain((0..10).map(|i| file(&format!("evil/f{i}"), "x")))
        .collect();
    assert_eq!(
        chart::load_archive_with_limits(&tgz(&many), "evil-0.1.0.tgz", limits)
            .unwrap_err()
            .to_string(),
        "evil-0.1.0.tgz has too many entries (more than 5)"
    );
    // A small subchart archive that expands past the shared budget is caught too.
    let bomb = tgz(&[
        file(
            "bomb/Chart.yaml",
            "apiVersion: v2\nname: bomb\nversion: 0.1.0\n",
        ),
        file("bomb/zeros", &"0".repeat(100 * 1024)),
    ]);
    let outer = tgz(&[
        file("evil/Chart.yaml", CHART_YAML),
        raw_entry(
            "evil/charts/bomb-0.1.0.tgz",
            tar::EntryType::Regular,
            &bomb,
            None,
        ),
    ]);
    assert_eq!(
        chart::load_archive_with_limits(&outer, "evil-0.1.0.tgz", limits)
            .unwrap_err()
            .to_string(),
        "evil/charts/bomb-0.1.0.tgz (in evil-0.1.0.tgz) is too large: its files add up to more than 65536 bytes"
    );
}

#[test]
fn extraction_writes_the_chart_and_refuses_to_overwrite() {
    let dest = tempfile::tempdir().unwrap();
    let (_, bytes) = archive::package_bytes(&fixture("full"), None, None).unwrap();
    let dir = archive::extract(&bytes, dest.path()).unwrap();
    assert_eq!(dir, dest.path().join("full"));
    assert_eq!(
        chart::load(&dir).unwrap(),
        chart::load(&fixture("full")).unwrap()
    );
    assert_eq!(
        fs::read_dir(dest.path()).unwrap().count(),
        1,
        "no staging leftovers"
    );
    let err = archive::extract(&bytes, dest.path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{} already exists; refusing to overwrite it", dir.display())
    );
}

#[test]
fn unsafe_or_invalid_archives_extract_nothing() {
    let dest = tempfile::tempdir().unwrap();
    let escaping = tgz(&[
        file("evil/Chart.yaml", CHART_YAML),
        file("evil/../../outside.txt", "pwned"),
    ]);
    assert!(matches!(
        archive::extract(&escaping, dest.path()).unwrap_err(),
        ChartError::UnsafeArchiveEntry { .. }
    ));
    let invalid = tgz(&[
        file("evil/Chart.yaml", CHART_YAML),
        file("evil/values.yaml", "a: [\n"),
    ]);
    assert!(archive::extract(&invalid, dest.path()).is_err());
    assert_eq!(fs::read_dir(dest.path()).unwrap().count(), 0);
    assert!(!dest.path().parent().unwrap().join("outside.txt").exists());
}

fn tar_listing(bytes: &[u8]) -> Vec<(String, u64, u32, u64, u64)> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            (
                e.path().unwrap().display().to_string(),
                h.mtime().unwrap(),
                h.mode().unwrap(),
                h.uid().unwrap(),
                h.gid().unwrap(),
            )
        })
        .collect()
}

#[test]
fn packaging_twice_gives_identical_bytes() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let first = archive::write_package(&fixture("full"), a.path(), None, None).unwrap();
    let second = archive::write_package(&fixture("full"), b.path(), None, None).unwrap();
    let (first, second) = (fs::read(first).unwrap(), fs::read(second).unwrap());
    assert_eq!(first, second);
    // gzip header: no mtime (bytes 4..8), no file name flag.
    assert_eq!(&first[4..8], &[0, 0, 0, 0]);
    assert_eq!(first[3] & 0x08, 0);
    let listing = tar_listing(&first);
    let paths: Vec<&str> = listing.iter().map(|e| e.0.as_str()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted, "entries are sorted");
    assert!(
        listing
            .iter()
            .all(|(_, mtime, mode, uid, gid)| (*mtime, *mode, *uid, *gid) == (0, 0o644, 0, 0))
    );
}

#[test]
fn packages_honour_helmignore_and_use_the_chart_name_as_top_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("some-checkout-dir");
    fs::create_dir_all(src.join("templates")).unwrap();
    fs::write(
        src.join("Chart.yaml"),
        "apiVersion: v2\nname: web\nversion: 2.0.0\n",
    )
    .unwrap();
    fs::write(src.join(".helmignore"), "*.md\n!KEEP.md\n").unwrap();
    fs::write(src.join("NOTES.md"), "x").unwrap();
    fs::write(src.join("KEEP.md"), "x").unwrap();
    fs::write(src.join("templates/a.yaml"), "x").unwrap();
    let out = archive::write_package(&src, &tmp.path().join("dist"), None, None).unwrap();
    assert_eq!(out, tmp.path().join("dist/web-2.0.0.tgz"));
    let paths: Vec<String> = tar_listing(&fs::read(&out).unwrap())
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(
        paths,
        [
            "web/.helmignore",
            "web/Chart.yaml",
            "web/KEEP.md",
            "web/templates/a.yaml"
        ]
    );
    let full = archive::package_bytes(&fixture("full"), None, None)
        .unwrap()
        .1;
    let full_paths: Vec<String> = tar_listing(&full).into_iter().map(|e| e.0).collect();
    for ignored in [
        "full/notes.bak",
        "full/scratch/draft.txt",
        "full/top-only.txt",
        "full/templates/.hidden.yaml",
        "full/charts/child/cache.tmp",
    ] {
        assert!(
            !full_paths.contains(&ignored.to_string()),
            "{ignored} packaged"
        );
    }
    assert!(full_paths.contains(&"full/charts/packed-0.1.0.tgz".to_string()));
}

#[test]
fn a_failed_package_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("bad");
    fs::create_dir_all(&src).unwrap();
    fs::write(
        src.join("Chart.yaml"),
        "apiVersion: v2\nname: bad\nversion: one\n",
    )
    .unwrap();
    let dest = tmp.path().join("dist");
    fs::create_dir_all(&dest).unwrap();
    let err = archive::write_package(&src, &dest, None, None).unwrap_err();
    assert!(
        err.to_string()
            .contains("version `one` is not a valid semantic version")
    );
    let err =
        archive::write_package(&fixture("full"), &dest, Some("not-semver"), None).unwrap_err();
    assert!(
        err.to_string()
            .contains("version `not-semver` is not a valid semantic version"),
        "{err}"
    );
    assert_eq!(fs::read_dir(&dest).unwrap().count(), 0);
}

#[test]
fn package_refuses_missing_dependencies_naming_them() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("app");
    fs::create_dir_all(src.join("charts/present")).unwrap();
    fs::write(
        src.join("Chart.yaml"),
        "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: present\n  version: 1.0.0\n  repository: file://x\n- name: redis\n  version: 1.0.0\n  repository: https://x\n- name: postgresql\n  version: 1.0.0\n  repository: https://x\n",
    )
    .unwrap();
    fs::write(
        src.join("charts/present/Chart.yaml"),
        "apiVersion: v2\nname: present\nversion: 1.0.0\n",
    )
    .unwrap();
    let opts = PackageOptions {
        chart_path: src.clone(),
        destination: tmp.path().join("dist"),
        version: None,
        app_version: None,
    };
    assert_eq!(
        package(&opts).unwrap_err().to_string(),
        "chart app lists dependencies missing from its charts/ directory: redis, postgresql"
    );
    assert!(!tmp.path().join("dist/app-1.0.0.tgz").exists());
    fs::create_dir_all(src.join("charts/redis")).unwrap();
    fs::create_dir_all(src.join("charts/postgresql")).unwrap();
    for name in ["redis", "postgresql"] {
        fs::write(
            src.join(format!("charts/{name}/Chart.yaml")),
            format!("apiVersion: v2\nname: {name}\nversion: 1.0.0\n"),
        )
        .unwrap();
    }
    let out = package(&opts).unwrap();
    assert_eq!(out, tmp.path().join("dist/app-1.0.0.tgz"));
    assert_eq!(chart::load(&out).unwrap().dependencies.len(), 3);
}

#[test]
fn show_prints_like_helm_show() {
    let chart = fixture("full");
    let chart_yaml = show(&chart, ShowWhat::Chart).unwrap();
    assert!(
        chart_yaml.starts_with(
            "annotations:\n  example.com/owner: platform\n  rudder.io/engine: tera\napiVersion: v2\nappVersion: 4.5.6\n"
        ),
        "{chart_yaml}"
    );
    assert!(chart_yaml.contains("type: application\nversion: 1.2.3\n"));
    assert!(
        chart_yaml.ends_with("x-rudder-custom:\n  kept: true\n\n"),
        "{chart_yaml}"
    );
    let values = show(&chart, ShowWhat::Values).unwrap();
    assert_eq!(
        values,
        format!(
            "{}\n",
            fs::read_to_string(chart.join("values.yaml")).unwrap()
        )
    );
    assert_eq!(
        show(&chart, ShowWhat::Readme).unwrap(),
        "# full\n\nA chart for the loader tests.\n\n"
    );
    let crds = show(&chart, ShowWhat::Crds).unwrap();
    assert_eq!(
        crds,
        format!(
            "---\n{}\n---\n{}\n",
            fs::read_to_string(chart.join("crds/crontab.yaml")).unwrap(),
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n"
        ),
        "own CRDs first, then the subcharts'"
    );
    let all = show(&chart, ShowWhat::All).unwrap();
    assert_eq!(
        all,
        format!(
            "{chart_yaml}---\n{values}---\n{}{crds}",
            show(&chart, ShowWhat::Readme).unwrap()
        )
    );
}

/// Property test: whatever the bytes, loading an archive returns a chart or an error — it
/// never panics, hangs or exceeds its limits. Mutations hit both the gzip layer and (after
/// re-compressing) the tar layer beneath it. Seeded, so a failure reproduces.
#[test]
fn randomly_corrupted_archives_never_panic() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    let (_, valid) = archive::package_bytes(&fixture("full"), None, None).unwrap();
    let mut tar = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(valid.as_slice()),
        &mut tar,
    )
    .unwrap();
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let limits = ArchiveLimits {
        max_decompressed_bytes: 1 << 20,
        max_entries: 200,
    };
    let (mut loaded, mut refused) = (0, 0);
    for round in 0..600 {
        let mut bytes = if round % 2 == 0 {
            valid.clone()
        } else {
            tar.clone()
        };
        match rng.random_range(0..3) {
            0 => {
                for _ in 0..rng.random_range(1..8) {
                    let i = rng.random_range(0..bytes.len());
                    bytes[i] = rng.random();
                }
            }
            1 => bytes.truncate(rng.random_range(0..bytes.len())),
            _ => {
                let i = rng.random_range(0..bytes.len());
                let junk: Vec<u8> = (0..rng.random_range(1..600))
                    .map(|_| rng.random())
                    .collect();
                bytes.splice(i..i, junk);
            }
        }
        if round % 2 == 1 {
            bytes = gzip(&bytes);
        }
        match chart::load_archive_with_limits(&bytes, "fuzzed.tgz", limits) {
            Ok(chart) => {
                assert!(!chart.name().is_empty());
                loaded += 1;
            }
            Err(err) => {
                assert!(err.to_string().contains("fuzzed.tgz"), "{err}");
                refused += 1;
            }
        }
    }
    assert!(refused > 0 && loaded + refused == 600);
}
