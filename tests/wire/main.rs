//! The wire tests: every black-box test of chatd, in one test binary (`wire`).
//!
//! Each test starts the real `chatd` binary (and `chatd-bench`, for
//! `bench_smoke`) and talks to it as its users and operators do: over TCP,
//! the admin socket, standard input, signals and the database file. The
//! harness is in `common/`. Unit tests stay next to the code in `src/`.
//!
//! One binary rather than one per file: `common` is compiled once and the
//! library linked once, so a change in `src/` rebuilds one test binary.
//! Cargo.toml has `autotests = false` and one `[[test]]` for this file.
//!
//! Adding tests: put them in `tests/wire/<concern>.rs` (one file per
//! concern, opening with a `//!` line that says what it covers), start it
//! with `use crate::common::*;`, and add `mod <concern>;` below, in
//! alphabetical order. A file written for the old layout (`tests/foo.rs`,
//! one binary each) moves in with `git mv tests/foo.rs tests/wire/foo.rs`,
//! `mod common; use common::*;` replaced by `use crate::common::*;`, and a
//! `mod foo;` line here. A file left in `tests/` or missing its `mod` line
//! would not run at all; `layout.rs` fails when that happens. Run one
//! file's tests with `cargo test --test wire foo::`, or one test by (part
//! of) its name.

mod common;

mod admin_socket;
mod all;
mod before_join;
mod bench_smoke;
mod browser;
mod cli;
mod clock_crash;
mod command_table;
mod console_commands;
mod console_input;
mod delete_backup;
mod escape_sequences;
mod framing;
mod grammar;
mod hardening_flood_burst;
mod hardening_garbage;
mod hardening_huge_line_memory;
mod hardening_many_unjoined;
mod hardening_sendq_default;
mod help_ping;
mod irc;
mod irc_clients;
mod irc_hardening;
mod irc_mixed;
mod isolation;
mod join_timeout;
mod kick;
mod layout;
mod leave;
mod line_length;
mod max_clients;
mod mcast;
mod msg;
mod names;
mod nc;
mod offline_volume;
mod sendq;
mod shutdown;
mod smoke;
mod stdin_eof;
mod store_clocks;
mod store_failures;
mod store_hashing_off_loop;
mod store_history;
mod store_known_users;
mod store_offline;
mod store_passwords;
mod store_refuse_start;
mod store_reply_order;
mod store_restart;
mod store_wal;
mod systemd;
mod telnet;
mod text_safety;
mod tls;
mod web;
mod who;
