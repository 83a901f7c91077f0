//! The `SyncEngine` contract: jobs, modes, options, reports and progress.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{ConnectionId, ObjectKind, Result, RunId, RunStatus, TenantId};

/// Which way records flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// CRM → application.
    Pull,
    /// Application → CRM.
    Push,
    /// Pull, then push.
    Both,
}

impl Direction {
    /// Stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pull => "pull",
            Self::Push => "push",
            Self::Both => "both",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pull" => Some(Self::Pull),
            "push" => Some(Self::Push),
            "both" => Some(Self::Both),
            _ => None,
        }
    }
}

/// Incremental from the stored cursors, or full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// Changes since the stored cursor (the default).
    #[default]
    Incremental,
    /// Read everything, ignoring cursors; records are still compared, so unchanged
    /// ones cost no writes.
    Full,
}

/// The universal options of a sync (the CLI flags).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncOptions {
    /// Plan and report; write nothing to either side or the store.
    pub dry_run: bool,
    /// Overwrite the application with the CRM's values, ignoring conflict rules.
    pub force: bool,
    /// Only records modified at or after this instant.
    pub start_date: Option<DateTime<Utc>>,
    /// Records per page (capped by the source provider); `None` uses the provider's
    /// largest page. Writes go out in the target provider's largest batches.
    pub batch_size: Option<usize>,
    /// Stop after this many records per direction; the cursor resumes later.
    pub max_records: Option<u64>,
    /// Record validation failures instead of enforcing them.
    pub skip_validation: bool,
    /// Stop after this many pages per direction (used to test resume).
    pub max_pages: Option<u64>,
}

/// One unit of sync work: a tenant's connection, one object, a direction and mode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncJob {
    /// The tenant.
    pub tenant: TenantId,
    /// The connection.
    pub connection: ConnectionId,
    /// The object.
    pub object: ObjectKind,
    /// Which way.
    pub direction: Direction,
    /// Incremental or full.
    pub mode: SyncMode,
    /// Options.
    pub options: SyncOptions,
}

impl SyncJob {
    /// An incremental, bidirectional job with default options.
    pub fn new(tenant: TenantId, connection: ConnectionId, object: ObjectKind) -> Self {
        Self {
            tenant,
            connection,
            object,
            direction: Direction::Both,
            mode: SyncMode::Incremental,
            options: SyncOptions::default(),
        }
    }

    /// Sets the direction.
    pub fn direction(mut self, direction: Direction) -> Self {
        self.direction = direction;
        self
    }

    /// Sets the mode.
    pub fn mode(mut self, mode: SyncMode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets the options.
    pub fn options(mut self, options: SyncOptions) -> Self {
        self.options = options;
        self
    }
}

/// Counts of one run (one object, both directions).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectReport {
    /// Changes read from the CRM.
    pub pulled: u64,
    /// Changes read from the application.
    pub pushed: u64,
    /// Records created in the application.
    pub created_local: u64,
    /// Records updated in the application.
    pub updated_local: u64,
    /// Records deleted in the application.
    pub deleted_local: u64,
    /// Records created in the CRM.
    pub created_remote: u64,
    /// Records updated in the CRM.
    pub updated_remote: u64,
    /// Records deleted in the CRM.
    pub deleted_remote: u64,
    /// Records read again that had not changed (overlap windows, echoes).
    pub unchanged: u64,
    /// Fields changed on both sides and resolved by a strategy.
    pub conflicts: u64,
    /// Fields parked for review.
    pub parked: u64,
    /// Records sent to the dead-letter queue.
    pub dead_letters: u64,
    /// Validation failures let through by `skip_validation` (each in the audit trail).
    #[serde(default)]
    pub validation_warnings: u64,
    /// Change pages processed.
    pub pages: u64,
    /// API calls made by both providers during the run.
    pub api_calls: u64,
}

impl ObjectReport {
    /// Records processed (read from either side).
    pub fn processed(&self) -> u64 {
        self.pulled + self.pushed
    }

    /// Adds another report's counts to this one.
    pub fn add(&mut self, other: &ObjectReport) {
        self.pulled += other.pulled;
        self.pushed += other.pushed;
        self.created_local += other.created_local;
        self.updated_local += other.updated_local;
        self.deleted_local += other.deleted_local;
        self.created_remote += other.created_remote;
        self.updated_remote += other.updated_remote;
        self.deleted_remote += other.deleted_remote;
        self.unchanged += other.unchanged;
        self.conflicts += other.conflicts;
        self.parked += other.parked;
        self.dead_letters += other.dead_letters;
        self.validation_warnings += other.validation_warnings;
        self.pages += other.pages;
        self.api_calls += other.api_calls;
    }
}

/// The outcome of one [`SyncJob`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncReport {
    /// The run's id in history (`None` for dry runs).
    pub run_id: Option<RunId>,
    /// The job that ran.
    pub job: SyncJob,
    /// How it ended.
    pub status: RunStatus,
    /// Counts.
    pub counts: ObjectReport,
    /// Wall-clock duration.
    pub duration: Duration,
    /// Why the run is partial or failed.
    pub error: Option<String>,
}

/// Progress of a running job, for progress bars.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    /// The object.
    pub object: ObjectKind,
    /// The direction being processed now.
    pub direction: Direction,
    /// Records processed so far in this direction.
    pub records_done: u64,
    /// The provider's estimate of the total, if it has one.
    pub estimated_total: Option<u64>,
    /// Pages processed so far in this direction.
    pub page: u64,
}

/// Receives [`Progress`] updates; cheap to clone.
pub type ProgressSink = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Runs sync jobs.
pub trait SyncEngine: Send + Sync {
    /// Runs one job to completion (or to its limits) and reports.
    fn run(&self, job: SyncJob) -> impl std::future::Future<Output = Result<SyncReport>> + Send;
}
