//! DELETE BACKUP (protocol sections 7 and 8): the conversation log goes,
//! but a message still waiting for an offline user stays, and that user
//! still gets it at JOIN. The reply counts both.
use crate::common::*;

fn delete_backup_keeps_pending(via: Via) {
    let mut s = Operated::start(via);
    let mut carol = s.join("carol");
    assert_eq!(carol.ask("QUIT"), "OK LEAVE");
    let mut alice = s.join("alice");
    let mut bob = s.join("bob");
    assert_eq!(mask_ts(&alice.line()), "JOINED <ts> bob");
    assert_eq!(alice.ask("ALL for everyone"), "OK ALL delivered=1");
    assert_eq!(alice.ask("MSG bob for bob"), "OK MSG bob delivered");
    assert_eq!(alice.ask("MSG carol for carol, later"), "OK MSG carol stored");
    assert_eq!(alice.ask("MCAST bob,carol for both"), "OK MCAST delivered=bob stored=carol");
    assert_eq!(bob.event(), "ALL <ts> alice for everyone");
    assert_eq!(bob.event(), "MSG <ts> alice for bob");
    assert_eq!(bob.event(), "MCAST <ts> alice bob,carol for both");

    assert_eq!(s.console("DELETE BACKUP"), ["OK DELETE BACKUP removed=2 kept=2"]);
    s.wait_log("console: DELETE BACKUP removed 2, kept 2");
    let history: Vec<String> = s.console("HISTORY").iter().map(|l| mask_ts(l)).collect();
    assert_eq!(
        history,
        ["HISTORY <ts> alice carol for carol, later", "HISTORY <ts> alice bob,carol for both", "OK HISTORY 2"]
    );
    // What users see in HISTORY is gone too.
    assert_eq!(history_of(&mut bob), ["HISTORY <ts> alice bob,carol for both", "OK HISTORY 1"]);

    // carol still gets both, with their original timestamps.
    let mut carol = s.connect();
    assert_eq!(carol.ask("JOIN carol"), "OK JOIN carol pending=2");
    assert_eq!(mask_ts(&carol.line()), "MSG <ts> alice for carol, later");
    assert_eq!(mask_ts(&carol.line()), "MCAST <ts> alice bob,carol for both");
    // Delivered: nothing waits any more, so the next DELETE BACKUP takes all.
    assert_eq!(carol.ask("PING sync"), "PONG sync");
    assert_eq!(s.console("delete backup"), ["OK DELETE BACKUP removed=2 kept=0"]);
    assert_eq!(s.console("HISTORY"), ["OK HISTORY 0"]);
    assert_eq!(s.console("Delete  Backup"), ["OK DELETE BACKUP removed=0 kept=0"]);
}

/// A user's HISTORY reply, `<ts>` masked.
fn history_of(c: &mut Client) -> Vec<String> {
    c.send("HISTORY");
    let (lines, ok) = c.until("OK HISTORY");
    lines.iter().map(|l| mask_ts(l)).chain([ok]).collect()
}

#[test]
fn delete_backup_keeps_pending_on_stdin() {
    delete_backup_keeps_pending(Via::Stdin);
}

#[test]
fn delete_backup_keeps_pending_on_socket() {
    delete_backup_keeps_pending(Via::Socket);
}

#[test]
fn delete_backup_survives_a_restart() {
    // What DELETE BACKUP removed stays removed; what it kept is still
    // delivered after a restart.
    let mut s = Operated::start(Via::Socket);
    let mut carol = s.join("carol");
    assert_eq!(carol.ask("QUIT"), "OK LEAVE");
    let mut alice = s.join("alice");
    assert_eq!(alice.ask("ALL gone soon"), "OK ALL delivered=0");
    assert_eq!(alice.ask("MSG carol kept"), "OK MSG carol stored");
    assert_eq!(s.console("DELETE BACKUP"), ["OK DELETE BACKUP removed=1 kept=1"]);
    assert_eq!(s.console("EXIT"), ["OK EXIT"]);
    assert!(s.wait_exit(WAIT).success());
    let dir = std::mem::replace(&mut s.server.dir, TempDir::new());
    drop(s);
    let s = Server::start_in(dir, &[], "");
    let mut carol = s.connect();
    assert_eq!(carol.ask("JOIN carol"), "OK JOIN carol pending=1");
    assert_eq!(mask_ts(&carol.line()), "MSG <ts> alice kept");
    assert_eq!(history_of(&mut carol), ["HISTORY <ts> alice carol kept", "OK HISTORY 1"]);
}
