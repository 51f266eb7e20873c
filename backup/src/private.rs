//! The backup's files are readable by their owner only: the backup holds
//! the server's TLS private key, every password hash and device token
//! hash, and the node's own login token. Anyone who can read it can
//! impersonate the server to laptops that pinned its certificate.
//!
//! On Unix the directory is created 0700 and every file 0600. On Windows
//! nothing is set: a file inherits the ACLs of its directory, and under the
//! user's profile only that user and administrators may read it.

use std::path::Path;

/// Creates directory `dir` and any missing parents; those it creates are
/// for their owner only. An existing directory keeps the mode its owner
/// gave it (its files are private regardless).
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates `path` empty if it is missing, for its owner only. SQLite
/// accepts an empty file as a new database and creates its `-wal` and
/// `-shm` files with the database file's mode, so creating the file here,
/// before SQLite does, makes those private too without touching the
/// process's umask (which every thread shares).
pub fn create_file(path: &Path) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path).map(drop)
}

/// Takes every permission but its owner's from the backup files in `dir`
/// (the database, SQLite's `-wal` and `-shm`, and older copies moved
/// aside), for files written before they were created private.
pub fn restrict_backup_files(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("crm-backup") && name.contains(".sqlite3") {
            restrict(&entry.path())?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn restrict(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::symlink_metadata(path)?;
    let mode = meta.permissions().mode();
    if meta.is_file() && mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn restrict(_path: &Path) -> std::io::Result<()> {
    Ok(())
}
