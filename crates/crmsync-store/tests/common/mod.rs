//! Helpers shared by the store's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A directory under the system temp dir with a random name, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> Self {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).expect("randomness");
        let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let path = std::env::temp_dir().join(format!("{prefix}-{name}"));
        std::fs::create_dir_all(&path).expect("create temp dir");
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A random PostgreSQL schema name for one test.
pub fn random_schema(prefix: &str) -> String {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).expect("randomness");
    let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}_{name}")
}

/// The PostgreSQL URL to test against, or why PostgreSQL tests are skipped.
pub fn postgres_url() -> Option<String> {
    match std::env::var("CRMSYNC_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!(
                "skipped: set CRMSYNC_TEST_POSTGRES_URL=postgres://... to run PostgreSQL tests"
            );
            None
        }
    }
}
