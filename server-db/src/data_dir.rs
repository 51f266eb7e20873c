//! Where a server keeps its files: the database and the generated TLS
//! certificate and key, in one directory that only its owner may read.

use std::path::{Path, PathBuf};

/// The server's data directory and the files inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir(PathBuf);

impl DataDir {
    /// The directory at `path` (not created until [`DataDir::create`]).
    pub fn new(path: impl Into<PathBuf>) -> DataDir {
        DataDir(path.into())
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Creates the directory if missing; on Unix, readable by its owner only
    /// (it holds password hashes and the TLS key).
    pub fn create(&self) -> std::io::Result<()> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&self.0)
    }

    /// The SQLite database file.
    pub fn db_path(&self) -> PathBuf {
        self.0.join("crm-server.sqlite3")
    }

    /// The generated self-signed certificate (PEM); laptops may pin it.
    pub fn tls_cert_path(&self) -> PathBuf {
        self.0.join("tls").join("cert.pem")
    }

    /// The generated certificate's private key (PEM, mode 0600).
    pub fn tls_key_path(&self) -> PathBuf {
        self.0.join("tls").join("key.pem")
    }
}
