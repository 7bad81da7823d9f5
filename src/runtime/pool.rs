//! A pool of ONNX Runtime sessions for one model version.
//!
//! `Session::run` takes `&mut self`, so one session serves one run at a time. Each model
//! version owns several sessions (each with few intra-op threads) instead of one session
//! behind a lock: concurrent requests then run in parallel. Callers bound their concurrency to
//! [`SessionPool::size`] (the async layer holds a semaphore permit), so a checkout normally
//! finds an idle session at once; otherwise it waits.

use std::path::Path;
use std::sync::{Condvar, Mutex, PoisonError};

use ort::session::Session;

use super::session::{SessionError, SessionOptions, open_session};

pub struct SessionPool {
    idle: Mutex<Vec<Session>>,
    returned: Condvar,
    size: usize,
}

impl SessionPool {
    /// Opens `size` (at least 1) sessions on the model file at `path`.
    pub fn open(
        path: &Path,
        options: SessionOptions,
        size: usize,
    ) -> Result<SessionPool, SessionError> {
        let size = size.max(1);
        let sessions = (0..size)
            .map(|_| open_session(path, options))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SessionPool {
            idle: Mutex::new(sessions),
            returned: Condvar::new(),
            size,
        })
    }

    /// How many sessions the pool holds: the number of runs it can do at once.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Takes an idle session, waiting for one if all are busy. The session goes back to the
    /// pool when the guard is dropped.
    pub fn checkout(&self) -> PooledSession<'_> {
        // A panic while holding this lock cannot leave the Vec inconsistent: recover the guard.
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(session) = idle.pop() {
                return PooledSession {
                    pool: self,
                    session: Some(session),
                };
            }
            idle = self
                .returned
                .wait(idle)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Any session, for reading the graph's signature.
    pub fn with_any<R>(&self, f: impl FnOnce(&mut Session) -> R) -> R {
        let mut session = self.checkout();
        f(&mut session)
    }
}

/// A session checked out of a [`SessionPool`].
pub struct PooledSession<'a> {
    pool: &'a SessionPool,
    session: Option<Session>,
}

impl std::ops::Deref for PooledSession<'_> {
    type Target = Session;
    fn deref(&self) -> &Session {
        self.session
            .as_ref()
            .unwrap_or_else(|| unreachable!("a checked-out session is present until drop"))
    }
}

impl std::ops::DerefMut for PooledSession<'_> {
    fn deref_mut(&mut self) -> &mut Session {
        self.session
            .as_mut()
            .unwrap_or_else(|| unreachable!("a checked-out session is present until drop"))
    }
}

impl Drop for PooledSession<'_> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            self.pool
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(session);
            self.pool.returned.notify_one();
        }
    }
}
