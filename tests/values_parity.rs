//! Values parity with the real helm binary: the same `-f`/`--set…` flags must give the same
//! `.Values` in `helm template` (a Go-template chart printing `{{ .Values | toJson }}`) and in
//! rudder (`ValueOptions::merge` + `compute_render_values` + `validate_schema`), and inputs
//! helm rejects must be rejected by rudder too.
//!
//! helm comes from `RUDDER_PEERS_BIN` or `scripts/install-peers`; the test never skips.

mod peers;

use peers::helm;
use rudder::values::{ValueOptions, ValueSource, Values, compute_render_values, validate_schema};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const PARITY_CHART: &str = "testdata/values/parity-chart";
const UMBRELLA_CHART: &str = "testdata/values/umbrella";
const VERSIONLESS_CHART: &str = "testdata/values/umbrella-versionless";
const INPUTS: &str = "testdata/values/inputs";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Each rendered template's `.Values`, by its `# Source:` path.
type Rendered = BTreeMap<String, Value>;

/// `helm template` with the given flags: Ok(values by template) or Err(helm's message).
fn run_helm(helm: &Path, chart: &str, flags: &[String]) -> Result<Rendered, String> {
    let out = Command::new(helm)
        .current_dir(root())
        .args(["template", "parity-release", chart])
        .args(flags)
        .env(
            "HELM_CACHE_HOME",
            std::env::temp_dir().join("rudder-helm-cache"),
        )
        .env(
            "HELM_CONFIG_HOME",
            std::env::temp_dir().join("rudder-helm-config"),
        )
        .env(
            "HELM_DATA_HOME",
            std::env::temp_dir().join("rudder-helm-data"),
        )
        .output()
        .expect("helm runs");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let mut rendered = Rendered::new();
    let mut source = None;
    for line in stdout.lines() {
        if let Some(path) = line.strip_prefix("# Source: ") {
            source = Some(path.to_string());
        } else if let Some(json) = line.strip_prefix("# ") {
            let value: Value = serde_json::from_str(json)
                .unwrap_or_else(|e| panic!("helm printed invalid JSON {json:?}: {e}"));
            rendered.insert(source.take().expect("a Source line first"), value);
        }
    }
    Ok(rendered)
}

/// helm-style flags as rudder's value sources, in command-line order.
fn sources(flags: &[String]) -> Vec<ValueSource> {
    let mut out = Vec::new();
    let mut it = flags.iter();
    while let Some(flag) = it.next() {
        let arg = it.next().expect("every flag has an argument").clone();
        out.push(match flag.as_str() {
            "-f" | "--values" => ValueSource::File(PathBuf::from(arg)),
            "--set" => ValueSource::Set(arg),
            "--set-string" => ValueSource::SetString(arg),
            "--set-json" => ValueSource::SetJson(arg),
            "--set-file" => ValueSource::SetFile(arg),
            "--set-literal" => ValueSource::SetLiteral(arg),
            other => panic!("unknown flag {other}"),
        });
    }
    out
}

/// rudder's side: the values every template of the chart would see, by the same paths
/// helm prints, or the first error.
fn run_rudder(chart_dir: &str, flags: &[String]) -> Result<Rendered, String> {
    let user = ValueOptions {
        sources: sources(flags),
    }
    .merge()
    .map_err(|e| e.to_string())?;
    let mut chart = rudder::chart::load(&root().join(chart_dir)).map_err(|e| e.to_string())?;
    let values = compute_render_values(&mut chart, user).map_err(|e| e.to_string())?;
    validate_schema(&chart, &values).map_err(|e| e.to_string())?;
    let mut rendered = Rendered::new();
    collect(&chart, &values, chart.name().to_string(), &mut rendered);
    Ok(rendered)
}

/// Every chart of the tree renders `templates/values.yaml` with its scoped values.
fn collect(chart: &rudder::chart::Chart, values: &Values, path: String, out: &mut Rendered) {
    out.insert(
        format!("{path}/templates/values.yaml"),
        Value::Object(values.clone()),
    );
    for sub in &chart.dependencies {
        let scoped = match values.get(sub.name()) {
            Some(Value::Object(map)) => map.clone(),
            _ => Values::new(),
        };
        collect(sub, &scoped, format!("{path}/charts/{}", sub.name()), out);
    }
}

/// helm's numbers are float64: compare every number by its f64 value.
fn normalize(value: &Value) -> Value {
    match value {
        Value::Number(n) => serde_json::json!(n.as_f64().expect("finite")),
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), normalize(v))).collect())
        }
        other => other.clone(),
    }
}

fn normalize_all(rendered: &Rendered) -> BTreeMap<String, Value> {
    rendered
        .iter()
        .map(|(k, v)| (k.clone(), normalize(v)))
        .collect()
}

/// Runs every case through helm (in parallel) and rudder; panics listing every mismatch.
fn check_table(chart: &str, cases: &[Case]) -> usize {
    let helm = helm();
    let helm_results: Vec<Result<Rendered, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .chunks(cases.len().div_ceil(6))
            .map(|chunk| {
                let helm = &helm;
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|case| run_helm(helm, chart, &case.flags))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("helm thread"))
            .collect()
    });
    let mut mismatches = Vec::new();
    for (case, helm_result) in cases.iter().zip(helm_results) {
        let (name, flags) = (case.name, &case.flags);
        let rudder_result = run_rudder(chart, flags);
        if helm_result.is_ok() != case.helm_accepts {
            mismatches.push(format!(
                "case {name:?} {flags:?}: the table expects helm to {}, but helm: {}",
                if case.helm_accepts {
                    "accept it"
                } else {
                    "reject it"
                },
                show(&helm_result)
            ));
            continue;
        }
        match (&helm_result, &rudder_result) {
            (Ok(h), Ok(r)) if normalize_all(h) == normalize_all(r) => {}
            (Err(h), Err(r)) => println!("  {name}: both reject\n    helm:   {h}\n    rudder: {r}"),
            _ => mismatches.push(format!(
                "case {name:?} {flags:?}\n  helm:   {}\n  rudder: {}",
                show(&helm_result),
                show(&rudder_result)
            )),
        }
    }
    println!(
        "values parity ({chart}): {} of {} cases match helm",
        cases.len() - mismatches.len(),
        cases.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} case(s) differ from helm:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    cases.len()
}

fn show(result: &Result<Rendered, String>) -> String {
    match result {
        Ok(rendered) => serde_json::to_string(&normalize_all(rendered)).unwrap(),
        Err(e) => format!("error: {e}"),
    }
}

/// One row of a parity table: a name, helm-style flags (`@x` means `testdata/values/inputs/x`)
/// and whether helm accepts them (checked too, so a broken setup cannot pass as "both failed").
struct Case {
    name: &'static str,
    flags: Vec<String>,
    helm_accepts: bool,
}

fn flags(flags: &[&str]) -> Vec<String> {
    flags
        .iter()
        .map(|f| f.replace('@', &format!("{INPUTS}/")))
        .collect()
}

/// A case both must render with identical values.
fn case(name: &'static str, args: &[&str]) -> Case {
    Case {
        name,
        flags: flags(args),
        helm_accepts: true,
    }
}

/// A case both must reject.
fn fails(name: &'static str, args: &[&str]) -> Case {
    Case {
        name,
        flags: flags(args),
        helm_accepts: false,
    }
}

#[test]
fn values_match_helm_for_every_case() {
    let cases = vec![
        // Values files: merging, nulls, lists, YAML 1.1 scalars, multiple documents.
        case("chart defaults only", &[]),
        case("one values file", &["-f", "@prod.yaml"]),
        case(
            "later file wins",
            &["-f", "@prod.yaml", "-f", "@override.yaml"],
        ),
        case(
            "file order matters",
            &["-f", "@override.yaml", "-f", "@prod.yaml"],
        ),
        case("nulls delete defaults", &["-f", "@nulls.yaml"]),
        case("yaml 1.1 scalars", &["-f", "@yaml11.yaml"]),
        case("multi-document file", &["-f", "@multi-doc.yaml"]),
        case("anchors and merge keys", &["-f", "@anchors.yaml"]),
        case("comment-only file", &["-f", "@empty.yaml"]),
        case(
            "map over list, scalar over list",
            &["-f", "@list-to-map.yaml"],
        ),
        case("scalar over map", &["-f", "@type-change.yaml"]),
        // --set
        case("set pairs", &["--set", "replicaCount=4,image.tag=v2"]),
        case("set dotted path", &["--set", "a.b.c=1"]),
        case("set list index", &["--set", "list[0]=x"]),
        case("set list gap", &["--set", "list[2]=x"]),
        case(
            "set list replaces default list",
            &["--set", "tolerations[1].key=gpu"],
        ),
        case("set list literal", &["--set", "name={a,b,c}"]),
        case("set empty list literal", &["--set", "name={}"]),
        case("set escaped dot", &["--set", r"a\.b=1"]),
        case("set escaped comma", &["--set", r"a=x\,y"]),
        case("set null deletes map", &["--set", "image=null"]),
        case(
            "set null deletes nested",
            &["--set", "service.annotations.team=null"],
        ),
        case("set null deletes scalar", &["--set", "replicaCount=null"]),
        case(
            "set typing",
            &[
                "--set",
                "int=42,neg=-7,zero=0,lead=007,float=1.5,bool=TRUE,big=99999999999999999999",
            ],
        ),
        case("set nested list", &["--set", "a[0][1]=x"]),
        case("set list of maps", &["--set", "a[0].b=1,a[0].c=2"]),
        case("set empty value", &["--set", "outer.inner="]),
        case("set deep merge", &["--set", "nested.deep.deeper.value=2"]),
        case("set null subtree", &["--set", "nested.deep=null"]),
        case(
            "nested null without a default is kept",
            &["--set", "image.newKey=null"],
        ),
        case("set over null default", &["--set", "nullDefault=x"]),
        case("set scalar over map default", &["--set", "service=flat"]),
        case("set false", &["--set", "enabled=false"]),
        case("set same key twice", &["--set", "a=1", "--set", "a=2"]),
        case(
            "set into file values",
            &["-f", "@prod.yaml", "--set", "newTop.a.b.d=2"],
        ),
        case(
            "set list index into file list",
            &["-f", "@prod.yaml", "--set", "tolerations[0].value=x"],
        ),
        // --set-string, --set-json, --set-file, --set-literal
        case(
            "set-string never types",
            &["--set-string", "a=1,b=true,c=null,d=007"],
        ),
        case(
            "set-json value",
            &["--set-json", r#"a={"x":[1,2,{"y":null}]}"#],
        ),
        case(
            "set-json object form",
            &["--set-json", r#"{"image":{"tag":"json"},"n":1.5}"#],
        ),
        case("set-json pairs", &["--set-json", r#"a=1,b="two",c=[3]"#]),
        case("set-json list item", &["--set-json", r#"l[1]={"k":"v"}"#]),
        case("set-json empty is null", &["--set-json", "replicaCount="]),
        case("set-file", &["--set-file", "config=@config.txt"]),
        case(
            "set-file list",
            &["--set-file", "files={@config.txt,@data.json}"],
        ),
        case(
            "set-literal verbatim",
            &["--set-literal", r"lit=a,b=c\d{e}"],
        ),
        case("set-literal dotted", &["--set-literal", "x.y=1"]),
        // Mixed flags: helm applies them by kind (files, json, set, string, file, literal).
        case(
            "mixed flags",
            &[
                "-f",
                "@prod.yaml",
                "--set",
                "replicaCount=9",
                "--set-string",
                "image.tag=010",
                "--set-json",
                r#"args=["--x"]"#,
            ],
        ),
        case(
            "set-string beats later set",
            &["--set-string", "a=str", "--set", "a=set"],
        ),
        case(
            "set beats later set-json",
            &["--set", "a=set", "--set-json", "a=1"],
        ),
        case(
            "set-literal beats later set-file",
            &["--set-literal", "a=lit", "--set-file", "a=@config.txt"],
        ),
        case(
            "set beats earlier file",
            &["--set", "replicaCount=2", "-f", "@override.yaml"],
        ),
        case("yaml edge cases", &["-f", "@edge-yaml.yaml"]),
        case("empty key segment is ignored", &["--set", ".a=1,b=2"]),
        case("dangling dot is ignored", &["--set", "b=2,a."]),
        case("bare index makes an empty list", &["--set", "a[0]"]),
        case("equals inside value", &["--set", "a=b=c"]),
        case("spaces are kept", &["--set", " a = b "]),
        case("escaped comma in list", &["--set", r"name={a\,b,c}"]),
        case(
            "set typing edge cases",
            &[
                "--set",
                "a=True,b=nUll,c=-0,d=+5,e=1e3,f=0x10,g=9223372036854775808,h=-01",
            ],
        ),
        case(
            "list index across flags",
            &["--set", "l[0]=a", "--set", "l[2]=c"],
        ),
        case(
            "list item map then scalar",
            &["--set", "l[1].x=1", "--set", "l[0]=2"],
        ),
        case("null after map", &["--set", "a.b=1", "--set", "a=null"]),
        case("set under null default", &["--set", "nullDefault.x=1"]),
        case("set-json spaces", &["--set-json", "a=1 , b=2"]),
        case("set-literal list item", &["--set-literal", "a[1]=x,y"]),
        case(
            "set-literal twice",
            &["--set-literal", "a=b", "--set-literal", "c=d"],
        ),
        case(
            "set-json spaces before comma",
            &["--set-json", "a=[1] ,b=2"],
        ),
        case(
            "set-json huge integer",
            &["--set-json", "a=12345678901234567890"],
        ),
        case("set-json negative zero", &["--set-json", "a=-0"]),
        case("set-json leading blank", &["--set-json", r#"a= {"x":1}"#]),
        case("set-literal empty name", &["--set-literal", "=x"]),
        case("set-literal bare index", &["--set-literal", "a[0]"]),
        case("schema accepts", &["--set", "schemaChecked=7"]),
        // Errors: both must fail.
        fails("schema type violation", &["--set", "schemaChecked=abc"]),
        fails("schema minimum violation", &["--set", "schemaChecked=-1"]),
        fails("key without value", &["--set", "a"]),
        fails("trailing key without value", &["--set", "a=1,b"]),
        fails("non-numeric index", &["--set", "a[x]=1"]),
        fails("negative index", &["--set", "a[-1]=1"]),
        fails("index too large", &["--set", "a[70000]=1"]),
        fails("data after index", &["--set", "a[0]x=1"]),
        fails("unterminated list", &["--set", "a={1,2"]),
        fails("scalar then map", &["--set", "a=1,a.b=2"]),
        fails(
            "name nested too deep",
            &[
                "--set",
                "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.aa.bb.cc.dd.ee.ff=1",
            ],
        ),
        fails("empty key segment", &["--set-string", "a.=1"]),
        fails("bad set-json value", &["--set-json", "a={bad"]),
        fails("bad set-json object", &["--set-json", "{bad"]),
        fails("unterminated set-json list", &["--set-json", "a=[1,2"]),
        fails("invalid yaml file", &["-f", "@broken.yaml"]),
        fails("tab-indented yaml file", &["-f", "@tab.yaml"]),
        fails("values file not a map", &["-f", "@not-a-map.yaml"]),
        fails("missing values file", &["-f", "@missing.yaml"]),
        fails("double comma", &["--set", "a=1,,b=2"]),
        fails("junk after list", &["--set", "a={x,y}z"]),
        fails("index into a string", &["--set", "a=1,a[0]=2"]),
        fails("null map key in file", &["-f", "@null-key.yaml"]),
        fails("infinity in file", &["-f", "@infinity.yaml"]),
        fails("set-json junk after number", &["--set-json", "a=1x"]),
        fails("set-json junk after string", &["--set-json", r#"a="x"y"#]),
        fails("set-json leading zero", &["--set-json", "a=01"]),
        fails("set-json number out of range", &["--set-json", "a=1e400"]),
        fails("set-json bad literal", &["--set-json", "a=tru"]),
        fails("set-json extra brace", &["--set-json", r#"a={"x":1}}"#]),
        fails("set-literal without value", &["--set-literal", "a"]),
        fails(
            "set-literal dotted without value",
            &["--set-literal", "a.b"],
        ),
        fails("missing set-file", &["--set-file", "a=@missing.txt"]),
    ];
    assert!(cases.len() >= 40);
    check_table(PARITY_CHART, &cases);
}

#[test]
fn subchart_values_match_helm() {
    let cases = vec![
        case("umbrella defaults", &[]),
        case(
            "enable nested subchart, condition beats tag",
            &[
                "--set",
                "db.metrics.enabled=true",
                "--set",
                "replica.enabled=true",
                "--set",
                "tags.caching=false",
            ],
        ),
        case("condition disables", &["--set", "db.enabled=false"]),
        case(
            "null condition falls back to chart default",
            &["--set", "db.enabled=null"],
        ),
        case(
            "first resolvable condition wins",
            &["--set", "global.dbEnabled=false"],
        ),
        case(
            "non-boolean condition is skipped",
            &[
                "--set",
                "db.enabled=notabool",
                "--set",
                "global.dbEnabled=false",
            ],
        ),
        case(
            "globals propagate",
            &[
                "--set",
                "global.region=us-east-1,global.labels.team=x,global.new=1",
            ],
        ),
        case(
            "parent globals win over subchart globals",
            &["--set", "primary.global.region=override"],
        ),
        case(
            "null deletes subchart default",
            &[
                "--set",
                "db.auth.username=null",
                "--set",
                "db.auth.rootPassword=set",
            ],
        ),
        case("tags disable", &["--set", "tags.caching=false"]),
        case(
            "alias gets its own values",
            &["--set", "replica.enabled=true,replica.size=tiny"],
        ),
        case("null deletes imported default", &["--set", "dbTuning=null"]),
        case("user value beats import", &["--set", "dbPort=1"]),
        case(
            "json into subchart",
            &[
                "--set-json",
                r#"db={"storage":"1Ti","metrics":{"enabled":true,"interval":"5s"}}"#,
            ],
        ),
        case("null for a whole subchart", &["--set", "primary=null"]),
        case(
            "subchart-level global loses to parent global",
            &["--set", "db.global.region=x,db.global.mine=1"],
        ),
        case("non-map global is skipped", &["--set", "global=5"]),
        case("null global", &["--set", "global=null"]),
        case("null global entry", &["--set", "global.labels=null"]),
        case(
            "non-boolean tag is ignored",
            &["--set", "tags.caching=maybe"],
        ),
        case("null tags", &["--set", "tags=null"]),
        case(
            "condition beats false tags",
            &[
                "--set",
                "replica.enabled=true",
                "--set",
                "tags.optional=false,tags.caching=false",
            ],
        ),
        case(
            "globals into nested subchart",
            &["--set", "db.metrics.enabled=true,global.deep.a.b=1"],
        ),
        case(
            "imports chain up from a grandchild",
            &["--set", "db.metrics.enabled=true"],
        ),
        case(
            "parent value beats a grandchild import",
            &[
                "--set",
                "db.metrics.enabled=true,db.port=1",
                "--set-string",
                "db.metricsLabels.scraped=no",
            ],
        ),
        fails("subchart values must be a map", &["--set", "db=5"]),
        fails("subchart schema type violation", &["--set", "db.storage=5"]),
        fails(
            "subchart schema pattern violation",
            &["--set-string", "db.storage=lots"],
        ),
        case(
            "disabled subchart's schema is not checked",
            &["--set", "db.enabled=false,db.storage=5"],
        ),
    ];
    check_table(UMBRELLA_CHART, &cases);
}

#[test]
fn unversioned_and_unlisted_subcharts_match_helm() {
    let cases = vec![
        case("defaults", &[]),
        case(
            "condition still applies by name",
            &["--set", "db.enabled=false"],
        ),
        case(
            "values for an alias that matched no chart",
            &["--set", "primary.size=huge"],
        ),
        case(
            "unlisted subchart takes values",
            &["--set", "extra.extra=false,extra.more=1"],
        ),
        case(
            "enable the versioned alias",
            &["--set", "replica.enabled=true"],
        ),
    ];
    check_table(VERSIONLESS_CHART, &cases);
}
