//! `rudder repo remove NAME…`: forgets repositories and deletes their cached indexes.

use crate::repo::{RepoError, RepoFile, RepoSettings};

/// Removes each named repository; fails (changing nothing) if one is not configured.
pub fn repo_remove(names: &[String], settings: &RepoSettings) -> Result<(), RepoError> {
    let mut file = RepoFile::load(&settings.repository_config)?;
    for name in names {
        if !file.remove(name) {
            return Err(RepoError::RepoNotFound(name.clone()));
        }
    }
    file.save(&settings.repository_config)?;
    for name in names {
        for path in [settings.index_path(name), settings.charts_list_path(name)] {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(RepoError::write(&path, e)),
            }
        }
    }
    Ok(())
}
