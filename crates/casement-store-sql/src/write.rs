//! Writing to SQLite: one writer at a time, and management messages committed in groups.
//!
//! SQLite lets one connection write at a time; a second writer waits in SQLite's busy handler,
//! which sleeps (1, 2, 5, 10 … ms) rather than queueing. So the writers of this process take
//! turns here first ([`SqliteWrites::turn`]), and the hot path — every management message is a
//! transaction — is committed in groups: a writer task takes all the messages waiting, applies
//! each inside one transaction (each under a savepoint when it has more than one checked
//! write, so a conflict undoes only its own changes), and commits once. One commit then writes
//! the pages the group shares once to the WAL, instead of once per message ("group commit"). A
//! caller's result comes back only after the commit: nothing is acknowledged before it is
//! durable as SQLite's `synchronous=NORMAL` makes it.

use std::sync::Arc;

use casement_store::{MessageChanges, StoreError, StoreResult};
use sqlx::AnyPool;
use tokio::sync::{Mutex, OwnedMutexGuard, mpsc, oneshot};

use crate::Backend;
use crate::management::apply_changes;
use crate::map_err;

/// Most messages committed together (the group's latency is the sum of its writes).
const MAX_GROUP: usize = 64;

/// The writers' turn and the group-commit queue of one SQLite database.
#[derive(Debug)]
pub(crate) struct SqliteWrites {
    turn: Arc<Mutex<()>>,
    jobs: mpsc::UnboundedSender<Job>,
}

#[derive(Debug)]
struct Job {
    changes: MessageChanges,
    done: oneshot::Sender<StoreResult<()>>,
}

impl SqliteWrites {
    /// Starts the group writer and the checkpointer on `pool` (they end when the store is
    /// dropped).
    pub(crate) fn start(pool: AnyPool) -> SqliteWrites {
        let turn = Arc::new(Mutex::new(()));
        let (jobs, queue) = mpsc::unbounded_channel();
        tokio::spawn(checkpointer(pool.clone(), Arc::downgrade(&turn)));
        tokio::spawn(group_writer(pool, turn.clone(), queue));
        SqliteWrites { turn, jobs }
    }

    /// Waits for this process's write turn; writers hold it for their whole transaction.
    pub(crate) async fn turn(&self) -> OwnedMutexGuard<()> {
        self.turn.clone().lock_owned().await
    }

    /// Applies one message's changes in the next group; returns once it is committed (or
    /// refused: a conflict is this message's alone).
    pub(crate) async fn apply(&self, changes: MessageChanges) -> StoreResult<()> {
        let (done, result) = oneshot::channel();
        self.jobs
            .send(Job { changes, done })
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?;
        result
            .await
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?
    }
}

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Checkpoints the WAL in the background (connections are opened with `wal_autocheckpoint=0`):
/// left to SQLite, the commit that crosses 1000 WAL pages copies them into the database and
/// syncs it before it returns — on the request path of whichever message (or bulk queue)
/// happened to commit then. A PASSIVE checkpoint never waits for writers or readers (SQLite,
/// "Write-Ahead Logging" §Checkpointing); it stops when the store is dropped.
async fn checkpointer(pool: AnyPool, alive: std::sync::Weak<Mutex<()>>) {
    loop {
        tokio::time::sleep(CHECKPOINT_EVERY).await;
        if alive.strong_count() == 0 || pool.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::warn!(error = %e, "SQLite checkpoint failed");
        }
    }
}

async fn group_writer(
    pool: AnyPool,
    turn: Arc<Mutex<()>>,
    mut queue: mpsc::UnboundedReceiver<Job>,
) {
    while let Some(first) = queue.recv().await {
        let _turn = turn.lock().await;
        let mut jobs = vec![first];
        // Whatever arrived meanwhile (while the previous group committed, or while another
        // writer had the turn) joins this group.
        while jobs.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let results = match commit_group(&pool, &jobs).await {
            Ok(results) => results,
            // The group failed as a whole (a write other than a conflict, or the commit): each
            // message again alone, so that only the faulty one fails.
            Err(_) => {
                let mut results = Vec::with_capacity(jobs.len());
                for job in &jobs {
                    results.push(alone(&pool, &job.changes).await);
                }
                results
            }
        };
        for (job, result) in jobs.into_iter().zip(results) {
            // A caller that gave up (its request was cancelled) no longer listens.
            let _ = job.done.send(result);
        }
    }
}

/// Applies the jobs in one transaction; `Err` if the group must be retried message by message.
async fn commit_group(pool: &AnyPool, jobs: &[Job]) -> StoreResult<Vec<StoreResult<()>>> {
    let mut tx = pool.begin().await.map_err(map_err)?;
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        let checked = job.changes.sessions.len() + job.changes.commands.len();
        if checked > 1 {
            // Nested begin: a SAVEPOINT, released on commit, rolled back to on conflict.
            let mut savepoint = sqlx::Acquire::begin(&mut *tx).await.map_err(map_err)?;
            match apply_changes(&mut savepoint, Backend::Sqlite, &job.changes).await {
                Ok(()) => {
                    savepoint.commit().await.map_err(map_err)?;
                    results.push(Ok(()));
                }
                Err((e @ StoreError::Conflict(_), _)) => {
                    savepoint.rollback().await.map_err(map_err)?;
                    results.push(Err(e));
                }
                Err((e, _)) => return Err(e),
            }
        } else {
            // At most one checked write, and it comes first: a conflict there left nothing of
            // this message written, so no savepoint is needed.
            match apply_changes(&mut tx, Backend::Sqlite, &job.changes).await {
                Ok(()) => results.push(Ok(())),
                Err((e @ StoreError::Conflict(_), false)) => results.push(Err(e)),
                Err((e, _)) => return Err(e),
            }
        }
    }
    tx.commit().await.map_err(map_err)?;
    Ok(results)
}

async fn alone(pool: &AnyPool, changes: &MessageChanges) -> StoreResult<()> {
    let mut tx = pool.begin().await.map_err(map_err)?;
    apply_changes(&mut tx, Backend::Sqlite, changes)
        .await
        .map_err(|(e, _)| e)?;
    tx.commit().await.map_err(map_err)
}
