//! End of file on standard input (as under systemd's StandardInput=null)
//! disables the stdin console only: the server keeps serving, and the admin
//! socket still works.
use crate::common::*;

#[test]
fn stdin_at_eof_leaves_the_server_serving() {
    // The default harness runs chatd with stdin on /dev/null.
    let s = Server::start();
    s.wait_log("stdin closed: console disabled (the admin socket, if any, still works)");
    let mut alice = s.join("alice");
    let mut bob = s.join("bob");
    assert_eq!(mask_ts(&alice.line()), "JOINED <ts> bob");
    assert_eq!(bob.ask("MSG alice still here?"), "OK MSG alice delivered");
    assert_eq!(mask_ts(&alice.line()), "MSG <ts> bob still here?");
}

#[test]
fn closing_stdin_keeps_the_admin_socket() {
    let mut s = Operated::start(Via::Socket);
    let mut alice = s.join("alice");
    s.type_line("NOTICE typed before EOF");
    assert_eq!(s.stdout_line(WAIT).as_deref(), Some("OK NOTICE 1"));
    assert_eq!(mask_ts(&alice.line()), "NOTICE <ts> typed before EOF");
    s.close_stdin();
    s.wait_log("stdin closed: console disabled");
    assert_eq!(s.console("ACTIVE USERS")[1], "OK ACTIVE USERS 1");
    assert_eq!(alice.ask("PING"), "PONG");
    assert!(s.child.try_wait().expect("try_wait").is_none(), "chatd exited at stdin EOF");
}
