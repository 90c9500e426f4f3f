//! Folders and files that hold personal data or secrets (the SQLite database, mail written to
//! files) are made readable by their owner only: folders `0700`, files `0600`, set explicitly
//! so that the process's umask does not matter.

use std::io;
use std::path::Path;

/// Create `dir` and any missing parents, each readable by its owner only. A folder that
/// already exists is left as it is (it may be the working directory, or shared).
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(d) = at {
        if d.as_os_str().is_empty() || d.exists() {
            break;
        }
        missing.push(d.to_path_buf());
        at = d.parent();
    }
    std::fs::create_dir_all(dir)?;
    for d in &missing {
        set_mode(d, 0o700)?;
    }
    Ok(())
}

/// Make the file at `path` readable by its owner only, creating it empty if it is missing.
pub fn private_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    drop(options.open(path)?);
    set_mode(path, 0o600)
}

/// Make the file at `path` readable by its owner only, if it exists. A file that goes while
/// this runs (SQLite removes its `-wal` when the last connection closes) is no error.
pub fn restrict_if_present(path: &Path) -> io::Result<()> {
    match set_mode(path, 0o600) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Write `contents` to a new file at `path`, readable by its owner only.
pub async fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).await?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600)).await?;
    }
    file.write_all(contents).await?;
    file.flush().await
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> io::Result<()> {
    Ok(())
}
