//! Accounts: REGISTER, and the second half of a protected JOIN.
//!
//! Both need Argon2id, which runs on the password worker (`auth.rs`); the
//! functions here continue once the loop hands them its answer
//! ([`password_answered`]).

use super::{storage, Ctx};
use crate::auth::{Job, Outcome, MAX_PASSWORD, MIN_PASSWORD};
use crate::conn::Close;
use crate::reply::{Code, Error, Reply};
use crate::session::{AuthStep, Wait};

/// Wrong passwords one connection may try before it is closed.
pub const MAX_AUTH_FAILURES: u32 = 5;

/// `REGISTER <password>`: hashed off the loop thread, then `registered`.
pub fn register(ctx: &mut Ctx, password: String) -> Result<(), Error> {
    let len = password.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&len) {
        return Err(Error::new(
            Code::Syntax,
            format!("usage: REGISTER <password> (one word, {MIN_PASSWORD} to {MAX_PASSWORD} characters)"),
        ));
    }
    ctx.submit_auth(AuthStep::Register, Job::Hash { password })
}

/// The new hash is ready: save it; `OK REGISTER` once that has committed.
pub fn registered(ctx: &mut Ctx, hash: Option<String>) -> Result<(), Error> {
    // REGISTER needs a JOIN, and the connection's lines wait for this
    // answer, so it is still joined; if not, nothing is saved for anyone.
    let Some(me) = ctx.caller() else {
        log::error!("{}: a password was hashed for a connection that has not joined", ctx.label());
        return Err(crate::command::not_joined());
    };
    let Some(hash) = hash else {
        log::error!("{}: password hashing failed", ctx.label());
        return Err(Error::new(Code::Storage, "the password could not be hashed; try again"));
    };
    ctx.store.set_password(&me.name, &hash).map_err(|e| storage("the password", e))?;
    log::info!("{}: password set", ctx.label());
    ctx.reply_after_commit(&Reply::Register);
    Ok(())
}

/// The password of a protected JOIN was checked.
pub fn join_checked(ctx: &mut Ctx, name: &str, matched: bool) -> Result<(), Error> {
    if matched {
        return super::session::enter(ctx, name);
    }
    let Some(conn) = ctx.state.conns.get_mut(ctx.key) else { return Ok(()) };
    conn.session.auth_failures += 1;
    let failures = conn.session.auth_failures;
    log::info!("{}: wrong password for {name} ({failures} of {MAX_AUTH_FAILURES})", ctx.label());
    if failures >= MAX_AUTH_FAILURES {
        let e = Error::new(Code::AuthFailed, format!("wrong password for {name}; too many failures, closing"));
        ctx.reply(&Reply::Err(&e));
        ctx.state.close(ctx.key, Close::AuthFailures);
        return Ok(());
    }
    Err(Error::new(Code::AuthFailed, format!("wrong password for {name} (attempt {failures} of {MAX_AUTH_FAILURES})")))
}

/// The password worker answered: the JOIN or REGISTER that waited for it
/// (`step`, taken from the session) carries on; a failure is its reply.
pub fn password_answered(ctx: &mut Ctx, step: Wait, outcome: Outcome) {
    let result = match (step, outcome) {
        (Wait::Auth(AuthStep::Join(name)), Outcome::Verified(ok)) => join_checked(ctx, &name, ok),
        (Wait::Auth(AuthStep::Register), Outcome::Hashed(hash)) => registered(ctx, hash),
        (Wait::Auth(AuthStep::Sasl(name)), Outcome::Verified(ok)) => super::irc::sasl_checked(ctx, &name, ok),
        (step, outcome) => {
            log::error!("{}: unexpected password result {outcome:?} while {step:?}", ctx.label());
            Ok(())
        }
    };
    if let Err(e) = result {
        ctx.reply(&Reply::Err(&e));
    }
}
