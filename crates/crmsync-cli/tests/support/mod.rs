//! Running the built `crmsync` binary in a scratch directory.
#![allow(dead_code, clippy::unwrap_used)]

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    sync::atomic::{AtomicU32, Ordering},
};

use serde_json::Value;

/// A scratch directory, removed on drop.
pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    pub fn new(name: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "crmsync-cli-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.join("crmsync.toml")
    }

    pub fn db(&self) -> PathBuf {
        self.dir.join("crmsync.db")
    }

    /// Runs `crmsync --config <dir>/crmsync.toml ARGS`.
    pub fn run(&self, args: &[&str]) -> Run {
        let mut command = crmsync();
        command.arg("--config").arg(self.config()).args(args);
        Run::of(command.output().unwrap())
    }

    /// Writes a configuration for a HubSpot connection at `base_url` with a private app
    /// `token` (kept in a file), plus `extra` lines in the connection's section.
    pub fn write_config(&self, base_url: &str, token: &str, extra: &str) {
        std::fs::write(self.dir.join("hubspot.token"), token).unwrap();
        std::fs::write(
            self.config(),
            format!(
                "default_tenant = \"acme\"\n\n[store]\nsqlite = \"crmsync.db\"\n\n[tenants.acme]\n\n\
                 [connections.hubspot]\nprovider = \"hubspot\"\nbase_url = \"{base_url}\"\n\
                 token_file = \"hubspot.token\"\n{extra}\n"
            ),
        )
        .unwrap();
    }

    /// The store's files (`crmsync.db`, `-wal`, `-shm`) and their bytes.
    pub fn store_files(&self) -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&self.dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("crmsync.db"))
            .map(|name| {
                let bytes = std::fs::read(self.dir.join(&name)).unwrap();
                (name, bytes)
            })
            .collect();
        files.sort();
        files
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The binary, with no colour and no configuration from the environment.
pub fn crmsync() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_crmsync"));
    command.env("NO_COLOR", "1").env_remove("CRMSYNC_CONFIG");
    command
}

/// One finished run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn of(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Asserts the exit code, showing both streams when it differs.
    pub fn expect(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "exit code {} (wanted {code})\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// A `crmsync sim …` child process, killed on drop.
pub struct SimProcess {
    child: Child,
    pub line: Value,
}

impl SimProcess {
    pub fn start(args: &[&str]) -> Self {
        let mut child = crmsync()
            .arg("sim")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut first = String::new();
        BufReader::new(stdout).read_line(&mut first).unwrap();
        let line = serde_json::from_str(&first)
            .unwrap_or_else(|e| panic!("first line of `crmsync sim` is not JSON ({e}): {first:?}"));
        Self { child, line }
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Replaces `from` with `to` in a file.
pub fn edit_file(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from:?} not in {}", path.display());
    std::fs::write(path, text.replace(from, to)).unwrap();
}
