//! The IRC dialect on its own: registration (NICK/USER, CAP, PASS), the
//! welcome numerics, nick rules, the numerics of bad input, and the
//! queries clients send (WHO, WHOIS, ISON, NAMES, LUSERS, MOTD, AWAY).
use crate::common::*;
use std::time::Duration;

fn codes(lines: &[String]) -> Vec<&str> {
    lines.iter().map(|l| command_of(l)).collect()
}

#[test]
fn registration_sends_the_welcome_and_joins_the_channel() {
    let s = Server::start();
    let (_c, lines) = IrcClient::register(&s, "alice");
    let got = codes(&lines);
    for want in ["001", "002", "003", "004", "005", "251", "255", "265", "266", "375", "372", "376", "JOIN", "332"] {
        assert!(got.contains(&want), "{want} missing from {lines:#?}");
    }
    assert_eq!(lines[0], ":chatd 001 alice :Welcome to the chatd IRC gateway, alice!alice@chatd");
    let isupport: String = lines.iter().filter(|l| command_of(l) == "005").cloned().collect();
    for token in ["NICKLEN=8", "CASEMAPPING=ascii", "CHANTYPES=#", "PREFIX=(ov)@+", "TARGMAX=PRIVMSG:32,"] {
        assert!(isupport.contains(token), "{token} missing: {isupport}");
    }
    assert!(lines.contains(&":alice!alice@chatd JOIN #chatd".to_string()), "{lines:#?}");
    assert!(lines.contains(&":chatd 353 alice = #chatd :alice".to_string()), "{lines:#?}");
    assert_eq!(lines.last().unwrap(), ":chatd 366 alice #chatd :End of /NAMES list");
    assert!(!lines.iter().any(|l| l.starts_with("HELLO")), "no chatd greeting on IRC: {lines:#?}");
}

#[test]
fn cap_negotiation_holds_registration_until_cap_end() {
    let s = Server::start();
    let mut c = IrcClient::connect(&s);
    c.send("CAP LS 302");
    assert_eq!(c.line(), ":chatd CAP * LS :multi-prefix sasl=PLAIN server-time userhost-in-names");
    c.send("NICK bob");
    c.send("USER bob 0 * :Bob");
    // Held: PING is answered, nothing else came before it.
    assert!(c.sync("held").is_empty());
    c.send("CAP REQ :batch server-time");
    assert_eq!(c.line(), ":chatd CAP bob NAK :batch server-time");
    c.send("CAP REQ :userhost-in-names server-time");
    assert_eq!(c.line(), ":chatd CAP bob ACK :userhost-in-names server-time");
    c.send("CAP LIST");
    assert_eq!(c.line(), ":chatd CAP bob LIST :server-time userhost-in-names");
    c.send("CAP FOO");
    assert_eq!(c.line(), ":chatd 410 bob FOO :Invalid CAP command");
    c.send("CAP END");
    let welcome = c.until_numeric("366");
    assert!(welcome[0].starts_with(":chatd 001 bob "));
    assert!(welcome.contains(&":chatd 353 bob = #chatd :bob!bob@chatd".to_string()), "{welcome:#?}");
}

#[test]
fn a_client_that_reconnects_at_once_gets_its_nick_back() {
    let s = Server::start();
    for _ in 0..5 {
        let (c, lines) = IrcClient::register(&s, "again");
        assert!(lines[0].starts_with(":chatd 001 again "), "{lines:?}");
        drop(c); // no QUIT: the peer just goes
    }
}

#[test]
fn bad_and_taken_nicks_get_432_and_433_and_the_client_may_retry() {
    let s = Server::start();
    let _nc = s.join("carol");
    let mut c = IrcClient::connect(&s);
    c.send("NICK ninechars");
    assert_eq!(c.line(), ":chatd 432 * ninechars :Erroneous nickname: at most 8 characters");
    c.send("NICK bad!nick");
    assert_eq!(c.line(), ":chatd 432 * bad!nick :Erroneous nickname: use 1-8 letters, digits, _ or -");
    c.send("NICK *");
    assert_eq!(command_of(&c.line()), "432");
    c.send("NICK :");
    assert_eq!(c.line(), ":chatd 431 * :No nickname given");
    c.send("NICK CAROL"); // an nc user's name, in another case: the same person
    assert_eq!(c.line(), ":chatd 433 * CAROL :Nickname is already in use");
    c.send("USER x 0 * :X");
    assert!(c.sync("none").is_empty(), "no registration without a nick");
    c.send("NICK dave");
    assert!(c.line().starts_with(":chatd 001 dave "));
}

#[test]
fn a_nick_taken_between_nick_and_user_gets_433_at_registration() {
    let s = Server::start();
    let mut a = IrcClient::connect(&s);
    let mut b = IrcClient::connect(&s);
    a.send("NICK same");
    b.send("NICK same");
    a.send("USER a 0 * :A");
    assert!(a.line().starts_with(":chatd 001 same "));
    b.send("USER b 0 * :B");
    assert_eq!(b.line(), ":chatd 433 * same :Nickname is already in use");
    b.send("NICK other");
    assert!(b.line().starts_with(":chatd 001 other "));
}

#[test]
fn commands_before_registration_get_451_and_unknown_ones_421() {
    let s = Server::start();
    let mut c = IrcClient::connect(&s);
    c.send("JOIN :");
    assert_eq!(c.line(), ":chatd 451 * :You have not registered");
    c.send("PRIVMSG x :hi");
    assert_eq!(c.line(), ":chatd 451 * :You have not registered");
    c.send("PING :before");
    assert_eq!(c.line(), ":chatd PONG chatd :before");
    c.send("NICK eve");
    c.send("USER eve 0 * :Eve");
    c.until_numeric("366");
    c.send("FROB x");
    assert_eq!(c.line(), ":chatd 421 eve FROB :Unknown command");
    c.send("PRIVMSG");
    assert_eq!(c.line(), ":chatd 411 eve :No recipient given (PRIVMSG)");
    c.send("PRIVMSG eve");
    assert_eq!(c.line(), ":chatd 412 eve :No text to send");
    c.send("PRIVMSG nobody :hi");
    assert_eq!(c.line(), ":chatd 401 eve nobody :No such nick/channel");
    c.send("NOTICE nobody :hi"); // NOTICE never gets an error back
    c.send("USER a b c :d");
    assert_eq!(c.line(), ":chatd 462 eve :You may not reregister");
    c.send("NICK other");
    assert_eq!(command_of(&c.line()), "447");
    let _taken = s.join("taken");
    c.next("JOIN");
    c.send("NICK taken");
    assert_eq!(c.line(), ":chatd 433 eve taken :Nickname is already in use");
    c.send("NICK eve"); // the same nick: nothing
    c.send("JOIN #elsewhere");
    assert_eq!(c.line(), ":chatd 403 eve #elsewhere :No such channel: this server has one room, #chatd");
    c.send("JOIN #chatd"); // already in: nothing
    c.send("PING");
    assert_eq!(c.line(), ":chatd 461 eve PING :Not enough parameters");
    c.send("PING :");
    assert_eq!(c.line(), ":chatd PONG chatd :");
    assert!(c.sync("end").is_empty());
}

#[test]
fn lines_over_512_bytes_get_417_and_the_connection_lives() {
    let s = Server::start();
    let mut c = IrcClient::join(&s, "long");
    let body = format!("PRIVMSG long :{}", "x".repeat(510 - 14));
    assert_eq!(body.len(), 510);
    c.send(&body);
    assert_eq!(command_of(&c.line()), "PRIVMSG", "a 512-byte line (with CRLF) is accepted");
    c.send(&format!("{body}y"));
    assert_eq!(c.line(), ":chatd 417 long :Input line was too long");
    // Tags are bounded too: a huge tag part is refused, byte by byte or not.
    c.send(&format!("@{} PING x", "t=".repeat(3000)));
    assert_eq!(c.line(), ":chatd 417 long :Input line was too long");
    c.send(&format!("@{} PING x", "t".repeat(20000)));
    assert_eq!(c.line(), ":chatd 417 long :Input line was too long");
    // Sent a byte at a time, a line still arrives whole.
    let parts: Vec<&[u8]> = b"PING :slow\r\n".chunks(1).collect();
    c.c.send_slowly(&parts);
    assert_eq!(c.line(), ":chatd PONG chatd :slow");
    assert!(c.sync("alive").is_empty());
}

#[test]
fn non_utf8_text_is_delivered_with_replacement_characters() {
    let s = Server::start();
    let mut a = IrcClient::join(&s, "a");
    let mut b = s.join("b");
    assert_eq!(a.line(), ":b!b@chatd JOIN #chatd");
    a.c.send_raw(b"PRIVMSG b :caf\xe9 ok\r\n");
    assert_eq!(b.event(), "MSG <ts> a caf\u{fffd} ok");
    let l = a.line();
    assert!(l.starts_with(":chatd NOTICE a :your message had bytes that are not UTF-8"), "{l}");
    assert!(a.sync("fine").is_empty());
}

#[test]
fn ping_quit_and_the_registration_timeout() {
    let s = Server::start_conf("join_timeout = 1\n");
    let mut idle = IrcClient::connect(&s);
    let mut c = IrcClient::connect(&s);
    c.send("NICK quick");
    c.send("USER q 0 * :Q");
    c.until_numeric("366");
    let mut nc = s.join("watcher");
    c.next("JOIN");
    c.send("PING tok");
    assert_eq!(c.line(), ":chatd PONG chatd :tok");
    c.send("QUIT :see you");
    assert_eq!(c.line(), "ERROR :Closing Link: quick (Quit)");
    assert!(c.c.closed_within(WAIT));
    assert_eq!(nc.event(), "LEFT <ts> quick see you");
    let line = idle.line();
    assert_eq!(line, "ERROR :Closing Link: registration timed out (no NICK and USER in time)");
    assert!(idle.c.closed_within(WAIT));
}

#[test]
fn server_name_and_channel_come_from_the_config() {
    let s = Server::start_conf("irc_server_name = \"My.Little.Server\"\nirc_channel = \"#room\"\n");
    let (mut c, lines) = IrcClient::register(&s, "nick1");
    assert_eq!(lines[0], ":My.Little.Server 001 nick1 :Welcome to the chatd IRC gateway, nick1!nick1@My.Little.Server");
    assert!(lines.contains(&":nick1!nick1@My.Little.Server JOIN #room".to_string()), "{lines:#?}");
    c.send("PING x");
    assert_eq!(c.line(), ":My.Little.Server PONG My.Little.Server :x");
    c.send("JOIN #ROOM"); // CASEMAPPING=ascii: the same channel
    c.send("JOIN #chatd");
    assert_eq!(c.line(), ":My.Little.Server 403 nick1 #chatd :No such channel: this server has one room, #room");
}

#[test]
fn bad_irc_settings_refuse_to_start() {
    let dir = TempDir::new();
    std::fs::write(dir.path("c.toml"), "irc_channel = \"chatd\"\n").unwrap();
    let conf = dir.path("c.toml");
    let (code, err) = run_to_exit(&dir, &["-c", conf.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert_eq!(err.len(), 1, "{err:?}");
    assert!(err[0].contains("irc_channel"), "{err:?}");
}

#[test]
fn a_protected_name_needs_pass() {
    let s = Server::start();
    let mut owner = s.join("guard");
    owner.ok("REGISTER secret99");
    owner.ok("LEAVE");
    let mut c = IrcClient::connect(&s);
    c.send("NICK guard");
    c.send("USER g 0 * :G");
    let l = c.line();
    assert!(l.starts_with(":chatd 464 * :guard is protected by a password"), "{l}");
    c.send("PASS wrongpass");
    c.send("NICK guard");
    let l = c.line();
    assert!(l.starts_with(":chatd 464 guard :Password incorrect"), "{l}");
    let mut ok = IrcClient::connect(&s);
    ok.send("PASS secret99");
    ok.send("NICK guard");
    ok.send("USER g 0 * :G");
    assert!(ok.line().starts_with(":chatd 001 guard "));
    ok.until_numeric("366");
    // A password is changed from IRC with REGISTER, as on the line protocol.
    ok.send("REGISTER short");
    let l = ok.line();
    assert!(l.starts_with(":chatd NOTICE guard :") && l.contains("6"), "{l}");
    ok.send("REGISTER newsecret1");
    assert_eq!(
        ok.line(),
        ":chatd NOTICE guard :your password is set: from now on connect with it as the server password (PASS)"
    );
}

#[test]
fn who_whois_ison_names_lusers_motd_away() {
    let s = Server::start();
    let mut a = IrcClient::join(&s, "ann");
    let _nc = s.join("ned");
    a.next("JOIN");
    a.send("WHO #chatd");
    let who = a.until_numeric("315");
    assert_eq!(who.len(), 3, "{who:#?}");
    assert_eq!(who[0], ":chatd 352 ann #chatd ann chatd chatd ann H :0 Real ann");
    assert_eq!(who[1], ":chatd 352 ann #chatd ned chatd chatd ned H :0 chatd line-protocol user");
    a.send("WHOIS ned");
    let whois = a.until_numeric("318");
    assert_eq!(codes(&whois), ["311", "312", "319", "318"]);
    assert!(whois[1].contains("line protocol"), "{whois:?}");
    a.send("WHOIS ghost");
    assert_eq!(codes(&a.until_numeric("318")), ["401", "318"]);
    a.send("ISON ned ghost ANN");
    assert_eq!(a.line(), ":chatd 303 ann :ned ann");
    a.send("NAMES #chatd");
    assert_eq!(a.line(), ":chatd 353 ann = #chatd :ann ned");
    assert_eq!(a.line(), ":chatd 366 ann #chatd :End of /NAMES list");
    a.send("NAMES #nope");
    assert_eq!(a.line(), ":chatd 366 ann #nope :End of /NAMES list");
    a.send("LUSERS");
    let l = a.until_numeric("266");
    assert!(l.contains(&":chatd 251 ann :There are 2 users and 0 invisible on 1 servers".to_string()), "{l:#?}");
    assert!(l.contains(&":chatd 266 ann 2 2 :Current global users 2, max 2".to_string()), "{l:#?}");
    a.send("MOTD");
    assert_eq!(command_of(&a.until_numeric("376")[0]), "375");
    a.send("USERHOST ann ned");
    assert_eq!(a.line(), ":chatd 302 ann :ann=+ann@chatd ned=+ned@chatd");
    a.send("AWAY :lunch");
    assert_eq!(a.line(), ":chatd 306 ann :You have been marked as being away");
    a.send("USERHOST ann");
    assert_eq!(a.line(), ":chatd 302 ann :ann=-ann@chatd");
    let mut b = IrcClient::join(&s, "bo");
    b.send("PRIVMSG ann :there?");
    assert_eq!(b.line(), ":chatd 301 bo ann :lunch");
    a.send("AWAY");
    assert_eq!(a.next("305"), ":chatd 305 ann :You are no longer marked as being away");
    a.send("MODE #chatd");
    assert_eq!(a.line(), ":chatd 324 ann #chatd +nt");
    a.send("MODE #chatd b");
    assert_eq!(a.line(), ":chatd 368 ann #chatd :End of channel ban list");
    a.send("MODE ann +i");
    assert_eq!(a.line(), ":chatd 221 ann +");
    a.send("TOPIC #chatd");
    assert_eq!(command_of(&a.line()), "332");
    a.send("KICK #chatd ned");
    assert_eq!(command_of(&a.line()), "482");
    a.send("HELP");
    let help = a.until_numeric("706");
    assert_eq!(command_of(&help[0]), "704");
    assert!(help.iter().any(|l| l.contains("PRIVMSG #chatd :text - everyone")), "{help:#?}");
    a.send("HELP privmsg");
    let help = a.until_numeric("706");
    assert!(help.iter().all(|l| l.contains(" ann PRIVMSG :")), "{help:#?}");
    a.send("HELP NOSUCHTHING");
    assert_eq!(command_of(&a.line()), "524");
    a.send("PART #chatd");
    assert_eq!(command_of(&a.line()), "NOTICE");
    assert!(a.sync("done").is_empty());
    a.c.expect_silence(Duration::from_millis(50));
}

fn sasl_plain(name: &str, password: &str) -> String {
    use base64ct::Encoding;
    base64ct::Base64::encode_string(format!("\0{name}\0{password}").as_bytes())
}

#[test]
fn sasl_plain_proves_a_protected_name_before_registration() {
    let s = Server::start();
    let mut owner = s.join("vault");
    owner.ok("REGISTER secret99");
    owner.ok("LEAVE");
    let mut c = IrcClient::connect(&s);
    c.send("CAP LS 302");
    assert_eq!(c.line(), ":chatd CAP * LS :multi-prefix sasl=PLAIN server-time userhost-in-names");
    c.send("CAP REQ :sasl");
    assert_eq!(c.line(), ":chatd CAP * ACK :sasl");
    c.send("NICK vault");
    c.send("USER v 0 * :V");
    c.send("AUTHENTICATE SCRAM-SHA-256");
    assert_eq!(c.line(), ":chatd 908 vault PLAIN :are available SASL mechanisms");
    assert_eq!(c.line(), ":chatd 904 vault :SASL authentication failed");
    c.send("AUTHENTICATE PLAIN");
    assert_eq!(c.line(), "AUTHENTICATE +");
    c.send(&format!("AUTHENTICATE {}", sasl_plain("vault", "wrong-one")));
    assert_eq!(c.line(), ":chatd 904 vault :SASL authentication failed");
    c.send("AUTHENTICATE PLAIN");
    assert_eq!(c.line(), "AUTHENTICATE +");
    c.send("AUTHENTICATE *");
    assert_eq!(c.line(), ":chatd 906 vault :SASL authentication aborted");
    c.send("AUTHENTICATE PLAIN");
    assert_eq!(c.line(), "AUTHENTICATE +");
    c.send(&format!("AUTHENTICATE {}", sasl_plain("vault", "secret99")));
    assert_eq!(c.line(), ":chatd 900 vault vault!vault@chatd vault :You are now logged in as vault");
    assert_eq!(c.line(), ":chatd 903 vault :SASL authentication successful");
    assert!(c.sync("held").is_empty(), "registration waits for CAP END");
    c.send("CAP END");
    assert!(c.line().starts_with(":chatd 001 vault "));
    c.until_numeric("366");
    c.send("AUTHENTICATE PLAIN");
    assert_eq!(c.line(), ":chatd 907 vault :You have already authenticated using SASL");
    // Garbage is a failure, not a crash; a name without a password cannot
    // be proved.
    let mut g = IrcClient::connect(&s);
    for bad in ["!!!not-base64", &sasl_plain("no such!", "x"), &sasl_plain("nopass", "whatever")] {
        g.send("AUTHENTICATE PLAIN");
        assert_eq!(g.line(), "AUTHENTICATE +");
        g.send(&format!("AUTHENTICATE {bad}"));
        assert_eq!(g.line(), ":chatd 904 * :SASL authentication failed");
    }
    g.send(&format!("AUTHENTICATE PLAIN\r\n{}", format!("AUTHENTICATE {}\r\n", "A".repeat(400)).repeat(4)));
    assert_eq!(g.line(), "AUTHENTICATE +");
    assert_eq!(g.line(), ":chatd 904 * :SASL authentication failed");
}
