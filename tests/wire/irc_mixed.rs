//! IRC users and line-protocol users in one conversation: each mapping
//! (ALL, MSG, MCAST, JOINED, LEFT, NOTICE) seen from both sides, offline
//! messages and history_on_join with their original time (server-time),
//! the console's KICK and NOTICE, text safety, and names unique across
//! both protocols.
use crate::common::*;

#[test]
fn broadcasts_and_private_messages_cross_both_ways() {
    let s = Server::start();
    let mut nc = s.join("nina");
    let mut irc = IrcClient::join(&s, "ivan");
    assert_eq!(nc.event(), "JOINED <ts> ivan");
    nc.ok("ALL hello irc");
    assert_eq!(irc.line(), ":nina!nina@chatd PRIVMSG #chatd :hello irc");
    irc.send("PRIVMSG #chatd :hello nc");
    assert_eq!(nc.event(), "ALL <ts> ivan hello nc");
    irc.send("PRIVMSG nina :just you");
    assert_eq!(nc.event(), "MSG <ts> ivan just you");
    nc.ok("MSG ivan back at you");
    assert_eq!(irc.line(), ":nina!nina@chatd PRIVMSG ivan :back at you");
    // A NOTICE is a message too (never answered with an error).
    irc.send("NOTICE nina :noted");
    assert_eq!(nc.event(), "MSG <ts> ivan noted");
    assert!(irc.sync("quiet").is_empty(), "IRC clients get no acknowledgement lines");
}

#[test]
fn comma_targets_are_mcast_and_mcast_says_who_else_got_it() {
    let s = Server::start();
    let mut a = s.join("a1");
    let mut b = s.join("b2");
    assert_eq!(a.event(), "JOINED <ts> b2");
    let mut irc = IrcClient::join(&s, "cy");
    a.event();
    b.event();
    irc.send("PRIVMSG a1,B2,a1 :to both");
    assert_eq!(a.event(), "MCAST <ts> cy a1,b2 to both");
    assert_eq!(b.event(), "MCAST <ts> cy a1,b2 to both");
    let mut irc2 = IrcClient::join(&s, "dee");
    a.event();
    b.event();
    irc.next("JOIN");
    a.ok("MCAST cy,dee,b2 hi three");
    assert_eq!(irc.line(), ":a1!a1@chatd PRIVMSG cy :(also to dee,b2) hi three");
    assert_eq!(irc2.line(), ":a1!a1@chatd PRIVMSG dee :(also to cy,b2) hi three");
    assert_eq!(b.event(), "MCAST <ts> a1 cy,dee,b2 hi three");
    // An unknown nick among the targets: 401 for it, the rest still get it.
    irc.send("PRIVMSG a1,ghost :partly");
    assert_eq!(irc.line(), ":chatd 401 cy ghost :No such nick/channel");
    assert_eq!(a.event(), "MSG <ts> cy partly");
}

#[test]
fn joins_and_quits_are_seen_across_protocols() {
    let s = Server::start();
    let mut irc = IrcClient::join(&s, "watch");
    let mut nc = s.join("comer");
    assert_eq!(irc.line(), ":comer!comer@chatd JOIN #chatd");
    nc.ok("LEAVE gone fishing");
    assert_eq!(irc.line(), ":comer!comer@chatd QUIT :Quit: gone fishing");
    let mut nc2 = s.join("other");
    irc.next("JOIN");
    irc.send("QUIT :bye all");
    assert_eq!(nc2.event(), "LEFT <ts> watch bye all");
    let irc3 = IrcClient::join(&s, "x");
    drop(irc3);
    assert_eq!(nc2.event(), "JOINED <ts> x");
    assert_eq!(nc2.event(), "LEFT <ts> x connection closed");
}

#[test]
fn names_are_unique_across_both_protocols() {
    let s = Server::start();
    let _irc = IrcClient::join(&s, "Sam");
    let mut nc = s.connect();
    assert_err(&nc.ask("JOIN sam"), "NAME_TAKEN");
    let _nc = s.join("tom");
    let mut irc2 = IrcClient::connect(&s);
    irc2.send("NICK TOM");
    assert_eq!(irc2.line(), ":chatd 433 * TOM :Nickname is already in use");
}

#[test]
fn offline_messages_arrive_after_registration_with_their_time() {
    let s = Server::start();
    let irc = IrcClient::join(&s, "later");
    drop(irc);
    let mut nc = s.join("early");
    assert_eq!(nc.ask("MSG later you were out"), "OK MSG later stored");
    let ts = ts_of(&nc.history("HISTORY 1")[0].replacen("HISTORY", "X", 1));
    std::thread::sleep(std::time::Duration::from_millis(1100)); // so "now" differs
    let mut back = IrcClient::connect(&s);
    back.send("CAP LS 302");
    back.send("NICK later");
    back.send("USER l 0 * :L");
    back.send("CAP REQ :server-time");
    back.send("CAP END");
    let lines = back.until_numeric("PRIVMSG");
    let notice = lines.iter().find(|l| l.contains("stored for you")).expect("a notice of stored messages");
    assert!(notice.starts_with(":chatd NOTICE later :1 message(s)"), "{notice}");
    let want_time = format!("@time={}.000Z", ts.trim_end_matches('Z'));
    assert_eq!(lines.last().unwrap(), &format!("{want_time} :early!early@chatd PRIVMSG later :you were out"));
    // IRC users are told when their message was stored for someone.
    back.send("PRIVMSG ghostly :x");
    assert_eq!(command_of(&back.line()), "401");
    assert_eq!(nc.event(), "JOINED <ts> later");
    nc.ok("LEAVE");
    back.next("QUIT");
    back.send("PRIVMSG early :for later");
    let l = back.line();
    assert!(l.starts_with(":chatd NOTICE later :early is offline: your message is stored"), "{l}");
}

#[test]
fn history_on_join_is_replayed_as_messages_with_their_time() {
    let s = Server::start_conf("history_on_join = 2\n");
    let mut nc = s.join("old");
    nc.ok("ALL first");
    nc.ok("ALL second");
    let mut irc = IrcClient::connect(&s);
    irc.send("CAP REQ :server-time");
    irc.send("NICK new");
    irc.send("USER n 0 * :N");
    irc.send("CAP END");
    irc.until_numeric("366");
    let a = irc.line();
    let b = irc.line();
    assert!(a.starts_with("@time=") && a.ends_with(" :old!old@chatd PRIVMSG #chatd :first"), "{a}");
    assert!(b.starts_with("@time=") && b.ends_with(" :old!old@chatd PRIVMSG #chatd :second"), "{b}");
    // Without server-time the replay has no tags.
    let mut plain = IrcClient::join(&s, "plain");
    assert_eq!(plain.line(), ":old!old@chatd PRIVMSG #chatd :first");
}

#[test]
fn the_consoles_notice_and_kick_reach_irc_users() {
    let mut s = Operated::start(Via::Socket);
    let mut irc = IrcClient::join(&s, "loud");
    let mut nc = s.join("calm");
    irc.next("JOIN");
    assert_eq!(s.console("NOTICE maintenance at noon"), ["OK NOTICE 2"]);
    assert_eq!(irc.line(), ":chatd NOTICE #chatd :maintenance at noon");
    assert_eq!(nc.event(), "NOTICE <ts> maintenance at noon");
    assert_eq!(s.console("KICK loud spam"), ["OK KICK loud"]);
    assert_eq!(irc.line(), ":chatd NOTICE #chatd :you were kicked: spam");
    assert_eq!(irc.line(), "ERROR :Closing Link: kicked: spam");
    assert!(irc.c.closed_within(WAIT));
    assert_eq!(nc.event(), "LEFT <ts> loud kicked: spam");
}

#[test]
fn formatting_codes_are_removed_and_actions_cross_as_me() {
    let s = Server::start();
    let mut nc = s.join("plain");
    let mut irc = IrcClient::join(&s, "fancy");
    nc.event();
    irc.send("PRIVMSG #chatd :\u{2}bold\u{2} \u{3}04red\u{3} \u{1b}[31mesc");
    assert_eq!(nc.event(), "ALL <ts> fancy bold 04red esc");
    irc.send("PRIVMSG #chatd :\u{1}ACTION waves\u{1}");
    assert_eq!(nc.event(), "ALL <ts> fancy /me waves");
    irc.send("PRIVMSG plain :\u{1}VERSION\u{1}");
    nc.ok("ALL /me waves back");
    assert_eq!(irc.line(), ":plain!plain@chatd PRIVMSG #chatd :\u{1}ACTION waves back\u{1}");
    assert!(nc.sync("no-ctcp").is_empty(), "a CTCP request is not a message");
    // A text that is only formatting is nothing to send.
    irc.send("PRIVMSG plain :\u{2}\u{2}");
    assert_eq!(irc.line(), ":chatd 412 fancy :No text to send");
}

#[test]
fn an_irc_user_who_does_not_read_is_dropped_at_the_sendq_bound() {
    let s = Server::start_conf(&no_flood("max_sendq = 65536\n"));
    let mut nc = s.join("talker");
    let stuck = IrcClient::join(&s, "stuck");
    assert_eq!(nc.event(), "JOINED <ts> stuck");
    // From here on `stuck` never reads. Bounded: 100 batches of 200 lines
    // of 400 bytes (8 MB) is far beyond loopback's socket buffers.
    let batch: String = (0..200).map(|_| format!("ALL {}\n", "y".repeat(400))).collect();
    let mut left = None;
    for i in 0..100 {
        nc.send_raw(batch.as_bytes());
        if let Some(l) = nc.sync(&format!("s{i}")).iter().find(|l| l.starts_with("LEFT ")) {
            left = Some(mask_ts(l));
            break;
        }
    }
    assert_eq!(left.as_deref(), Some("LEFT <ts> stuck sendq exceeded"));
    assert_eq!(nc.ask("WHO"), "OK WHO 1 talker");
    drop(stuck);
}
