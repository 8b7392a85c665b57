//! Render errors: tera's multi-line reports turned into one-line `file:line: message`
//! sentences that name the chart template, plus the chain of callers for helpers.

use std::cell::RefCell;
use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

/// Everything that can go wrong while rendering a chart's templates.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// A template failed to parse or render. `line` is 1-based when tera knows it.
    #[error("{}", TemplateLocation { file, line: *line, message, called_from })]
    Template {
        /// Chart-qualified template path, e.g. `mychart/templates/deployment.yaml`.
        file: String,
        line: Option<usize>,
        message: String,
        /// Outer calls (`file:line`) that led to this error, innermost first.
        called_from: Vec<String>,
    },
    /// A Go-template chart failed to parse or render; `message` is helm's own wording
    /// (`parse error at (FILE:LINE): …`, `execution error at (FILE:LINE:COL): …`).
    #[error("{message}")]
    GoTemplate {
        file: String,
        line: Option<usize>,
        message: String,
    },
    /// A template went past one of the render's limits ([`super::limits`]); `message` says
    /// which and the flag that raises it.
    #[error("{file}: {message}")]
    Limit { file: String, message: String },
}

impl RenderError {
    /// Shorthand for an error at a known place.
    pub fn at(file: impl Into<String>, line: Option<usize>, message: impl Into<String>) -> Self {
        RenderError::Template {
            file: file.into(),
            line,
            message: message.into(),
            called_from: Vec::new(),
        }
    }

    /// An error of a Go-template chart, worded as helm words it.
    pub fn go(file: impl Into<String>, line: Option<usize>, message: impl Into<String>) -> Self {
        RenderError::GoTemplate {
            file: file.into(),
            line,
            message: message.into(),
        }
    }

    /// The template file the error is about.
    pub fn file(&self) -> &str {
        match self {
            RenderError::Template { file, .. }
            | RenderError::GoTemplate { file, .. }
            | RenderError::Limit { file, .. } => file,
        }
    }

    /// The 1-based line of the error, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            RenderError::Template { line, .. } | RenderError::GoTemplate { line, .. } => *line,
            RenderError::Limit { .. } => None,
        }
    }

    /// The bare message without location.
    pub fn message(&self) -> &str {
        match self {
            RenderError::Template { message, .. }
            | RenderError::GoTemplate { message, .. }
            | RenderError::Limit { message, .. } => message,
        }
    }
}

struct TemplateLocation<'a> {
    file: &'a str,
    line: Option<usize>,
    message: &'a str,
    called_from: &'a [String],
}

impl fmt::Display for TemplateLocation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.message)?,
            None => write!(f, "{}: {}", self.file, self.message)?,
        }
        for caller in self.called_from {
            write!(f, " (called from {caller})")?;
        }
        Ok(())
    }
}

thread_local! {
    /// An error raised inside a nested render (`include`, `tpl`): kept structured so the outer
    /// error conversion can put the helper's location first and the caller after it.
    static NESTED_ERROR: RefCell<Option<RenderError>> = const { RefCell::new(None) };
}

/// Records the structured form of an error raised by a nested render and returns the text
/// tera will carry upwards.
pub(crate) fn stash_nested(err: RenderError) -> tera::Error {
    let text = err.to_string();
    NESTED_ERROR.with(|slot| *slot.borrow_mut() = Some(err));
    tera::Error::message(text)
}

/// Forgets any nested error left over from an earlier, unrelated render on this thread.
pub(crate) fn clear_nested() {
    NESTED_ERROR.with(|slot| slot.borrow_mut().take());
}

static REPORT_HEAD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s)^error: (.*?)\n\s*--> (.+?):(\d+):(\d+)\n").expect("valid regex")
});
static CALLED_FROM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"note: called from (.+?):(\d+):\d+").expect("valid regex"));

/// Converts a tera error into a one-line [`RenderError`]. `fallback_file` names the template
/// being rendered, used when tera does not say where the error happened; `one_off_name`
/// is what tera calls strings rendered through `tpl`.
pub(crate) fn from_tera(err: &tera::Error, fallback_file: &str) -> RenderError {
    let mut result = match err.kind() {
        tera::ErrorKind::SyntaxError(report) | tera::ErrorKind::RenderingError(report) => {
            let file = if report.filename().is_empty() {
                fallback_file.to_string()
            } else {
                report.filename().to_string()
            };
            let line = report.span().start_line;
            let mut message = report.message().to_string();
            if message == "Unexpected end of input" {
                message.push_str(": is a block ({% if %}, {% for %}, …) missing its end tag?");
            }
            let mut error = RenderError::at(
                display_name(&file, fallback_file),
                (line > 0).then_some(line),
                message,
            );
            let full = err.to_string();
            if let RenderError::Template { called_from, .. } = &mut error {
                for cap in CALLED_FROM.captures_iter(&full) {
                    called_from.push(format!(
                        "{}:{}",
                        display_name(&cap[1], fallback_file),
                        &cap[2]
                    ));
                }
            }
            error
        }
        _ => {
            let text = err.to_string();
            match REPORT_HEAD.captures(&text) {
                // Build-time checks (unknown filter, function, component, template) come as
                // plain messages holding one report per problem: keep the first.
                Some(cap) => RenderError::at(
                    display_name(&cap[2], fallback_file),
                    cap[3].parse().ok(),
                    cap[1].trim().to_string(),
                ),
                None => RenderError::at(fallback_file, None, text),
            }
        }
    };
    // A helper's own error comes first, then where it was called from.
    let nested = NESTED_ERROR.with(|slot| slot.borrow_mut().take());
    if let Some(mut inner) = nested
        && let RenderError::Template {
            file,
            line,
            message,
            called_from: outer_callers,
        } = &result
        && *message == inner.to_string()
    {
        let outer = match line {
            Some(line) => format!("{file}:{line}"),
            None => file.clone(),
        };
        let outer_callers = outer_callers.clone();
        if let RenderError::Template { called_from, .. } = &mut inner {
            called_from.push(outer);
            called_from.extend(outer_callers);
        }
        result = inner;
    }
    result
}

/// tera names strings rendered with `tpl` `__tera_one_off`; say what it is instead.
fn display_name(name: &str, fallback_file: &str) -> String {
    if name == "__tera_one_off" {
        format!("{fallback_file} (tpl string)")
    } else {
        name.to_string()
    }
}
