//! What a command failed with: a message, a fix, and the exit code that goes with it.

use std::fmt;

use crmsync_core::ErrorKind;

/// Exit codes, as documented in `crmsync --help`.
pub mod exit {
    /// Everything was synced.
    pub const SUCCESS: u8 = 0;
    /// The command failed.
    pub const FAILED: u8 = 1;
    /// Some records or objects failed (dead letters, a limit, one object of several).
    pub const PARTIAL: u8 = 2;
    /// The command line was wrong (EX_USAGE).
    pub const USAGE: u8 = 64;
    /// The configuration or the environment it names is wrong (EX_CONFIG).
    pub const CONFIG: u8 = 78;
}

/// A failed command: what went wrong, how to fix it, and its exit code.
#[derive(Debug)]
pub struct CliError {
    /// The exit code ([`exit`]).
    pub code: u8,
    /// What went wrong, in one sentence.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl CliError {
    /// A failure with exit code `code`.
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            hint: None,
        }
    }

    /// The command line was wrong (64).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(exit::USAGE, message)
    }

    /// The configuration is wrong (78).
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(exit::CONFIG, message)
    }

    /// The command failed (1).
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(exit::FAILED, message)
    }

    /// Adds what to do about it.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  fix: {hint}")?;
        }
        Ok(())
    }
}

impl From<crmsync_core::Error> for CliError {
    fn from(err: crmsync_core::Error) -> Self {
        let hint = hint_for(err.kind());
        let code = match err.kind() {
            ErrorKind::Config | ErrorKind::Crypto => exit::CONFIG,
            _ => exit::FAILED,
        };
        let e = CliError::new(code, err.to_string());
        match hint {
            Some(h) => e.hint(h),
            None => e,
        }
    }
}

/// What usually fixes an error of this kind.
pub fn hint_for(kind: ErrorKind) -> Option<&'static str> {
    Some(match kind {
        ErrorKind::Unauthorized => {
            "the CRM rejected the credentials: check the token or secret the connection's \
             `*_env` / `*_file` settings point at (`crmsync doctor` checks them)"
        }
        ErrorKind::Forbidden => {
            "the credentials lack a permission or scope: grant it to the app or user in the CRM"
        }
        ErrorKind::Unavailable | ErrorKind::Timeout => {
            "the CRM could not be reached: check the connection's base_url / login_url and the \
             network; for the simulator, start it first (`crmsync sim hubspot --port 8787 &`)"
        }
        ErrorKind::RateLimited => {
            "the CRM throttled the sync: run it again later; it resumes from its checkpoint"
        }
        ErrorKind::CircuitOpen => "too many failures in a row: wait a minute and run it again",
        ErrorKind::Busy => {
            "another crmsync process is syncing this object: wait for it, or run `crmsync history`"
        }
        ErrorKind::Storage => {
            "the store failed: check [store] in the configuration (`crmsync doctor` opens it)"
        }
        ErrorKind::Interrupted => "run the sync again later; it resumes from its checkpoint",
        _ => return None,
    })
}
