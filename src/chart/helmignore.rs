//! `.helmignore`: gitignore-syntax rules (patterns, `!` negation, `dir/` directory rules,
//! `/anchored` rules) deciding which files of a chart directory are loaded and packaged.
//! Like helm, hidden files under `templates/` are always ignored.
//!
//! Unlike helm (whose `!pattern` ignores everything the pattern does not match), negation
//! follows git: it re-includes what an earlier rule excluded.

use super::ChartError;
use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use std::path::Path;

/// The file name of a chart's ignore rules.
pub const HELMIGNORE: &str = ".helmignore";

/// Rule helm always adds: dotfiles in `templates/` are never templates.
const DEFAULT_RULES: [&str; 1] = ["/templates/.?*"];

/// The ignore rules of one chart root.
#[derive(Debug, Clone)]
pub struct HelmIgnore {
    rules: Gitignore,
}

impl HelmIgnore {
    /// Rules from `text` (the content of a `.helmignore`; `file` names it in errors), plus
    /// helm's defaults.
    pub fn parse(text: &str, file: &str) -> Result<Self, ChartError> {
        let mut builder = GitignoreBuilder::new("");
        for rule in DEFAULT_RULES {
            builder
                .add_line(None, rule)
                .expect("default .helmignore rules are valid");
        }
        for (index, line) in text.lines().enumerate() {
            // gitignore keeps trailing spaces only when escaped; helm trims both ends.
            builder
                .add_line(None, line.trim())
                .map_err(|e| ChartError::InvalidHelmignore {
                    file: file.to_string(),
                    message: format!("line {}: {e}", index + 1),
                })?;
        }
        let rules = builder.build().map_err(|e| ChartError::InvalidHelmignore {
            file: file.to_string(),
            message: e.to_string(),
        })?;
        Ok(HelmIgnore { rules })
    }

    /// helm's defaults only (a chart without `.helmignore`).
    pub fn defaults() -> Self {
        Self::parse("", "").expect("default .helmignore rules are valid")
    }

    /// The rules of the chart rooted at `dir`: its `.helmignore` if present, else defaults.
    pub fn for_dir(dir: &Path) -> Result<Self, ChartError> {
        let file = dir.join(HELMIGNORE);
        match std::fs::read_to_string(&file) {
            Ok(text) => Self::parse(&text, &file.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::defaults()),
            Err(e) => Err(ChartError::read(file.display(), e)),
        }
    }

    /// Whether `relative` (slash-separated, relative to the chart root) is ignored.
    pub fn is_ignored(&self, relative: &str, is_dir: bool) -> bool {
        matches!(
            self.rules.matched(Path::new(relative), is_dir),
            Match::Ignore(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_negation_and_directories() {
        let rules =
            HelmIgnore::parse("*.txt\n!keep.txt\ndocs/\n/top.md\n# comment\n", "x").unwrap();
        assert!(rules.is_ignored("notes.txt", false));
        assert!(rules.is_ignored("templates/deep/notes.txt", false));
        assert!(!rules.is_ignored("keep.txt", false));
        assert!(rules.is_ignored("docs", true));
        assert!(
            !rules.is_ignored("docs", false),
            "`docs/` only matches directories"
        );
        assert!(rules.is_ignored("top.md", false));
        assert!(
            !rules.is_ignored("sub/top.md", false),
            "`/top.md` is anchored"
        );
        assert!(!rules.is_ignored("Chart.yaml", false));
    }

    #[test]
    fn hidden_template_files_are_always_ignored() {
        let rules = HelmIgnore::defaults();
        assert!(rules.is_ignored("templates/.deployment.yaml.swp", false));
        assert!(!rules.is_ignored("templates/deployment.yaml", false));
        assert!(!rules.is_ignored(".helmignore", false));
    }
}
