//! [`SqliteSubscriptions`]: subscriptions in SQLite, through sqlx.

use std::{str::FromStr, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use crmsync_core::{BoxFuture, Error, ErrorKind, ObjectKind, Result, Retry, TenantId};
use secrecy::{ExposeSecret, SecretString};
use sqlx::{
    Connection, Row,
    sqlite::{SqliteConnectOptions, SqliteConnection, SqlitePool, SqlitePoolOptions, SqliteRow},
};

use crate::{HookEvent, Subscription, SubscriptionStore};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS zapier_subscriptions (
    tenant     TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    object     TEXT    NOT NULL,
    event      TEXT    NOT NULL,
    target_url TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX IF NOT EXISTS zapier_subscriptions_by_object
    ON zapier_subscriptions (tenant, object, created_at, id);";

/// Subscriptions in one SQLite table, `zapier_subscriptions`, keyed by tenant first.
///
/// The table is created on open, so it can live in the application's own database
/// ([`SqliteSubscriptions::from_pool`]) or in the crmsync store's file. Target URLs are
/// stored as given: protect the file like the application's other credentials.
///
/// ```
/// use crmsync_zapier::{SqliteSubscriptions, SubscriptionStore};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let subscriptions = SqliteSubscriptions::in_memory().await?;
/// let none = subscriptions
///     .list(&"acme".into(), &crmsync_core::ObjectKind::Contact)
///     .await?;
/// assert!(none.is_empty());
/// # Ok::<(), crmsync_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct SqliteSubscriptions {
    pool: SqlitePool,
    /// Keeps a private in-memory database alive while the pool recycles connections.
    _keeper: Option<Arc<tokio::sync::Mutex<SqliteConnection>>>,
}

impl std::fmt::Debug for SqliteSubscriptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteSubscriptions")
            .finish_non_exhaustive()
    }
}

fn storage(operation: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
    move |err| {
        let retry = match &err {
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => Retry::Retry,
            sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("5" | "6")) => {
                Retry::Retry
            }
            _ => Retry::DontRetry,
        };
        Error::new(ErrorKind::Storage, "subscription store failed")
            .with_source(err)
            .with_operation(operation)
            .with_retry(retry)
    }
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_micros(m: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(m).ok_or_else(|| {
        Error::new(
            ErrorKind::Storage,
            format!("stored timestamp {m} is out of range"),
        )
    })
}

fn to_subscription(row: &SqliteRow) -> Result<Subscription> {
    let get = |e: sqlx::Error| storage("zapier.subscriptions.read")(e);
    let event: String = row.try_get("event").map_err(get)?;
    let expires: Option<i64> = row.try_get("expires_at").map_err(get)?;
    Ok(Subscription {
        id: row.try_get("id").map_err(get)?,
        object: ObjectKind::parse(&row.try_get::<String, _>("object").map_err(get)?),
        event: HookEvent::parse(&event).ok_or_else(|| {
            Error::new(
                ErrorKind::Storage,
                format!("stored event {event:?} is unknown"),
            )
        })?,
        target_url: SecretString::from(row.try_get::<String, _>("target_url").map_err(get)?),
        created_at: from_micros(row.try_get("created_at").map_err(get)?)?,
        expires_at: expires.map(from_micros).transpose()?,
    })
}

impl SqliteSubscriptions {
    /// Over a pool the application configured; creates the table if missing.
    pub async fn from_pool(pool: SqlitePool) -> Result<Self> {
        sqlx::raw_sql(SCHEMA)
            .execute(&pool)
            .await
            .map_err(storage("zapier.subscriptions.migrate"))?;
        Ok(Self {
            pool,
            _keeper: None,
        })
    }

    /// Opens (creating if missing) a database file.
    pub async fn open(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .map_err(storage("zapier.subscriptions.open"))?;
        Self::from_pool(pool).await
    }

    /// A private in-memory database (tests).
    pub async fn in_memory() -> Result<Self> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(storage("zapier.subscriptions.open"))?;
        let keeper = SqliteConnection::connect_with(&options)
            .await
            .map_err(storage("zapier.subscriptions.open"))?;
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(storage("zapier.subscriptions.open"))?;
        let mut store = Self::from_pool(pool).await?;
        store._keeper = Some(Arc::new(tokio::sync::Mutex::new(keeper)));
        Ok(store)
    }
}

impl SubscriptionStore for SqliteSubscriptions {
    fn insert<'a>(
        &'a self,
        tenant: &'a TenantId,
        subscription: &'a Subscription,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            if subscription.id.is_empty() {
                return Err(Error::new(
                    ErrorKind::InvalidRequest,
                    "a subscription id cannot be empty",
                ));
            }
            sqlx::query(
                "INSERT INTO zapier_subscriptions
                    (tenant, id, object, event, target_url, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (tenant, id) DO UPDATE SET
                    object = excluded.object, event = excluded.event,
                    target_url = excluded.target_url, created_at = excluded.created_at,
                    expires_at = excluded.expires_at",
            )
            .bind(tenant.as_str())
            .bind(subscription.id.as_str())
            .bind(subscription.object.as_str())
            .bind(subscription.event.as_str())
            .bind(subscription.target_url.expose_secret())
            .bind(micros(subscription.created_at))
            .bind(subscription.expires_at.map(micros))
            .execute(&self.pool)
            .await
            .map_err(storage("zapier.subscriptions.insert"))?;
            Ok(())
        })
    }

    fn remove<'a>(&'a self, tenant: &'a TenantId, id: &'a str) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let done =
                sqlx::query("DELETE FROM zapier_subscriptions WHERE tenant = $1 AND id = $2")
                    .bind(tenant.as_str())
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(storage("zapier.subscriptions.remove"))?;
            Ok(done.rows_affected() > 0)
        })
    }

    fn get<'a>(
        &'a self,
        tenant: &'a TenantId,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Subscription>>> {
        Box::pin(async move {
            let row = sqlx::query(
                "SELECT id, object, event, target_url, created_at, expires_at
                 FROM zapier_subscriptions WHERE tenant = $1 AND id = $2",
            )
            .bind(tenant.as_str())
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage("zapier.subscriptions.get"))?;
            row.as_ref().map(to_subscription).transpose()
        })
    }

    fn list<'a>(
        &'a self,
        tenant: &'a TenantId,
        object: &'a ObjectKind,
    ) -> BoxFuture<'a, Result<Vec<Subscription>>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT id, object, event, target_url, created_at, expires_at
                 FROM zapier_subscriptions WHERE tenant = $1 AND object = $2
                 ORDER BY created_at, id",
            )
            .bind(tenant.as_str())
            .bind(object.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(storage("zapier.subscriptions.list"))?;
            rows.iter().map(to_subscription).collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_subscriptions_conform() {
        let store = SqliteSubscriptions::in_memory()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        crate::subscriptions::conformance(&store).await;
    }

    #[tokio::test]
    async fn subscriptions_survive_reopening_the_file() {
        let dir = std::env::temp_dir().join(format!(
            "crmsync-zapier-{}-{}.db",
            std::process::id(),
            Utc::now().timestamp_micros()
        ));
        let tenant = TenantId::new("t");
        {
            let store = SqliteSubscriptions::open(&dir)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let sub = Subscription {
                id: "s".into(),
                object: ObjectKind::Contact,
                event: HookEvent::Updated,
                target_url: SecretString::from("https://hooks.example/x".to_owned()),
                created_at: Utc::now(),
                expires_at: None,
            };
            store
                .insert(&tenant, &sub)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            store.pool.close().await;
        }
        let store = SqliteSubscriptions::open(&dir)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let got = store
            .get(&tenant, "s")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got.map(|s| s.event), Some(HookEvent::Updated));
        store.pool.close().await;
        let _ = std::fs::remove_file(&dir);
    }
}
