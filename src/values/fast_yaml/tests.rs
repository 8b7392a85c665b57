//! The fast reader against serde_yaml: on every text it accepts, both must give the same
//! values — on hand-picked cases, generated documents, mutated documents and real charts —
//! read as helm reads values files, and read as serde_yaml reads a `serde_json::Value`
//! (rendered manifests).

use super::*;
use crate::values::yaml::read_with_serde_yaml;
use proptest::prelude::*;

/// What the fast reader says of `text` as values, checked against serde_yaml when it
/// accepts it; its reading as a JSON object is checked the same way.
fn agrees(text: &str) -> Option<Value> {
    agrees_as_json(text);
    let fast = read(text)?;
    match read_with_serde_yaml(text) {
        Ok(documents) => assert_eq!(
            documents,
            vec![fast.clone()],
            "the readers disagree on:\n{text}"
        ),
        Err(e) => panic!("the fast reader accepts what serde_yaml refuses ({e}):\n{text}"),
    }
    Some(fast)
}

/// What the fast reader says of `text` as a JSON object, checked against
/// `serde_yaml::from_str::<serde_json::Value>` when it accepts it.
fn agrees_as_json(text: &str) -> Option<Value> {
    let header = read_object_header(text);
    let Some(object) = read_object(text) else {
        assert_eq!(header, None, "only the header reading accepts:\n{text}");
        return None;
    };
    let mut expected_header = object.clone();
    expected_header.retain(|k, _| HEADER.contains(&k.as_str()));
    assert_eq!(
        header,
        Some(expected_header),
        "the header readings differ on:\n{text}"
    );
    let fast = Value::Object(object);
    match serde_yaml::from_str::<Value>(text) {
        Ok(value) => assert_eq!(value, fast, "the readers disagree (JSON) on:\n{text}"),
        Err(e) => panic!("the fast reader accepts what serde_yaml refuses (JSON, {e}):\n{text}"),
    }
    Some(fast)
}

#[test]
fn reads_the_usual_shapes_as_serde_yaml_does() {
    let usual = [
        "a: 1\nb: two\n",
        "# top comment\n\nimage:\n  repository: nginx # trailing\n  tag: \"1.25\"\n  pullPolicy: IfNotPresent\n",
        "list:\n- a\n- b\nnext: 1\n",
        "list:\n  - name: x\n    port: 80\n  - name: y\n    env: {A: '1', B: \"two\"}\n",
        "flags: [yes, no, on, off, y, n, ~, null, true, False]\n",
        "numbers: [0644, 1_000, 0x1F, -0x1F, 0o17, 0b101, +5, 1e3, .5, 5., 1.50, 08, -017, 0]\n",
        "big: [99999999999999999999, -99999999999999999999, 18446744073709551615, -9223372036854775808]\n",
        "strings: [1.2.3, 100m, 512Mi, '0644', \"yes\", 1:20, http://x.y/z, a#b, é中文]\n",
        "keys:\n  1: a\n  yes: b\n  0644: c\n  1e3: d\n  \"q\": e\n  'it''s': f\n",
        "escapes: \"tab\\there \\\"q\\\" \\\\ \\u00e9 \\x41 \\U0001F600 \\/\"\n",
        "empty:\nnested:\n  inner:\n  other: {}\n  list: []\n",
        "a:\n  b:\n    c:\n      - - 1\n",
        "  indented: 1\n  root: 2\n",
        "dup: 1\ndup: 2\n",
        "- - 1\n",
        "a: |\n  text\n  more\nb: 1\n",
        "a: |-\n  text\n\n   wider\n  # not a comment\n\nb: 1\n",
        "a: |+\n  text\n\n\nb: 1\n",
        "a: |\n\n  after a blank line\n",
        "list:\n- |\n  item\n- k: |\n    in a mapping\n  other: 2\n",
        "a: |\n    deeper\n    text\n  # a comment\nb: |-\n  last",
    ];
    let mut accepted = 0;
    for text in usual {
        accepted += usize::from(agrees(text).is_some());
    }
    // All but the nested compact sequence and the top-level sequence.
    assert!(
        accepted >= usual.len() - 3,
        "only {accepted} of {} read fast",
        usual.len()
    );
    assert_eq!(
        agrees("image:\n  tag: \"1.25\"\n  pull: IfNotPresent # c\nports:\n- 80\n- 0644\n"),
        Some(
            serde_json::json!({"image": {"tag": "1.25", "pull": "IfNotPresent"}, "ports": [80, 420]})
        )
    );
    assert_eq!(
        agrees("a: |-\n  x\n\n   y\nb: |+\n  z\n\nc: |\n  w\n\n"),
        Some(serde_json::json!({"a": "x\n\n y", "b": "z\n\n", "c": "w\n"}))
    );
}

#[test]
fn manifests_read_as_serde_yaml_reads_json() {
    let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  labels:\n    \
                    on: yes\n    1: 0644\n  annotations: {0x1F: 1e3, n: null}\ndata:\n  \
                    config.yaml: |\n    a: 1\n    b: [x]\n  big: 1_000\n";
    assert_eq!(
        agrees_as_json(manifest),
        Some(serde_json::json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "web",
                "labels": {"on": "yes", "1": "0644"},
                "annotations": {"0x1F": 1000.0, "n": null},
            },
            "data": {"config.yaml": "a: 1\nb: [x]\n", "big": "1_000"},
        }))
    );
    // Integers past 64 bits are serde_yaml's to refuse.
    assert_eq!(read_object("a: 99999999999999999999\n"), None);
}

#[test]
fn gives_up_on_what_it_does_not_read() {
    for text in [
        "",
        "# only a comment\n",
        "a: &x 1\nb: *x\n",
        "a: !!str 12\n",
        "a: |2\n  text\n",
        "a: | # comment\n  text\n",
        "a: |\nb: 1\n",
        "a: |\n    \n  text\n",
        "a: >\n  text\n",
        "a: multi\n  line\n",
        "a: \"multi\n  line\"\n",
        "a: [1,\n  2]\n",
        "---\na: 1\n",
        "a: 1\n---\nb: 2\n",
        "%YAML 1.1\n---\na: 1\n",
        "a:\tb\n",
        "a: 1\r\nb: 2\r\n",
        "<<: {a: 1}\n",
        "a: .inf\n",
        "a: .nan\n",
        "a: b: c\n",
        "? a\n: b\n",
        "a: \"\\N\"\n",
        "- a\n",
        "\u{feff}a: 1\n",
    ] {
        assert_eq!(read(text), None, "read fast:\n{text}");
    }
}

#[test]
fn real_charts_values_read_as_serde_yaml_reads_them() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [root.join("../shared/real-charts"), root.join("testdata")] {
        collect_yaml(&dir, &mut files);
    }
    assert!(files.len() > 100, "found only {} YAML files", files.len());
    let mut accepted = 0;
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        if std::panic::catch_unwind(|| agrees(&text))
            .unwrap_or_else(|_| panic!("{}", file.display()))
            .is_some()
        {
            accepted += 1;
        }
    }
    // Most values files are of the usual shape (the rest hold block scalars, anchors, …).
    assert!(
        accepted * 4 > files.len(),
        "{accepted} of {} read fast",
        files.len()
    );
}

fn collect_yaml(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_yaml(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml")
            && !path.components().any(|c| c.as_os_str() == "templates")
        {
            out.push(path);
        }
    }
}

/// Scalars as written in values files, including every kind the resolution rules treat
/// specially and some that are not plain scalars at all.
const WORDS: &[&str] = &[
    "a",
    "kind",
    "metadata",
    "nginx",
    "IfNotPresent",
    "yes",
    "No",
    "on",
    "OFF",
    "y",
    "n",
    "~",
    "null",
    "NULL",
    "true",
    "False",
    "0",
    "00",
    "0644",
    "-017",
    "08",
    "1_000",
    "0x1F",
    "-0x1F",
    "0o17",
    "-0o17",
    "0b101",
    "-0b101",
    "+5",
    "+-5",
    "-5",
    "1e3",
    "1E+3",
    "1e-3",
    ".5",
    "5.",
    "-.5",
    "+.5",
    "1.50",
    "0.0",
    "-0",
    "+0",
    "0.",
    "1e",
    "e1",
    "0x",
    "0xZZ",
    "0x+1",
    ".inf",
    "-.inf",
    "+.inf",
    ".nan",
    "nan",
    "inf",
    "Infinity",
    "1e999",
    "99999999999999999999",
    "-99999999999999999999",
    "18446744073709551616",
    "340282366920938463463374607431768211456",
    "1:20",
    "12:30:00",
    "2001-12-14",
    "1.2.3",
    "100m",
    "512Mi",
    "http://x.y/z?q=1",
    "a#b",
    "a #b",
    "a: b",
    "a:",
    "-a",
    "--",
    "---",
    "- a",
    "?x",
    ":x",
    "!t x",
    "&a",
    "*a",
    "|",
    ">",
    "%x",
    "@x",
    "`x",
    "a,b",
    "a[1]",
    "[x]",
    "{x}",
    "é",
    "中文",
    "a'b",
    "a\"b",
    "<<",
    "=",
    "a  b",
    "x ",
    "=1",
    "_",
    "$HOME",
    "a\\b",
    "0o",
    "0b2",
    "-0x",
    "+0x1",
    "1__0",
    "0_7",
];

/// Scalars the fast reader must read (as plain scalars, in any position).
const SAFE_WORDS: &[&str] = &[
    "a",
    "apiVersion",
    "metadata",
    "nginx",
    "yes",
    "No",
    "~",
    "null",
    "true",
    "0",
    "0644",
    "1_000",
    "0x1F",
    "-5",
    "1e3",
    ".5",
    "1.50",
    "1:20",
    "1.2.3",
    "100m",
    "http://x.y/z",
    "a#b",
    "é",
    "-a",
    "Infinity",
];

#[derive(Debug, Clone)]
enum Quote {
    Plain,
    Single,
    Double,
}

#[derive(Debug, Clone)]
enum Node {
    Scalar(String, Quote),
    Map(Vec<(String, Quote, Node)>),
    Seq(Vec<Node>),
    /// A literal block scalar: its chomping indicator and lines (written indented).
    Literal(&'static str, Vec<String>),
}

/// Lines of literal block scalars: text, blank lines, lines wider than the first, and lines
/// that would mean something else outside a block scalar.
const LITERAL_LINES: &[&str] = &[
    "text",
    "",
    "  wider",
    "# hash",
    "- item",
    "key: value",
    "\"quoted\"",
    "a: b: c",
    "{x}",
    "   ",
    "|",
];

#[derive(Debug, Clone)]
struct Style {
    width: usize,
    indentless: bool,
    flow: bool,
    comments: bool,
}

fn quote_strategy() -> impl Strategy<Value = Quote> {
    prop_oneof![
        6 => Just(Quote::Plain),
        1 => Just(Quote::Single),
        1 => Just(Quote::Double)
    ]
}

fn word(safe: bool) -> BoxedStrategy<String> {
    let words = if safe { SAFE_WORDS } else { WORDS };
    prop_oneof![
        4 => proptest::sample::select(words).prop_map(str::to_string),
        1 => "[a-z][a-z0-9_.-]{0,8}",
    ]
    .boxed()
}

/// Keys: as [`word`], but a safe key is never null (a null key is refused).
fn key(safe: bool) -> BoxedStrategy<String> {
    let words: Vec<&str> = if safe {
        SAFE_WORDS
            .iter()
            .copied()
            .filter(|w| !matches!(*w, "~" | "null"))
            .collect()
    } else {
        WORDS.to_vec()
    };
    prop_oneof![
        4 => proptest::sample::select(words).prop_map(str::to_string),
        1 => "[a-z][a-z0-9_.-]{0,8}",
    ]
    .boxed()
}

fn literal(safe: bool) -> impl Strategy<Value = Node> {
    let lines = proptest::collection::vec(proptest::sample::select(LITERAL_LINES), 0..5);
    (proptest::sample::select(&["", "-", "+"][..]), lines).prop_filter_map(
        "a safe literal starts with text",
        move |(chomp, lines)| {
            let lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            let starts_with_text = lines
                .first()
                .is_some_and(|l| !l.trim().is_empty() && !l.starts_with(' '));
            (!safe || starts_with_text).then_some(Node::Literal(chomp, lines))
        },
    )
}

fn node(safe: bool) -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        8 => (word(safe), quote_strategy()).prop_map(|(w, q)| Node::Scalar(w, q)),
        1 => literal(safe),
    ];
    leaf.prop_recursive(4, 40, 5, move |inner| {
        prop_oneof![
            proptest::collection::vec((key(safe), quote_strategy(), inner.clone()), 0..5)
                .prop_map(Node::Map),
            proptest::collection::vec(inner, 0..5).prop_map(Node::Seq),
        ]
    })
}

fn root(safe: bool) -> impl Strategy<Value = Vec<(String, Quote, Node)>> {
    proptest::collection::vec((key(safe), quote_strategy(), node(safe)), 1..6)
}

fn style() -> impl Strategy<Value = Style> {
    (1usize..5, any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(width, indentless, flow, comments)| Style {
            width,
            indentless,
            flow,
            comments,
        },
    )
}

fn scalar(text: &str, quote: &Quote) -> String {
    match quote {
        Quote::Plain => text.to_string(),
        Quote::Single => format!("'{}'", text.replace('\'', "''")),
        Quote::Double => serde_json::to_string(text).unwrap(),
    }
}

fn flow(node: &Node) -> String {
    match node {
        Node::Scalar(text, quote) => scalar(text, quote),
        Node::Literal(_, lines) => serde_json::to_string(&lines.join("\n")).unwrap(),
        Node::Map(entries) => {
            let inner: Vec<String> = entries
                .iter()
                .map(|(k, q, v)| format!("{}: {}", scalar(k, q), flow(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
        Node::Seq(items) => format!(
            "[{}]",
            items.iter().map(flow).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// `node` as the value after `key:` or `-` (the text following the indicator).
fn block_value(node: &Node, indent: usize, in_map: bool, style: &Style) -> String {
    match node {
        Node::Map(entries) if !entries.is_empty() && !style.flow => {
            format!("\n{}", block_map(entries, indent + style.width, style))
        }
        Node::Seq(items) if !items.is_empty() && !style.flow => {
            let at = if in_map && style.indentless {
                indent
            } else {
                indent + style.width
            };
            format!("\n{}", block_seq(items, at, style))
        }
        Node::Literal(chomp, lines) if !style.flow => {
            let mut out = format!(" |{chomp}\n");
            for line in lines {
                if !line.is_empty() {
                    out.push_str(&" ".repeat(indent + style.width));
                    out.push_str(line);
                }
                out.push('\n');
            }
            out
        }
        other => {
            let comment = if style.comments { " # note" } else { "" };
            format!(" {}{comment}\n", flow(other))
        }
    }
}

fn block_map(entries: &[(String, Quote, Node)], indent: usize, style: &Style) -> String {
    let mut out = String::new();
    for (key, quote, value) in entries {
        if style.comments {
            out.push_str(&format!("{}# about {key}\n\n", " ".repeat(indent)));
        }
        out.push_str(&" ".repeat(indent));
        out.push_str(&scalar(key, quote));
        out.push(':');
        out.push_str(&block_value(value, indent, true, style));
    }
    out
}

fn block_seq(items: &[Node], indent: usize, style: &Style) -> String {
    let mut out = String::new();
    for item in items {
        out.push_str(&" ".repeat(indent));
        out.push('-');
        match item {
            Node::Map(entries) if !entries.is_empty() && !style.flow => {
                // A compact mapping: its first key on the `-` line.
                let inner = block_map(entries, indent + 2, style);
                out.push(' ');
                out.push_str(inner.trim_start_matches(' '));
            }
            other => out.push_str(&block_value(other, indent, false, style)),
        }
    }
    out
}

fn mutate(text: &str, edits: &[(usize, char)]) -> String {
    let mut out = text.to_string();
    for &(at, c) in edits {
        let mut at = at % (out.len() + 1);
        while !out.is_char_boundary(at) {
            at -= 1;
        }
        out.insert(at, c);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn generated_documents_read_as_serde_yaml_reads_them(entries in root(false), style in style()) {
        agrees(&block_map(&entries, 0, &style));
    }

    #[test]
    fn documents_of_the_usual_shape_are_read_fast(entries in root(true), style in style()) {
        let text = block_map(&entries, 0, &style);
        prop_assert!(agrees(&text).is_some(), "not read fast:\n{}", text);
    }

    #[test]
    fn mutated_documents_read_as_serde_yaml_reads_them(
        entries in root(true),
        style in style(),
        edits in proptest::collection::vec(
            (any::<usize>(), proptest::sample::select(vec![
                ':', ' ', '#', '-', '\'', '"', '\n', '[', ']', '{', '}', ',', '!', '&', '*',
                '|', '>', '?', '\\', '\t', 'x', '0', '.', '+', '~', '%', '@',
            ])),
            1..4,
        ),
    ) {
        agrees(&mutate(&block_map(&entries, 0, &style), &edits));
    }
}
