//! `printf` formats like Go's `fmt.Sprintf` as helm runs it: a table of Go-template calls
//! rendered by the real helm (v4.1.4, `scripts/install-peers`) against their tera twins
//! rendered by rudder.

mod peers;

use rudder::engine::{RenderOptions, render};

/// (helm's Go-template action, rudder's tera expression) printing the same text.
const CASES: &[(&str, &str)] = &[
    (
        r#"printf "%s-%s" "rel" "web""#,
        r#"printf(format="%s-%s", args=["rel", "web"])"#,
    ),
    (
        r#"printf "%d replicas" 3"#,
        r#"printf(format="%d replicas", args=[3])"#,
    ),
    (
        r#""web" | printf "%s-%s" "rel""#,
        r#""web" | printf(format="%s-%s", args=["rel"])"#,
    ),
    (
        r#"printf "%v|%v|%v|%t" true 1.5 "x" false"#,
        r#"printf(format="%v|%v|%v|%t", args=[true, 1.5, "x", false])"#,
    ),
    (
        r#"printf "%q|%+q|%#q" "a\"b" "héllo" "back""#,
        r#"printf(format="%q|%+q|%#q", args=['a"b', "héllo", "back"])"#,
    ),
    (
        r#"printf "%x %X %o %b %#x %#o %O" 255 255 8 5 255 8 8"#,
        r#"printf(format="%x %X %o %b %#x %#o %O", args=[255, 255, 8, 5, 255, 8, 8])"#,
    ),
    (
        r#"printf "%5d|%-5d|%05d|%+d|% d|%.3d|%x" 42 42 42 42 42 7 -255"#,
        r#"printf(format="%5d|%-5d|%05d|%+d|% d|%.3d|%x", args=[42, 42, 42, 42, 42, 7, -255])"#,
    ),
    (
        r#"printf "%.2f|%8.3f|%e|%g|%g|%v|%v" 3.14159 2.71828 1234.5678 0.000001234 100000000.0 123456.0 1234567.0"#,
        r#"printf(format="%.2f|%8.3f|%e|%g|%g|%v|%v", args=[3.14159, 2.71828, 1234.5678, 0.000001234, 100000000.0, 123456.0, 1234567.0])"#,
    ),
    (
        r#"printf "%.3g|%10.4e|%-8.1f|%08.3f|%+.1e|%f" 1234.5678 0.00012345 -2.25 -3.14159 12345.678 1.0"#,
        r#"printf(format="%.3g|%10.4e|%-8.1f|%08.3f|%+.1e|%f", args=[1234.5678, 0.00012345, -2.25, -3.14159, 12345.678, 1.0])"#,
    ),
    (
        r#"printf "%s %s" "only""#,
        r#"printf(format="%s %s", args=["only"])"#,
    ),
    (
        r#"printf "%s" "a" "b" 3"#,
        r#"printf(format="%s", args=["a", "b", 3])"#,
    ),
    (
        r#"printf "%d|%s|%f|%t|%d" "abc" 3 7 "x" 1.0"#,
        r#"printf(format="%d|%s|%f|%t|%d", args=["abc", 3, 7, "x", 1.0])"#,
    ),
    (
        r#"printf "%v %v %s %d" (list 1 "a") (dict "k" 1 "a" "b") (list "x" "y") (list 1 "z")"#,
        r#"printf(format="%v %v %s %d", args=[[1, "a"], {"k": 1, "a": "b"}, ["x", "y"], [1, "z"]])"#,
    ),
    (
        r#"printf "%v|%d|%s" nil nil (list nil)"#,
        r#"printf(format="%v|%d|%s", args=[none, none, [none]])"#,
    ),
    (
        r#"printf "%[2]s-%[1]s|%[3]d" "a" "b""#,
        r#"printf(format="%[2]s-%[1]s|%[3]d", args=["a", "b"])"#,
    ),
    (
        r#"printf "%6.2s|%-6s|%06s|%.1s" "hello" "ab" "ab" "élan""#,
        r#"printf(format="%6.2s|%-6s|%06s|%.1s", args=["hello", "ab", "ab", "élan"])"#,
    ),
    (
        r#"printf "%c%c %U %#U %q" 72 105 9731 9731 65"#,
        r#"printf(format="%c%c %U %#U %q", args=[72, 105, 9731, 9731, 65])"#,
    ),
    (
        r#"printf "%x|% x|%#x|%X|%6x|" "hi" "hi" "hi" "hi" "hi""#,
        r#"printf(format="%x|% x|%#x|%X|%6x|", args=["hi", "hi", "hi", "hi", "hi"])"#,
    ),
    (
        r#"printf "%*d|%-*d|%.*f|%*d" 5 1 4 2 2 3.14159 "w" 9"#,
        r#"printf(format="%*d|%-*d|%.*f|%*d", args=[5, 1, 4, 2, 2, 3.14159, "w", 9])"#,
    ),
    (
        r#"printf "100%% %T %T %T %T %T %T" 1 "s" 1.5 (list) (dict) true"#,
        r#"printf(format="100%% %T %T %T %T %T %T", args=[1, "s", 1.5, [], {}, true])"#,
    ),
    (r#"printf "%z|%" 1"#, r#"printf(format="%z|%", args=[1])"#),
    (
        r#"printf "%5v|%-4v|%#v|%#v|%#v" (list 1 2) true "q" (list 1 "a" nil) (dict "k" "v")"#,
        r#"printf(format="%5v|%-4v|%#v|%#v|%#v", args=[[1, 2], true, "q", [1, "a", none], {"k": "v"}])"#,
    ),
    (r#"printf "no verbs""#, r#"printf(format="no verbs")"#),
];

/// The text between `>` and `<` on each `  >…<` line, in order.
fn outputs(rendered: &str) -> Vec<String> {
    rendered
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix('>'))
        .map(|l| l.strip_suffix('<').unwrap_or(l).to_string())
        .collect()
}

/// One block scalar per case, so that any output is valid YAML for helm.
fn template(expressions: impl Iterator<Item = String>) -> String {
    expressions
        .enumerate()
        .map(|(i, e)| format!("c{i}: |\n  >{e}<\n"))
        .collect()
}

fn helm_outputs() -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    let text = template(CASES.iter().map(|(go, _)| format!("{{{{ {go} }}}}")));
    let home = tmp.path().join("home");
    outputs(&peers::helm_template(&dir, &home, &text, &[]))
}

fn rudder_render(text: &str) -> Result<String, String> {
    render(
        &peers::chart(text),
        &Default::default(),
        &RenderOptions::default(),
    )
    .map(|r| r.templates[0].content.clone())
    .map_err(|e| e.to_string())
}

#[test]
fn printf_matches_helm_on_a_table_of_formats() {
    let text = template(CASES.iter().map(|(_, tera)| format!("{{{{ {tera} }}}}")));
    let ours = outputs(&rudder_render(&text).unwrap_or_else(|e| panic!("{e}")));
    let helm = helm_outputs();
    assert_eq!(helm.len(), CASES.len(), "helm rendered every case");
    assert_eq!(ours.len(), CASES.len(), "rudder rendered every case");
    let mismatches: Vec<String> = CASES
        .iter()
        .zip(helm.iter().zip(&ours))
        .filter(|(_, (h, o))| h != o)
        .map(|((go, _), (h, o))| format!("{go}\n  helm:   {h}\n  rudder: {o}"))
        .collect();
    assert!(mismatches.is_empty(), "\n{}", mismatches.join("\n"));
}

#[test]
fn printf_arguments_are_checked() {
    let e = rudder_render("a\n{{ printf(args=[1]) }}").unwrap_err();
    assert!(e.contains("mychart/templates/t.yaml:2"), "{e}");
    assert!(
        e.contains("printf: missing keyword argument `format`"),
        "{e}"
    );
    // A non-list `args` is one argument; a list is the argument list.
    assert_eq!(
        rudder_render(
            r#"{{ printf(format="%v", args="x") }}|{{ printf(format="%v", args=[[1, 2]]) }}"#
        )
        .unwrap(),
        "x|[1 2]"
    );
}
