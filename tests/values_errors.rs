//! Bad values input gives one clear error naming its source: the values file (and line),
//! the flag and its text, or the chart whose schema the values break (every violation).

use rudder::values::{
    ValueOptions, ValueSource, compute_render_values, parse_values_file, validate_schema,
};
use std::path::{Path, PathBuf};

fn input(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/values/inputs")
        .join(name)
}

fn merge_error(sources: Vec<ValueSource>) -> String {
    ValueOptions { sources }.merge().unwrap_err().to_string()
}

#[test]
fn invalid_yaml_names_the_file_and_line() {
    let path = input("broken.yaml");
    let err = parse_values_file(&path).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("failed to parse {}: ", path.display())),
        "{err}"
    );
    assert!(err.contains("line 3 column 8"), "{err}");

    let err = parse_values_file(&input("tab.yaml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("tab.yaml") && err.contains("line 2"), "{err}");
}

#[test]
fn a_values_file_must_be_a_map() {
    let path = input("not-a-map.yaml");
    assert_eq!(
        parse_values_file(&path).unwrap_err().to_string(),
        format!(
            "failed to parse {}: the top level must be a map of values, not a list",
            path.display()
        )
    );
}

#[test]
fn a_missing_values_file_is_named() {
    let err = merge_error(vec![ValueSource::File(input("missing.yaml"))]);
    assert_eq!(
        err,
        format!(
            "cannot read values file {}: No such file or directory",
            input("missing.yaml").display()
        )
    );
}

#[test]
fn set_errors_name_the_flag_and_its_text() {
    assert_eq!(
        merge_error(vec![ValueSource::Set("a[x]=1".into())]),
        r#"failed parsing --set data "a[x]=1": error parsing index: strconv.Atoi: parsing "x": invalid syntax"#
    );
    assert_eq!(
        merge_error(vec![ValueSource::SetString("a=1,b".into())]),
        r#"failed parsing --set-string data "a=1,b": key "b" has no value"#
    );
    assert_eq!(
        merge_error(vec![ValueSource::SetFile("a=/nonexistent/file.txt".into())]),
        r#"failed parsing --set-file data "a=/nonexistent/file.txt": cannot read /nonexistent/file.txt: No such file or directory"#
    );
    assert!(
        merge_error(vec![ValueSource::SetJson("a=[1,".into())])
            .starts_with(r#"failed parsing --set-json data "a=[1,": invalid JSON value"#)
    );
}

#[test]
fn schema_errors_list_every_violation_with_chart_and_path() {
    let chart_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/values/umbrella");
    let mut chart = rudder::chart::load(&chart_dir).unwrap();
    let user = ValueOptions {
        sources: vec![
            ValueSource::Set("db.storage=5".into()),
            ValueSource::SetJson(r#"db.auth={"username":7}"#.into()),
        ],
    }
    .merge()
    .unwrap();
    let values = compute_render_values(&mut chart, user).unwrap();
    let err = validate_schema(&chart, &values).unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("values don't match values.schema.json (2 problem(s)):"),
        "{message}"
    );
    assert!(
        message.contains(r#"- umbrella/charts/db: storage: 5 is not of type "string""#),
        "{message}"
    );
    assert!(
        message.contains("- umbrella/charts/db: auth.username: 7 is not of type"),
        "{message}"
    );
}
