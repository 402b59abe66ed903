//! The database's files on disk: owner-only modes, and the identity of the file the store
//! opened (to notice it deleted or replaced while rockscope runs).

use std::path::{Path, PathBuf};

/// The mode of the database, its `-wal`/`-shm` files and the key file: owner read/write.
pub(crate) const FILE_MODE: u32 = 0o600;

/// The mode of a directory the store creates for its database: owner only.
pub(crate) const DIR_MODE: u32 = 0o700;

/// Sets `path`'s permission bits to `mode` (a no-op off Unix).
pub(crate) fn restrict(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// Creates the missing directories of `dir`, each owner-only (mode `0700` whatever the umask).
/// Existing directories keep their modes.
pub(crate) fn create_private_dirs(dir: &Path) -> std::io::Result<()> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        missing.push(d.to_path_buf());
        cur = d.parent();
    }
    for d in missing.iter().rev() {
        match std::fs::create_dir(d) {
            Ok(()) => restrict(d, DIR_MODE)?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Creates the database file empty with mode `0600` if it does not exist, and restricts it and
/// its `-wal`/`-shm` files to `0600` (an older rockscope left them `0644`). SQLite creates the
/// `-wal` and `-shm` files with the database file's mode, so they are owner-only from then on.
/// Tightening an existing file that this user may not change is logged, not fatal.
pub(crate) fn create_private_database(path: &Path) -> std::io::Result<()> {
    if !path.exists() {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
        match options.open(path) {
            Ok(file) => drop(file),
            // Created meanwhile by another process: tightened below like any existing file.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    for file in companions(path) {
        match restrict(&file, FILE_MODE) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && file != path => {}
            Err(e) => log::warn!(
                "store: cannot make {} owner-only (mode 0600): {e}",
                file.display()
            ),
        }
    }
    Ok(())
}

/// The database file and its `-wal` and `-shm` files.
fn companions(path: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        PathBuf::from(p)
    };
    [path.to_path_buf(), with("-wal"), with("-shm")]
}

/// Which file a path names: device and inode (`None` off Unix, where it is not checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileId {
    dev: u64,
    ino: u64,
}

/// The identity of the file at `path` now; `Err` when there is none.
pub(crate) fn file_id(path: &Path) -> std::io::Result<Option<FileId>> {
    let meta = std::fs::metadata(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Ok(Some(FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        Ok(None)
    }
}
