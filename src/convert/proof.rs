//! The proof that a conversion changed nothing: the original chart rendered by the Go
//! engine and the converted one by tera, for the same values, compared byte for byte and
//! as objects (the same documents, whatever their order and formatting).

use std::path::{Path, PathBuf};

use crate::action::template::{TemplateOptions, template};
use crate::engine::Capabilities;
use crate::values::ValueOptions;

/// One set of values both charts are rendered with.
#[derive(Debug, Clone)]
pub struct Case {
    /// `default values`, `ci/prod-values.yaml`, `-f values.yaml --set a=b`.
    pub label: String,
    pub values: ValueOptions,
}

/// How the two renders compare.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Identical,
    /// Identical except lines that differ between two renders of the original too
    /// (random passwords, generated certificates): how many.
    IdenticalButRandom(usize),
    /// The same objects, printed differently (the first difference says where).
    SameObjects(String),
    Differs(String),
    /// The original chart does not render with these values (nothing to compare).
    OriginalFails(String),
    ConvertedFails(String),
}

impl Verdict {
    /// Whether the converted chart renders the same objects.
    pub fn holds(&self) -> bool {
        matches!(
            self,
            Verdict::Identical | Verdict::IdenticalButRandom(_) | Verdict::SameObjects(_)
        )
    }

    /// The table's words.
    pub fn describe(&self) -> String {
        match self {
            Verdict::Identical => "identical".into(),
            Verdict::IdenticalButRandom(n) => format!(
                "identical but for {n} line(s) that change on every render of the original (random values)"
            ),
            Verdict::SameObjects(d) => format!("same objects ({d})"),
            Verdict::Differs(d) => format!("differs: {d}"),
            Verdict::OriginalFails(e) => format!("the original does not render: {e}"),
            Verdict::ConvertedFails(e) => format!("the converted chart does not render: {e}"),
        }
    }
}

/// Renders a chart the way `rudder template release CHART --include-crds` prints it.
pub fn render(chart: &Path, values: &ValueOptions) -> Result<String, String> {
    let opts = TemplateOptions {
        release_name: "release".into(),
        namespace: "default".into(),
        chart: PathBuf::from(chart),
        values: values.clone(),
        capabilities: Capabilities::default(),
        show_only: Vec::new(),
        output_dir: None,
        include_crds: true,
        is_upgrade: false,
        no_hooks: false,
        skip_tests: false,
        notes: true,
    };
    let mut out = Vec::new();
    template(&opts, &mut out).map_err(|e| e.to_string())?;
    String::from_utf8(out).map_err(|e| e.to_string())
}

/// Compares the original and converted charts for every case.
pub fn prove(original: &Path, converted: &Path, cases: &[Case]) -> Vec<(String, Verdict)> {
    cases
        .iter()
        .map(|case| {
            let verdict = match render(original, &case.values) {
                Err(e) => Verdict::OriginalFails(e),
                Ok(want) => match render(converted, &case.values) {
                    Err(e) => Verdict::ConvertedFails(e),
                    Ok(got) if got == want => Verdict::Identical,
                    Ok(got) => match render(original, &case.values) {
                        Ok(again) if again != want => compare_random(&want, &again, &got),
                        _ => compare(&want, &got),
                    },
                },
            };
            (case.label.clone(), verdict)
        })
        .collect()
}

/// Byte-for-byte, then as objects.
pub fn compare(want: &str, got: &str) -> Verdict {
    if want == got {
        return Verdict::Identical;
    }
    let difference = first_difference(want, got);
    if objects(want) == objects(got) {
        Verdict::SameObjects(difference)
    } else {
        Verdict::Differs(difference)
    }
}

/// Compares when the original itself renders differently each time (`want` and `again`):
/// lines that differ between those two may differ in `got` too.
fn compare_random(want: &str, again: &str, got: &str) -> Verdict {
    let (w, a, g): (Vec<&str>, Vec<&str>, Vec<&str>) = (
        want.lines().collect(),
        again.lines().collect(),
        got.lines().collect(),
    );
    if w.len() == a.len() && w.len() == g.len() {
        let random: Vec<usize> = (0..w.len()).filter(|&i| w[i] != a[i]).collect();
        let only_random = (0..w.len()).all(|i| w[i] == g[i] || random.contains(&i));
        if only_random {
            return Verdict::IdenticalButRandom((0..w.len()).filter(|&i| w[i] != g[i]).count());
        }
    }
    compare(want, got)
}

/// Every document as canonical JSON, sorted; NOTES as text.
fn objects(rendered: &str) -> Vec<String> {
    let (manifests, notes) = match rendered.split_once("\nNOTES:\n") {
        Some((m, n)) => (m, n),
        None => (rendered, ""),
    };
    let mut docs: Vec<String> = split_documents(manifests)
        .filter_map(|doc| {
            let value: serde_yaml::Value = serde_yaml::from_str(doc).ok()?;
            if value.is_null() {
                return None;
            }
            Some(serde_json::to_string(&value).unwrap_or_else(|_| doc.to_string()))
        })
        .collect();
    docs.sort();
    docs.push(notes.to_string());
    docs
}

fn split_documents(text: &str) -> impl Iterator<Item = &str> {
    text.split("\n---")
        .map(|d| d.strip_prefix("---").unwrap_or(d))
}

/// `line N (in templates/x.yaml): helm «…», tera «…»`.
fn first_difference(want: &str, got: &str) -> String {
    let mut source = String::new();
    let mut want_lines = want.lines();
    let mut got_lines = got.lines();
    let mut n = 0;
    loop {
        n += 1;
        let (w, g) = (want_lines.next(), got_lines.next());
        if w == g {
            match w {
                None => return "only in trailing whitespace".into(),
                Some(line) => {
                    if let Some(s) = line.strip_prefix("# Source: ") {
                        source = s.to_string();
                    }
                    continue;
                }
            }
        }
        let show = |l: Option<&str>| match l {
            Some(l) => format!("{:?}", truncate(l)),
            None => "end of output".into(),
        };
        let place = if source.is_empty() {
            format!("line {n}")
        } else {
            format!("line {n} ({source})")
        };
        return format!("{place}: Go {} / tera {}", show(w), show(g));
    }
}

fn truncate(line: &str) -> String {
    if line.chars().count() > 80 {
        format!("{}…", line.chars().take(80).collect::<String>())
    } else {
        line.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_objects_reordered_are_not_identical_but_hold() {
        let a = "---\n# Source: c/templates/a.yaml\nkind: A\nmetadata: {name: x}\n---\n# Source: c/templates/b.yaml\nkind: B\n";
        let b = "---\n# Source: c/templates/b.yaml\nkind: B\n---\n# Source: c/templates/a.yaml\nkind: A\nmetadata:\n  name: x\n";
        let verdict = compare(a, b);
        assert!(matches!(verdict, Verdict::SameObjects(_)), "{verdict:?}");
        assert!(verdict.holds());
        let changed = compare(a, &a.replace("name: x", "name: y"));
        assert_eq!(
            changed,
            Verdict::Differs(
                "line 4 (c/templates/a.yaml): Go \"metadata: {name: x}\" / tera \"metadata: {name: y}\"".into()
            )
        );
        assert_eq!(compare(a, a), Verdict::Identical);
    }
}
