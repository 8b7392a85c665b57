//! Subchart values, as helm computes them: enabling subcharts by `condition`/`tags`, applying
//! `alias`, importing child values (`import-values`), then coalescing chart defaults, parent
//! values and user values into one tree with each subchart's values under its name.
//!
//! This follows helm's `ProcessDependencies` and `CoalesceValues` step by step, including
//! their precedence rules for `null` (a user `null` deletes a chart default) and `global`
//! (copied into every subchart, the parent's globals winning).

use super::{Values, ValuesError, type_name};
use crate::chart::{Chart, Dependency, constraint};
use serde_json::{Map, Value};

const GLOBAL_KEY: &str = "global";

/// helm's `ProcessDependencies` + `CoalesceValues`: decides which subcharts are enabled
/// (dropping the others from `chart.dependencies`), renames aliased subcharts, imports child
/// values into parents, and returns the values tree the top chart renders with; each
/// subchart's values sit under its name (or alias), which is what its templates see.
///
/// `chart` is changed in place the way helm changes it, so pass a fresh copy per render.
pub fn compute_render_values(chart: &mut Chart, user: Values) -> Result<Values, ValuesError> {
    process_dependency_enabled(chart, &user, "")?;
    process_dependency_import_values(chart);
    coalesce_top(chart, user)
}

/// `CoalesceValues`: the chart's defaults (and its subcharts') under the given values.
fn coalesce_top(chart: &Chart, values: Values) -> Result<Values, ValuesError> {
    coalesce(chart, values, "", false)
}

fn concat_prefix(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}.{b}")
    }
}

fn coalesce(
    chart: &Chart,
    mut dest: Values,
    prefix: &str,
    merge: bool,
) -> Result<Values, ValuesError> {
    coalesce_values(chart, &mut dest, prefix, merge);
    coalesce_deps(chart, dest, prefix, merge)
}

fn coalesce_deps(
    chart: &Chart,
    mut dest: Values,
    prefix: &str,
    merge: bool,
) -> Result<Values, ValuesError> {
    for sub in &chart.dependencies {
        let name = sub.name().to_string();
        let sub_values = match dest.remove(&name) {
            None => Map::new(),
            Some(Value::Object(map)) => map,
            Some(other) => {
                return Err(ValuesError::SubchartNotAMap {
                    chart: chart.name().to_string(),
                    name,
                    found: type_name(&other),
                });
            }
        };
        let sub_prefix = concat_prefix(prefix, chart.name());
        let mut sub_values = sub_values;
        coalesce_globals(&mut sub_values, &dest);
        let coalesced = coalesce(sub, sub_values, &sub_prefix, merge)?;
        dest.insert(name, Value::Object(coalesced));
    }
    Ok(dest)
}

/// Copies the parent's `global` into the subchart's values; the parent's entries win.
fn coalesce_globals(dest: &mut Values, src: &Values) {
    let mut dest_globals = match dest.get(GLOBAL_KEY) {
        None => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(_) => return,
    };
    let src_globals = match src.get(GLOBAL_KEY) {
        None => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(_) => return,
    };
    for (key, value) in src_globals {
        match value {
            Value::Object(table) => match dest_globals.get(&key) {
                None => {
                    dest_globals.insert(key, Value::Object(table));
                }
                Some(Value::Object(existing)) => {
                    let mut merged = table;
                    coalesce_tables(&mut merged, existing.clone(), true);
                    dest_globals.insert(key, Value::Object(merged));
                }
                Some(_) => {}
            },
            value => {
                if !matches!(dest_globals.get(&key), Some(Value::Object(_))) {
                    dest_globals.insert(key, value);
                }
            }
        }
    }
    dest.insert(GLOBAL_KEY.to_string(), Value::Object(dest_globals));
}

/// Fills `values` from the chart's defaults; `values` wins. A `null` in `values` deletes the
/// default (when coalescing); a subchart's own `null` defaults are dropped.
fn coalesce_values(chart: &Chart, values: &mut Values, prefix: &str, merge: bool) {
    for (key, default) in chart.values.clone() {
        match values.get_mut(&key) {
            Some(Value::Null) if !merge => {
                values.remove(&key);
            }
            Some(Value::Object(dest)) => {
                if let Value::Object(mut src) = default {
                    let merge = merge || chart.dependencies.iter().any(|d| d.name() == key);
                    if !merge && !prefix.is_empty() {
                        clean_nil_values(&mut src);
                    }
                    coalesce_tables(dest, src, merge);
                }
            }
            Some(_) => {}
            None => {
                let mut default = default;
                if !merge && !prefix.is_empty() {
                    match &mut default {
                        Value::Null => continue,
                        Value::Object(map) => clean_nil_values(map),
                        _ => {}
                    }
                }
                values.insert(key, default);
            }
        }
    }
}

/// helm's `CoalesceTables` (what `upgrade --reuse-values` uses to lay new values over the
/// release's old ones): merges `src` into `dst`, `dst` winning; maps merge deeply, and a
/// `null` in `dst` over a non-null `src` value deletes the key.
pub fn coalesce_user_tables(dst: &mut Values, src: Values) {
    coalesce_tables(dst, src, false)
}

/// Merges `src` into `dst`; `dst` wins. When coalescing (not merging), a `null` in `dst`
/// over a non-null `src` value deletes the key.
fn coalesce_tables(dst: &mut Values, mut src: Values, merge: bool) {
    let src_non_nil: Vec<String> = src
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, _)| k.clone())
        .collect();
    for (key, value) in dst.iter() {
        if value.is_null() {
            src.insert(key.clone(), Value::Null);
        }
    }
    for (key, value) in src {
        match dst.get_mut(&key) {
            Some(Value::Null) if !merge && src_non_nil.contains(&key) => {
                dst.remove(&key);
            }
            None => {
                dst.insert(key, value);
            }
            Some(Value::Object(dv)) => {
                if let Value::Object(sv) = value {
                    coalesce_tables(dv, sv, merge);
                }
            }
            Some(_) => {}
        }
    }
}

fn clean_nil_values(map: &mut Values) {
    map.retain(|_, v| !v.is_null());
    for value in map.values_mut() {
        if let Value::Object(inner) = value {
            clean_nil_values(inner);
        }
    }
}

/// `Values.Table`: the map at a dotted path.
fn table<'a>(values: &'a Values, path: &str) -> Option<&'a Values> {
    let mut current = values;
    for part in path.split('.') {
        match current.get(part) {
            Some(Value::Object(map)) => current = map,
            _ => return None,
        }
    }
    Some(current)
}

/// `Values.PathValue`: the non-map value at a dotted path.
fn path_value<'a>(values: &'a Values, path: &str) -> Option<&'a Value> {
    let (parent, key) = match path.rsplit_once('.') {
        Some((parent, key)) => (table(values, parent)?, key),
        None => (values, path),
    };
    parent.get(key).filter(|v| !v.is_object())
}

/// helm's `IsCompatibleRange`: does the chart's version satisfy the dependency's range?
/// (An unparsable range or version never matches, as in helm.)
fn is_compatible_range(constraint: &str, version: &str) -> bool {
    let (Ok(constraint), Ok(version)) = (
        constraint::parse_constraint(constraint),
        constraint::parse_lenient_version(version),
    ) else {
        return false;
    };
    constraint.matches(&version)
}

/// `processDependencyEnabled`: keeps the subcharts that Chart.yaml lists and `condition`/`tags`
/// enable, aliased ones renamed, then recurses into them.
fn process_dependency_enabled(
    chart: &mut Chart,
    values: &Values,
    path: &str,
) -> Result<(), ValuesError> {
    if chart.metadata.dependencies.is_empty() {
        return Ok(());
    }
    let matches = |sub: &Chart, req: &Dependency| {
        sub.name() == req.name && is_compatible_range(&req.version, &sub.metadata.version)
    };
    let mut existing: Vec<Option<Chart>> = std::mem::take(&mut chart.dependencies)
        .into_iter()
        .map(Some)
        .collect();
    // For each Chart.yaml entry, the first loaded subchart it names (helm's getAliasDependency).
    let chosen: Vec<Option<usize>> = chart
        .metadata
        .dependencies
        .iter()
        .map(|req| {
            existing
                .iter()
                .position(|sub| sub.as_ref().is_some_and(|sub| matches(sub, req)))
        })
        .collect();
    // Subcharts that no entry names are kept as they are.
    let mut kept: Vec<Chart> = Vec::new();
    for slot in existing.iter_mut() {
        let listed = slot.as_ref().is_some_and(|sub| {
            chart
                .metadata
                .dependencies
                .iter()
                .any(|req| matches(sub, req))
        });
        if !listed && let Some(sub) = slot.take() {
            kept.push(sub);
        }
    }
    for (n, req) in chart.metadata.dependencies.iter_mut().enumerate() {
        if let Some(i) = chosen[n] {
            // Moved out on its last use, copied when another (aliased) entry names it too.
            let used_again = chosen[n + 1..].contains(&Some(i));
            let mut sub = if used_again {
                existing[i].clone()
            } else {
                existing[i].take()
            }
            .expect("each subchart is moved out on its last use only");
            if let Some(alias) = req.alias.as_deref().filter(|a| !a.is_empty()) {
                sub.metadata.name = alias.to_string();
            }
            kept.push(sub);
        }
        if let Some(alias) = req.alias.as_deref().filter(|a| !a.is_empty()) {
            req.name = alias.to_string();
        }
    }
    chart.dependencies = kept;

    for req in &mut chart.metadata.dependencies {
        req.enabled = Some(true);
    }
    let cvals = coalesce_top(chart, values.clone())?;
    process_dependency_tags(chart, &cvals);
    process_dependency_conditions(chart, &cvals, path);

    let disabled: Vec<String> = chart
        .metadata
        .dependencies
        .iter()
        .filter(|req| req.enabled == Some(false))
        .map(|req| req.name.clone())
        .collect();
    chart
        .dependencies
        .retain(|sub| !disabled.iter().any(|name| name == sub.name()));
    chart
        .metadata
        .dependencies
        .retain(|req| !disabled.contains(&req.name));
    for sub in &mut chart.dependencies {
        let sub_path = format!("{path}{}.", sub.name());
        process_dependency_enabled(sub, &cvals, &sub_path)?;
    }
    Ok(())
}

/// `tags`: a subchart with any true tag is enabled; with only false tags, disabled.
fn process_dependency_tags(chart: &mut Chart, cvals: &Values) {
    let Some(tags) = table(cvals, "tags") else {
        return;
    };
    for req in &mut chart.metadata.dependencies {
        let mut has_true = false;
        let mut has_false = false;
        for tag in &req.tags {
            match tags.get(tag) {
                Some(Value::Bool(true)) => has_true = true,
                Some(Value::Bool(false)) => has_false = true,
                _ => {}
            }
        }
        if !has_true && has_false {
            req.enabled = Some(false);
        } else {
            req.enabled = Some(true);
        }
    }
}

/// `condition`: the first comma-separated path that holds a boolean decides.
fn process_dependency_conditions(chart: &mut Chart, cvals: &Values, path: &str) {
    for req in &mut chart.metadata.dependencies {
        let Some(condition) = req.condition.as_deref() else {
            continue;
        };
        for c in condition.trim().split(',') {
            if c.is_empty() {
                continue;
            }
            if let Some(Value::Bool(b)) = path_value(cvals, &format!("{path}{c}")) {
                req.enabled = Some(*b);
                break;
            }
        }
    }
}

/// `processDependencyImportValues`: children first, then this chart.
fn process_dependency_import_values(chart: &mut Chart) {
    for sub in &mut chart.dependencies {
        process_dependency_import_values(sub);
    }
    process_import_values(chart);
}

/// Copies values named by `import-values` from each subchart into this chart's values; the
/// chart's own values win over imported ones.
fn process_import_values(chart: &mut Chart) {
    if chart.metadata.dependencies.is_empty() {
        return;
    }
    // MergeValues(chart, nil): merging keeps nulls, and cannot fail on an empty tree.
    let Ok(cvals) = coalesce(chart, Map::new(), "", true) else {
        return;
    };
    let mut imported = Map::new();
    for req in &mut chart.metadata.dependencies {
        let mut normalized = Vec::new();
        for entry in &req.import_values {
            match entry {
                Value::Object(spec) => {
                    let child = go_format(spec.get("child"));
                    let parent = go_format(spec.get("parent"));
                    normalized.push(serde_json::json!({"child": child, "parent": parent}));
                    let Some(found) = table(&cvals, &format!("{}.{child}", req.name)) else {
                        continue;
                    };
                    coalesce_tables(&mut imported, path_to_map(&parent, found.clone()), true);
                }
                Value::String(name) => {
                    let child = format!("exports.{name}");
                    normalized.push(serde_json::json!({"child": child, "parent": "."}));
                    let Some(found) = table(&cvals, &format!("{}.{child}", req.name)) else {
                        continue;
                    };
                    coalesce_tables(&mut imported, found.clone(), true);
                }
                _ => {}
            }
        }
        req.import_values = normalized;
    }
    let mut values = cvals;
    coalesce_tables(&mut values, imported, true);
    chart.values = values;
}

/// Go's `fmt.Sprintf("%v", x)` for the scalars an import-values entry holds.
fn go_format(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "<nil>".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// `a.b` + data → `{a: {b: data}}`; `.` means the top level.
fn path_to_map(path: &str, data: Values) -> Values {
    if path == "." {
        return data;
    }
    let mut current = data;
    for part in path.split('.').rev() {
        let mut wrapper = Map::new();
        wrapper.insert(part.to_string(), Value::Object(current));
        current = wrapper;
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::Metadata;
    use serde_json::json;

    fn chart(name: &str, values: Value, deps: Vec<Dependency>, subs: Vec<Chart>) -> Chart {
        Chart {
            metadata: Metadata {
                name: name.to_string(),
                version: "1.0.0".to_string(),
                api_version: "v2".to_string(),
                dependencies: deps,
                ..Default::default()
            },
            lock: None,
            templates: vec![],
            values: values.as_object().cloned().unwrap(),
            raw_values: None,
            schema: None,
            files: vec![],
            dependencies: subs,
        }
    }

    fn dep(name: &str) -> Dependency {
        Dependency {
            name: name.to_string(),
            version: "1.x".to_string(),
            ..Default::default()
        }
    }

    fn map(v: Value) -> Values {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn user_values_win_and_null_deletes_a_default() {
        let mut c = chart(
            "top",
            json!({"a": 1, "m": {"x": 1, "y": 2}, "keep": null}),
            vec![],
            vec![],
        );
        let out = compute_render_values(&mut c, map(json!({"a": 2, "m": {"y": null}}))).unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"a": 2, "m": {"x": 1}, "keep": null})
        );
    }

    #[test]
    fn globals_reach_subcharts_and_parent_globals_win() {
        let sub = chart(
            "sub",
            json!({"global": {"g": "sub", "only": 1}, "s": 1, "n": null}),
            vec![],
            vec![],
        );
        let mut top = chart(
            "top",
            json!({"global": {"g": "top"}, "sub": {"s": 2}}),
            vec![dep("sub")],
            vec![sub],
        );
        let out = compute_render_values(&mut top, Values::new()).unwrap();
        assert_eq!(
            out["sub"],
            json!({"global": {"g": "top", "only": 1}, "s": 2})
        );
        assert_eq!(out["global"], json!({"g": "top"}));
    }

    #[test]
    fn alias_renames_and_condition_disables() {
        let sub = chart("sub", json!({"s": 1}), vec![], vec![]);
        let mut first = dep("sub");
        first.alias = Some("one".into());
        first.condition = Some("one.enabled".into());
        let mut second = dep("sub");
        second.alias = Some("two".into());
        second.condition = Some("missing.path,two.enabled".into());
        let mut top = chart(
            "top",
            json!({"two": {"enabled": false}}),
            vec![first, second],
            vec![sub],
        );
        let out = compute_render_values(&mut top, Values::new()).unwrap();
        let names: Vec<&str> = top.dependencies.iter().map(|c| c.name()).collect();
        assert_eq!(names, ["one"]);
        assert_eq!(out["one"], json!({"global": {}, "s": 1}));
        assert_eq!(out["two"], json!({"enabled": false}));
    }

    #[test]
    fn tags_disable_unless_a_condition_enables() {
        let mut tagged = dep("a");
        tagged.tags = vec!["backend".into()];
        let mut overridden = dep("b");
        overridden.tags = vec!["backend".into()];
        overridden.condition = Some("b.enabled".into());
        let mut top = chart(
            "top",
            json!({"tags": {"backend": false}}),
            vec![tagged, overridden],
            vec![
                chart("a", json!({}), vec![], vec![]),
                chart("b", json!({}), vec![], vec![]),
            ],
        );
        compute_render_values(&mut top, map(json!({"b": {"enabled": true}}))).unwrap();
        let names: Vec<&str> = top.dependencies.iter().map(|c| c.name()).collect();
        assert_eq!(names, ["b"]);
    }

    #[test]
    fn import_values_both_forms_fill_but_do_not_override_parent() {
        let sub = chart(
            "sub",
            json!({"exports": {"data": {"port": 80, "host": "x"}}, "deep": {"inner": {"v": 1}}}),
            vec![],
            vec![],
        );
        let mut d = dep("sub");
        d.import_values = vec![
            json!("data"),
            json!({"child": "deep.inner", "parent": "fromChild"}),
        ];
        let mut top = chart("top", json!({"host": "mine"}), vec![d], vec![sub]);
        let out = compute_render_values(&mut top, Values::new()).unwrap();
        assert_eq!(out["port"], json!(80));
        assert_eq!(out["host"], json!("mine"));
        assert_eq!(out["fromChild"], json!({"v": 1}));
    }

    #[test]
    fn non_map_values_for_a_subchart_are_an_error() {
        let mut top = chart(
            "top",
            json!({}),
            vec![dep("sub")],
            vec![chart("sub", json!({}), vec![], vec![])],
        );
        let err = compute_render_values(&mut top, map(json!({"sub": 5}))).unwrap_err();
        assert!(err.to_string().contains("\"sub\""), "{err}");
    }

    #[test]
    fn coalesce_user_tables_lets_new_values_win_and_null_delete() {
        let mut new = map(json!({"a": 2, "m": {"x": null}, "n": null}));
        coalesce_user_tables(
            &mut new,
            map(json!({"a": 1, "b": 1, "m": {"x": 1, "y": 1}})),
        );
        assert_eq!(
            Value::Object(new),
            json!({"a": 2, "b": 1, "m": {"y": 1}, "n": null})
        );
    }

    #[test]
    fn masterminds_ranges() {
        assert!(is_compatible_range("1.x", "1.4.0"));
        assert!(is_compatible_range("~1.2.0", "1.2.9"));
        assert!(is_compatible_range("1.2.3", "1.2.3"));
        assert!(!is_compatible_range("1.2.3", "1.2.4"));
        assert!(is_compatible_range(">= 1.0.0, < 2.0.0", "1.5.0"));
        assert!(is_compatible_range("^2 || 1.0 - 1.5", "1.3.0"));
        assert!(!is_compatible_range("^2", "1.3.0"));
    }
}
