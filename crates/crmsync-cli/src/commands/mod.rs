//! One module per command.

pub mod discover;
pub mod dlq;
pub mod doctor;
pub mod history;
pub mod init;
pub mod review;
pub mod sim;
pub mod sync;

use crmsync_core::RunStatus;

use crate::error::exit;

/// 0 when everything succeeded, 1 when everything failed, 2 otherwise.
pub fn exit_for(statuses: impl Iterator<Item = RunStatus>) -> u8 {
    let (mut ok, mut failed, mut other) = (0, 0, 0);
    for s in statuses {
        match s {
            RunStatus::Success => ok += 1,
            RunStatus::Failed => failed += 1,
            _ => other += 1,
        }
    }
    if failed == 0 && other == 0 {
        exit::SUCCESS
    } else if ok == 0 && other == 0 {
        exit::FAILED
    } else {
        exit::PARTIAL
    }
}

/// Who is deciding: `--by`, else `$USER`, else `crmsync`.
pub fn who(by: Option<&str>) -> String {
    by.map(str::to_owned)
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "crmsync".to_owned())
}

/// A timestamp as shown in tables (UTC, to the second).
pub fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_runs() {
        use RunStatus::*;
        assert_eq!(exit_for([Success, Success].into_iter()), 0);
        assert_eq!(exit_for([Failed].into_iter()), 1);
        assert_eq!(exit_for([Success, Failed].into_iter()), 2);
        assert_eq!(exit_for([Partial].into_iter()), 2);
    }
}
