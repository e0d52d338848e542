//! Job ownership for several daemon replicas, in PostgreSQL.
//!
//! Each scheduled job (a pipeline's source) has at most one owner at a
//! time: a **lease** row with the owner, an expiry and a **fencing token**
//! that grows every time ownership changes hands (or lapses). A replica
//! runs a job only while it holds the lease and renews it well within the
//! TTL; a replica that stops renewing (killed, partitioned, paused) loses
//! it at expiry, and another takes it over with a larger token.
//!
//! Why leases in the shared store rather than advisory locks or Kafka
//! consumer-group ownership: an advisory lock lives and dies with one
//! database session, so a paused process whose TCP session survives keeps
//! it forever, and it carries no token to fence a late write with; a
//! consumer group needs the Kafka transport, which the embedded default
//! does not run. A lease row gives both a bounded takeover time and a
//! token, and the checkpoint it fences lives in the same database, so the
//! check and the write are one transaction.
//!
//! **Fencing.** Every checkpoint commit names the lease it was made under
//! and runs in a transaction that locks the lease row first: it is refused
//! when the token moved on or the lease expired, so a stalled replica that
//! wakes up cannot overwrite the new owner's progress. Time is the
//! database's clock (`now()`), never a replica's, so clock skew between
//! replicas cannot extend a lease.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio_postgres::{Client, NoTls};

/// The lease name of a pipeline's source job: the daemon takes it, the
/// shared state store checks it on every page commit.
pub fn job_key(pipeline: &str, source: &str) -> String {
    format!("{pipeline}/{source}")
}

/// A held lease: `token` fences every write made under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub job: String,
    pub owner: String,
    pub token: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// The lease moved to another owner or expired: stop the job, do not
    /// write, re-acquire to resume from the committed checkpoint.
    #[error("job `{job}`: the lease with token {token} is no longer held (now: {now})")]
    Fenced {
        job: String,
        token: i64,
        now: String,
    },
    #[error("the lease store: {0}")]
    Store(String),
}

/// The advisory lock under which the tables are created.
pub const SCHEMA_LOCK: i64 = 0x511CE_57A7E;

fn store(e: tokio_postgres::Error) -> LeaseError {
    // The server's message rather than the client's bare "db error".
    LeaseError::Store(match e.as_db_error() {
        Some(d) => format!("{}: {}", d.code().code(), d.message()),
        None => e.to_string(),
    })
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Who holds a job now, as the store says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub owner: String,
    pub token: i64,
    pub expired: bool,
}

/// The leases and fenced checkpoints of one PostgreSQL database.
pub struct Leases {
    url: String,
    client: Mutex<Client>,
}

/// One connection. Lease statements give up after `lock_timeout` rather than
/// wait behind a row lock held by a stalled replica's open transaction (the
/// caller tries again later); `statement_timeout` bounds the rest.
async fn open(url: &str) -> Result<Client, LeaseError> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.map_err(store)?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "the lease store's connection ended");
        }
    });
    client
        .batch_execute("SET lock_timeout = '2s'; SET statement_timeout = '10s'")
        .await
        .map_err(store)?;
    Ok(client)
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sluice_job_leases (
    job TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    token BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
ALTER TABLE sluice_job_leases ADD COLUMN IF NOT EXISTS completed_at TIMESTAMPTZ;
ALTER TABLE sluice_job_leases ADD COLUMN IF NOT EXISTS completed_kind TEXT;
CREATE TABLE IF NOT EXISTS sluice_job_checkpoints (
    job TEXT PRIMARY KEY,
    cursor TEXT,
    token BIGINT NOT NULL,
    committed_at TIMESTAMPTZ NOT NULL
);
";

impl Leases {
    /// Connects and creates the tables when missing.
    pub async fn connect(url: &str) -> Result<Leases, LeaseError> {
        let client = open(url).await?;
        // Replicas starting together create the tables one at a time
        // (concurrent CREATE TABLE IF NOT EXISTS can fail in PostgreSQL).
        client
            .batch_execute(&format!("BEGIN; SELECT pg_advisory_xact_lock({SCHEMA_LOCK}); {SCHEMA} COMMIT;"))
            .await
            .map_err(store)?;
        Ok(Leases {
            url: url.to_string(),
            client: Mutex::new(client),
        })
    }

    /// The connection, opened again when it was lost (a database restart
    /// or failover): a closed one would fail every later call.
    async fn client(&self) -> Result<tokio::sync::MutexGuard<'_, Client>, LeaseError> {
        let mut c = self.client.lock().await;
        if c.is_closed() {
            tracing::info!("reconnecting to the lease store");
            *c = open(&self.url).await?;
        }
        Ok(c)
    }

    /// Takes `job` for `owner` for `ttl` when it is free, expired or
    /// already `owner`'s (then it is renewed, same token). `None`: another
    /// owner holds it. Taking it from anyone, or after it lapsed, gives a
    /// larger token than any before.
    pub async fn try_acquire(
        &self,
        job: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, LeaseError> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "INSERT INTO sluice_job_leases AS l (job, owner, token, expires_at)
                 VALUES ($1, $2, 1, now() + $3::bigint * interval '1 millisecond')
                 ON CONFLICT (job) DO UPDATE SET
                    owner = EXCLUDED.owner,
                    token = l.token + CASE WHEN l.owner = EXCLUDED.owner AND l.expires_at > now() THEN 0 ELSE 1 END,
                    expires_at = EXCLUDED.expires_at
                 WHERE l.owner = EXCLUDED.owner OR l.expires_at <= now()
                 RETURNING token",
                &[&job, &owner, &millis(ttl)],
            )
            .await
            .map_err(store)?;
        Ok(row.map(|r| Lease {
            job: job.to_string(),
            owner: owner.to_string(),
            token: r.get(0),
        }))
    }

    /// Extends a lease that is still held; `Fenced` once it expired or
    /// moved (a lapsed lease is never revived: re-acquire, with a new token).
    pub async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<(), LeaseError> {
        let c = self.client().await?;
        let n = c
            .execute(
                "UPDATE sluice_job_leases SET expires_at = now() + $4::bigint * interval '1 millisecond'
                 WHERE job = $1 AND owner = $2 AND token = $3 AND expires_at > now()",
                &[&lease.job, &lease.owner, &lease.token, &millis(ttl)],
            )
            .await
            .map_err(store)?;
        if n == 1 {
            Ok(())
        } else {
            Err(self.fenced(&c, lease).await)
        }
    }

    /// Gives the job up (a clean shutdown): another replica takes it at
    /// once. The row stays, expired, so the next token is still larger
    /// than every one before (deleting it would restart tokens at 1, and
    /// an old holder's token could match again).
    pub async fn release(&self, lease: &Lease) -> Result<(), LeaseError> {
        let c = self.client().await?;
        c.execute(
            "UPDATE sluice_job_leases SET expires_at = now() - interval '1 millisecond'
             WHERE job = $1 AND owner = $2 AND token = $3",
            &[&lease.job, &lease.owner, &lease.token],
        )
        .await
        .map_err(store)?;
        Ok(())
    }

    /// Records `cursor` as the job's checkpoint, only while `lease` holds
    /// the job: one transaction that locks the lease row, checks its token
    /// and expiry, then writes.
    pub async fn commit_checkpoint(
        &self,
        lease: &Lease,
        cursor: Option<&str>,
    ) -> Result<(), LeaseError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(store)?;
        let held = tx
            .query_opt(
                "SELECT token = $2 AND owner = $3 AND expires_at > now()
                 FROM sluice_job_leases WHERE job = $1 FOR UPDATE",
                &[&lease.job, &lease.token, &lease.owner],
            )
            .await
            .map_err(store)?
            .is_some_and(|r| r.get::<_, bool>(0));
        if !held {
            tx.rollback().await.map_err(store)?;
            return Err(self.fenced(&c, lease).await);
        }
        tx.execute(
            "INSERT INTO sluice_job_checkpoints (job, cursor, token, committed_at)
             VALUES ($1, $2, $3, now())
             ON CONFLICT (job) DO UPDATE SET cursor = EXCLUDED.cursor, token = EXCLUDED.token,
                committed_at = EXCLUDED.committed_at",
            &[&lease.job, &cursor, &lease.token],
        )
        .await
        .map_err(store)?;
        tx.commit().await.map_err(store)
    }

    /// Records that a run of the job finished under `lease` (fenced like a
    /// checkpoint), so a replica whose run of the same tick was held off
    /// does not run it again.
    pub async fn complete(&self, lease: &Lease, kind: &str) -> Result<(), LeaseError> {
        let c = self.client().await?;
        let n = c
            .execute(
                "UPDATE sluice_job_leases SET completed_at = now(), completed_kind = $4
                 WHERE job = $1 AND owner = $2 AND token = $3 AND expires_at > now()",
                &[&lease.job, &lease.owner, &lease.token, &kind],
            )
            .await
            .map_err(store)?;
        if n == 1 {
            Ok(())
        } else {
            Err(self.fenced(&c, lease).await)
        }
    }

    /// Whether a run of `job` of this `kind` (incremental, full, …)
    /// finished at or after `since_unix_ms` (by any replica): that run
    /// covers a tick that fell due then.
    pub async fn completed_since(&self, job: &str, kind: &str, since_unix_ms: i64) -> Result<bool, LeaseError> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT completed_at >= to_timestamp($2::bigint / 1000.0) AND completed_kind = $3 FROM sluice_job_leases WHERE job = $1",
                &[&job, &since_unix_ms, &kind],
            )
            .await
            .map_err(store)?;
        Ok(row.and_then(|r| r.get::<_, Option<bool>>(0)).unwrap_or(false))
    }

    /// The job's committed checkpoint and the token it was committed under.
    pub async fn checkpoint(&self, job: &str) -> Result<Option<(Option<String>, i64)>, LeaseError> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT cursor, token FROM sluice_job_checkpoints WHERE job = $1",
                &[&job],
            )
            .await
            .map_err(store)?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    /// Who holds `job`, if anyone ever did.
    pub async fn holder(&self, job: &str) -> Result<Option<Holder>, LeaseError> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT owner, token, expires_at <= now() FROM sluice_job_leases WHERE job = $1",
                &[&job],
            )
            .await
            .map_err(store)?;
        Ok(row.map(|r| Holder {
            owner: r.get(0),
            token: r.get(1),
            expired: r.get(2),
        }))
    }

    async fn fenced(&self, c: &Client, lease: &Lease) -> LeaseError {
        let now = match c
            .query_opt(
                "SELECT owner || ' holds token ' || token || CASE WHEN expires_at <= now() THEN ' (expired)' ELSE '' END
                 FROM sluice_job_leases WHERE job = $1",
                &[&lease.job],
            )
            .await
        {
            Ok(Some(r)) => r.get::<_, String>(0),
            Ok(None) => "nobody holds it".into(),
            Err(e) => return store(e),
        };
        LeaseError::Fenced {
            job: lease.job.clone(),
            token: lease.token,
            now,
        }
    }
}
