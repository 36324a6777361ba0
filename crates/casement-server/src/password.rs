//! Password hashing: argon2id PHC strings, and [`HashPool`], the only place the server runs
//! them.
//!
//! One argon2id check holds about 19 MiB for tens of milliseconds of CPU. Run on the async
//! runtime's blocking threads, a burst of sign-ins grew memory with the burst (hundreds of
//! threads, each keeping its allocator arena). The pool has a fixed number of threads and a
//! short queue: memory is bounded by the worker count, and a check that cannot even queue is
//! refused at once ([`PoolBusy`]) so the caller can answer "busy" (HTTP 429 or a SOAP fault).
//! Each worker verifies in one argon2 work area it keeps ([`verify_reusing_memory`]): allocating
//! 19 MiB per check let each thread's allocator keep several of them (about 90 MB per thread,
//! measured), reusing one keeps a worker at 19 MiB.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// Hashes a password (argon2id, default parameters, random salt).
pub fn hash(password: &str) -> Result<String, String> {
    let mut bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    let salt = SaltString::encode_b64(&bytes).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// True when `password` matches the PHC `stored` hash; false for any malformed hash.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// The largest argon2 work area a worker keeps (64 MiB; ours is 19 MiB): a stored hash asking
/// for more is not verified.
const MAX_BLOCKS: usize = 64 * 1024;

thread_local! {
    /// The argon2 work area of this thread, reused from one check to the next.
    static WORK_AREA: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// [`verify`], computing in this thread's kept work area instead of a fresh allocation. Same
/// answers: false for any malformed or unsupported hash.
pub fn verify_reusing_memory(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let Ok(algorithm) = argon2::Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(argon2::Version::try_from) {
        None => argon2::Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = argon2::Params::try_from(&parsed) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = params.block_count();
    if blocks > MAX_BLOCKS {
        return false;
    }
    let argon = Argon2::new(algorithm, version, params);
    WORK_AREA.with(|area| {
        let mut area = area.borrow_mut();
        if area.len() < blocks {
            area.resize(blocks, argon2::Block::default());
        }
        let computed = argon2::password_hash::Output::init_with(expected.len(), |out| {
            argon
                .hash_password_into_with_memory(password.as_bytes(), salt, out, &mut area[..blocks])
                .map_err(|_| argon2::password_hash::Error::Crypto)
        });
        // `Output` compares in constant time.
        computed.is_ok_and(|computed| computed == expected)
    })
}

/// A hash to verify against when the user does not exist, so that an unknown user costs the
/// same time as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash("casement-dummy-password").unwrap_or_default())
}

/// Every worker is busy and the queue is full: answer "try again later" now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the server is busy checking passwords; try again shortly")]
pub struct PoolBusy;

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads hashing and verifying passwords, fed through a bounded queue.
///
/// Contract: at most `workers` checks run at once and at most `queue` wait; [`HashPool::verify`]
/// and [`HashPool::hash`] return [`PoolBusy`] immediately when both are full. The threads end
/// when the pool is dropped.
#[derive(Debug)]
pub struct HashPool {
    jobs: std::sync::mpsc::SyncSender<Job>,
}

impl HashPool {
    /// Starts `size.workers` threads (at least one) with room for `size.queue` waiting checks.
    pub fn new(size: crate::config::PasswordPoolSize) -> HashPool {
        let (jobs, receiver) = std::sync::mpsc::sync_channel::<Job>(size.queue);
        let receiver = std::sync::Arc::new(std::sync::Mutex::new(receiver));
        for n in 0..size.workers.max(1) {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("casement-argon2-{n}"))
                .spawn(move || {
                    loop {
                        let job = match receiver.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password-hashing thread");
            }
        }
        HashPool { jobs }
    }

    /// [`verify`] on the pool.
    pub async fn verify(&self, password: &str, stored: &str) -> Result<bool, PoolBusy> {
        let (password, stored) = (password.to_owned(), stored.to_owned());
        self.run(move || verify_reusing_memory(&password, &stored))
            .await
    }

    /// [`hash`] on the pool.
    pub async fn hash(&self, password: &str) -> Result<Result<String, String>, PoolBusy> {
        let password = password.to_owned();
        self.run(move || hash(&password)).await
    }

    /// Runs `work` on the pool (password work; a test holds the pool with it), or refuses at once
    /// when the pool is full.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolBusy> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .try_send(Box::new(move || {
                let _ = tx.send(work());
            }))
            .map_err(|_| PoolBusy)?;
        rx.await.map_err(|_| PoolBusy)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_hash_verifies_only_its_password() {
        let h = super::hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify("correct horse", &h));
        assert!(!super::verify("wrong", &h));
        assert!(!super::verify("correct horse", "not a hash"));
        for password in ["correct horse", "wrong", ""] {
            assert_eq!(
                super::verify_reusing_memory(password, &h),
                super::verify(password, &h),
                "{password}"
            );
        }
        assert!(!super::verify_reusing_memory("correct horse", "not a hash"));
        let other_params = argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::Params::new(8192, 3, 1, None).unwrap(),
        );
        let salt = argon2::password_hash::SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let small =
            argon2::password_hash::PasswordHasher::hash_password(&other_params, b"pw", &salt)
                .unwrap()
                .to_string();
        assert!(
            super::verify_reusing_memory("pw", &small),
            "other parameters, same area"
        );
        assert!(
            super::verify_reusing_memory("correct horse", &h),
            "after a smaller one"
        );
    }

    #[tokio::test]
    async fn a_full_pool_refuses_at_once_and_serves_again_after() {
        let pool = super::HashPool::new(crate::config::PasswordPoolSize {
            workers: 1,
            queue: 1,
        });
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel();
        let blocker = pool.run(move || {
            let _ = started.send(());
            let _ = hold.recv();
        });
        let queued = pool.run(|| ());
        let mut blocker = Box::pin(blocker);
        let mut queued = Box::pin(queued);
        // Drive both submissions (the first occupies the worker, the second the queue).
        tokio::select! { _ = &mut blocker => panic!("blocked"), _ = running => {} }
        assert!(futures_poll_once(&mut queued).await.is_none());
        assert_eq!(pool.run(|| ()).await, Err(super::PoolBusy));
        release.send(()).unwrap();
        blocker.await.unwrap();
        queued.await.unwrap();
        assert_eq!(pool.run(|| 7).await, Ok(7));
    }

    async fn futures_poll_once<F: std::future::Future + Unpin>(f: &mut F) -> Option<F::Output> {
        let mut f = Some(f);
        std::future::poll_fn(move |cx| {
            let f = f.take().unwrap();
            std::task::Poll::Ready(match std::pin::Pin::new(f).poll(cx) {
                std::task::Poll::Ready(v) => Some(v),
                std::task::Poll::Pending => None,
            })
        })
        .await
    }
}
