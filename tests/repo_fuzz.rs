//! Property tests (proptest) of the parsers that read what repositories and registries
//! send: `index.yaml`, chart archives and `oci://` references never panic on any input,
//! fail with an error naming their origin, and valid indexes survive a write/read round
//! trip. Archives with hostile entries (`..`, absolute paths, links) never put a file
//! outside the extraction directory.

use proptest::prelude::*;
use rudder::repo::IndexFile;
use std::io::Write as _;

fn yaml_scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("null".to_string()),
        Just("~".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("\"1.0.0\"".to_string()),
        Just("1.0".to_string()),
        Just("true".to_string()),
        Just("- a\n- b".to_string()),
        "[a-z0-9.+-]{0,12}",
        "[ -~]{0,20}",
    ]
}

/// Index-shaped YAML with random holes and wrong types.
fn index_like() -> impl Strategy<Value = String> {
    (
        prop::option::of(yaml_scalar()),
        prop::collection::vec(
            (
                "[a-z]{1,6}",
                prop::collection::vec(
                    (
                        prop::option::of(yaml_scalar()),
                        prop::option::of(yaml_scalar()),
                        prop::option::of(yaml_scalar()),
                        prop::option::of(yaml_scalar()),
                    ),
                    0..4,
                ),
            ),
            0..4,
        ),
    )
        .prop_map(|(api, entries)| {
            let mut out = String::new();
            if let Some(api) = api {
                out.push_str(&format!("apiVersion: {api}\n"));
            }
            out.push_str("entries:\n");
            for (name, versions) in entries {
                out.push_str(&format!("  {name}:\n"));
                for (n, v, urls, digest) in versions {
                    out.push_str("  - apiVersion: v2\n");
                    if let Some(n) = n {
                        out.push_str(&format!("    name: {n}\n"));
                    }
                    if let Some(v) = v {
                        out.push_str(&format!("    version: {v}\n"));
                    }
                    if let Some(u) = urls {
                        out.push_str(&format!("    urls: {u}\n"));
                    }
                    if let Some(d) = digest {
                        out.push_str(&format!("    digest: {d}\n"));
                    }
                }
            }
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn index_parser_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        if let Err(e) = IndexFile::parse(&bytes, "fuzz://index.yaml") {
            prop_assert!(e.to_string().contains("fuzz://index.yaml"), "{}", e);
        }
    }

    #[test]
    fn index_parser_never_panics_on_index_shaped_yaml(text in index_like()) {
        match IndexFile::parse(text.as_bytes(), "fuzz://index.yaml") {
            Ok(index) => {
                // Whatever was kept is usable: named, versioned, writable, re-readable.
                for versions in index.entries.values() {
                    for v in versions {
                        prop_assert!(!v.name().is_empty());
                        prop_assert!(rudder::chart::constraint::parse_lenient_version(v.version()).is_ok());
                    }
                }
                let again = IndexFile::parse(index.to_yaml().as_bytes(), "again").unwrap();
                prop_assert_eq!(again.entries, index.entries);
            }
            Err(e) => prop_assert!(e.to_string().contains("fuzz://index.yaml"), "{}", e),
        }
    }

    #[test]
    fn valid_indexes_round_trip(
        charts in prop::collection::btree_map(
            "[a-z][a-z0-9-]{0,10}",
            prop::collection::btree_set((0u64..5, 0u64..20, 0u64..30, prop::option::of("(alpha|beta|rc)\\.[0-9]")), 1..5),
            0..5,
        ),
        description in "[ -~]{0,40}",
    ) {
        let mut index = IndexFile::new();
        for (name, versions) in &charts {
            for (major, minor, patch, pre) in versions {
                let version = match pre {
                    Some(p) => format!("{major}.{minor}.{patch}-{p}"),
                    None => format!("{major}.{minor}.{patch}"),
                };
                let metadata = rudder::chart::Metadata {
                    api_version: "v2".into(),
                    name: name.clone(),
                    version: version.clone(),
                    description: Some(description.clone()),
                    app_version: Some(version.clone()),
                    ..Default::default()
                };
                index.add(metadata, &format!("{name}-{version}.tgz"), "https://x.test/c", "ab12");
            }
        }
        index.sort_entries();
        let text = index.to_yaml();
        let back = IndexFile::parse(text.as_bytes(), "round trip").unwrap();
        prop_assert!(back.warnings.is_empty(), "{:?}", back.warnings);
        prop_assert_eq!(back.entries, index.entries);
    }

    #[test]
    fn oci_references_never_panic(text in "(oci://)?[ -~]{0,40}") {
        if let Err(e) = rudder::registry::Reference::parse(&text) {
            // The error names the reference (a password in it shown as `xxxxx`).
            let shown = rudder::repo::redacted(&text);
            prop_assert!(e.to_string().contains(&shown), "{e} does not name {shown}");
        }
    }

    #[test]
    fn hostile_archives_never_escape_the_destination(
        entries in prop::collection::vec(
            (
                prop_oneof![
                    Just("c/Chart.yaml".to_string()),
                    Just("c/../escape.txt".to_string()),
                    Just("/abs/path.txt".to_string()),
                    Just("c/templates/../../up.yaml".to_string()),
                    Just("c/templates/x.yaml".to_string()),
                    Just("c/charts/sub.tgz".to_string()),
                    "c/[a-z./]{1,20}",
                ],
                0u8..4,
                prop::collection::vec(any::<u8>(), 0..64),
            ),
            1..8,
        ),
    ) {
        let bytes = hostile_archive(&entries);
        let outer = tempfile::tempdir().unwrap();
        let dest = outer.path().join("dest");
        let loaded = rudder::chart::load_archive(&bytes, "fuzz.tgz");
        if let Err(e) = &loaded {
            prop_assert!(e.to_string().contains("fuzz.tgz"), "{}", e);
        }
        let extracted = rudder::chart::archive::extract_with_limits(
            &bytes,
            "fuzz.tgz",
            &dest,
            rudder::chart::ArchiveLimits::default(),
        );
        prop_assert_eq!(loaded.is_ok(), extracted.is_ok());
        // Nothing was written beside the destination.
        let beside: Vec<_> = std::fs::read_dir(outer.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n != "dest")
            .collect();
        prop_assert!(beside.is_empty(), "{:?}", beside);
        if extracted.is_err() {
            let left = std::fs::read_dir(&dest).map(|d| d.count()).unwrap_or(0);
            prop_assert_eq!(left, 0);
        }
    }
}

/// A gzipped tar with raw (unchecked) entry names; kind 0 file, 1 symlink, 2 hard link,
/// 3 directory.
fn hostile_archive(entries: &[(String, u8, Vec<u8>)]) -> Vec<u8> {
    let mut tar = Vec::new();
    let mut wrote_chart = false;
    for (name, kind, data) in entries {
        let mut header = [0u8; 512];
        let name_bytes = name.as_bytes();
        let n = name_bytes.len().min(99);
        header[..n].copy_from_slice(&name_bytes[..n]);
        let data: Vec<u8> = if name.ends_with("Chart.yaml") && !wrote_chart {
            wrote_chart = true;
            b"apiVersion: v2\nname: c\nversion: 1.0.0\n".to_vec()
        } else {
            data.clone()
        };
        let (typeflag, size) = match kind {
            0 => (b'0', data.len()),
            1 => (b'2', 0),
            2 => (b'1', 0),
            _ => (b'5', 0),
        };
        header[100..108].copy_from_slice(b"0000644\0");
        header[108..116].copy_from_slice(b"0000000\0");
        header[116..124].copy_from_slice(b"0000000\0");
        header[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
        header[136..148].copy_from_slice(b"00000000000\0");
        header[156] = typeflag;
        if typeflag == b'2' || typeflag == b'1' {
            header[157..163].copy_from_slice(b"../../");
        }
        header[257..263].copy_from_slice(b"ustar\0");
        header[263..265].copy_from_slice(b"00");
        header[148..156].copy_from_slice(b"        ");
        let sum: u32 = header.iter().map(|b| *b as u32).sum();
        header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        tar.extend_from_slice(&header);
        if size > 0 {
            tar.extend_from_slice(&data);
            tar.extend(std::iter::repeat_n(0u8, (512 - size % 512) % 512));
        }
    }
    tar.extend(std::iter::repeat_n(0u8, 1024));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

/// A case the generator found: the error names the reference with its (empty) password
/// redacted.
#[test]
fn an_oci_reference_with_an_empty_password_is_named_redacted() {
    let e = rudder::registry::Reference::parse("oci://:@").unwrap_err();
    assert!(
        e.to_string().contains(&rudder::repo::redacted("oci://:@")),
        "{e}"
    );
}
