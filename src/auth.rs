//! Password hashing off the event-loop thread.
//!
//! Argon2id takes tens of milliseconds by design, so the loop never runs it:
//! [`Worker`] owns a thread that hashes and verifies, and hands each result
//! back through a channel and a `mio::Waker`. The connection that asked
//! waits (its later lines stay queued, in order) while everyone else is
//! served.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;

/// OWASP's minimum for Argon2id: 19 MiB, 2 passes, 1 lane.
const M_COST_KIB: u32 = 19 * 1024;
const T_COST: u32 = 2;
const P_COST: u32 = 1;

/// Shortest and longest password (protocol section 4, REGISTER).
pub const MIN_PASSWORD: usize = 6;
pub const MAX_PASSWORD: usize = 64;

fn argon2() -> Argon2<'static> {
    // The constants are valid parameters; Params::new only fails out of range.
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password to a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`).
pub fn hash(password: &str) -> Option<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2().hash_password(password.as_bytes(), &salt).ok().map(|h| h.to_string())
}

/// Whether `password` matches a stored PHC string; a damaged hash never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => argon2().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// Work for the hashing thread.
#[derive(Debug)]
pub enum Job {
    /// JOIN of a protected name: does the password match the stored hash?
    Verify { password: String, hash: String },
    /// REGISTER: hash a new password.
    Hash { password: String },
}

/// What came back, for the connection `(key, id)` that asked.
#[derive(Debug)]
pub struct Done {
    pub key: usize,
    pub id: u64,
    pub outcome: Outcome,
}

#[derive(Debug)]
pub enum Outcome {
    Verified(bool),
    Hashed(Option<String>),
}

/// The hashing thread and its channels.
pub struct Worker {
    jobs: mpsc::Sender<(usize, u64, Job)>,
    done: mpsc::Receiver<Done>,
}

impl Worker {
    /// Starts the thread; `waker` wakes the event loop when a result is ready.
    pub fn start(waker: Arc<mio::Waker>) -> std::io::Result<Worker> {
        let (jobs, job_rx) = mpsc::channel::<(usize, u64, Job)>();
        let (done_tx, done) = mpsc::channel();
        thread::Builder::new().name("chatd-auth".into()).spawn(move || {
            for (key, id, job) in job_rx {
                let outcome = match job {
                    Job::Verify { password, hash } => Outcome::Verified(verify(&password, &hash)),
                    Job::Hash { password } => Outcome::Hashed(hash(&password)),
                };
                if done_tx.send(Done { key, id, outcome }).is_err() {
                    break;
                }
                if let Err(e) = waker.wake() {
                    log::error!("auth worker cannot wake the loop: {e}");
                }
            }
        })?;
        Ok(Worker { jobs, done })
    }

    /// Queues a job for connection `(key, id)`; false if the thread is gone.
    pub fn submit(&self, key: usize, id: u64, job: Job) -> bool {
        self.jobs.send((key, id, job)).is_ok()
    }

    /// Results ready now.
    pub fn results(&self) -> Vec<Done> {
        self.done.try_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_argon2id_with_owasp_parameters_and_verifies() {
        let h = hash("correct horse").expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(!h.contains("correct horse"));
        assert!(verify("correct horse", &h));
        assert!(!verify("wrong horse", &h));
    }

    #[test]
    fn a_damaged_hash_never_matches() {
        assert!(!verify("x", "not a hash"));
        assert!(!verify("x", ""));
    }
}
