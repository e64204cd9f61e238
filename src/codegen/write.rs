//! Writing a generated project: into a temporary folder beside the target,
//! then renamed into place, so a project is never half-written; a non-empty
//! target is refused unless forced.

use std::fmt;
use std::path::{Path, PathBuf};

use super::GeneratedFile;

/// Why a project could not be written.
#[derive(Debug)]
pub enum WriteError {
    /// The target exists and is not empty, and `--force` was not given.
    NotEmpty(PathBuf),
    /// An I/O error.
    Io(PathBuf, std::io::Error),
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::NotEmpty(p) => write!(
                f,
                "{} exists and is not empty; pass --force to replace it",
                p.display()
            ),
            WriteError::Io(p, e) => write!(f, "cannot write {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for WriteError {}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |e| WriteError::Io(path.to_path_buf(), e)
}

/// Writes `files` as the folder `out`.
pub fn write_project(out: &Path, files: &[GeneratedFile], force: bool) -> Result<(), WriteError> {
    let exists = out.exists();
    if exists {
        let empty = std::fs::read_dir(out).map_err(io(out))?.next().is_none();
        if !empty && !force {
            return Err(WriteError::NotEmpty(out.to_path_buf()));
        }
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "service".into());
    let staging = parent.join(format!(".{name}.nines-gen-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let result = (|| {
        for file in files {
            let path = staging.join(&file.path);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io(dir))?;
            }
            std::fs::write(&path, &file.text).map_err(io(&path))?;
        }
        if exists {
            let old = parent.join(format!(".{name}.nines-old-{}", std::process::id()));
            std::fs::rename(out, &old).map_err(io(out))?;
            std::fs::rename(&staging, out).map_err(io(out))?;
            let _ = std::fs::remove_dir_all(&old);
        } else {
            std::fs::rename(&staging, out).map_err(io(out))?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_non_empty_without_force_and_replaces_with_it() {
        let root = std::env::temp_dir().join(format!("nines-gen-write-{}", std::process::id()));
        let out = root.join("svc");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("mine.txt"), "user data").unwrap();
        let files = vec![GeneratedFile {
            path: "src/main.rs".into(),
            text: "fn main() {}\n".into(),
        }];
        assert!(matches!(
            write_project(&out, &files, false),
            Err(WriteError::NotEmpty(_))
        ));
        assert!(out.join("mine.txt").exists(), "nothing touched");
        write_project(&out, &files, true).unwrap();
        assert!(!out.join("mine.txt").exists());
        assert_eq!(
            std::fs::read_to_string(out.join("src/main.rs")).unwrap(),
            "fn main() {}\n"
        );
        // No staging folders left behind.
        assert_eq!(std::fs::read_dir(&root).unwrap().count(), 1);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
