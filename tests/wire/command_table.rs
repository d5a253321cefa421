//! The two command tables, `chatd::command::TABLE` (clients) and
//! `chatd::console::TABLE` (operators), against what else names their
//! commands: README's two tables, docs/protocol.md's (the client table and
//! its per-command sections, the console table) and the command fuzz
//! target must each name every command and nothing more. And on the wire,
//! before JOIN, the server refuses exactly the rows whose needs column
//! says JOIN: the table and the handlers' dispatch agree.
use crate::common::*;
use std::collections::BTreeSet;

fn read(file: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn set<'a>(names: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    names.into_iter().map(str::to_string).collect()
}

fn client_names() -> BTreeSet<String> {
    set(chatd::command::TABLE.iter().map(|s| s.name))
}

fn console_names() -> BTreeSet<String> {
    set(chatd::console::TABLE.iter().map(|s| s.name))
}

/// The command a usage names: its leading upper-case words
/// (`KICK <name> [reason]` -> `KICK`, `ACTIVE USERS` -> `ACTIVE USERS`).
fn command_of(usage: &str) -> String {
    let words = usage.split(' ').take_while(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_uppercase()));
    words.collect::<Vec<_>>().join(" ")
}

/// The commands in the first column of the Markdown table that follows the
/// first line containing `anchor`: each code span names one
/// (`` `LEAVE [reason]`, `QUIT [reason]` `` names two).
fn table_commands(doc: &str, file: &str, anchor: &str) -> BTreeSet<String> {
    let mut lines = doc.lines().skip_while(|l| !l.contains(anchor));
    assert!(lines.next().is_some(), "{file}: no line containing {anchor:?}");
    let table: Vec<&str> = lines.skip_while(|l| !l.starts_with('|')).take_while(|l| l.starts_with('|')).collect();
    assert!(table.len() > 2, "{file}: no table after {anchor:?}");
    let mut names = BTreeSet::new();
    for row in &table[2..] {
        // Cells are separated by " | "; an escaped pipe (`\|`) has no spaces.
        let first = row.trim_start_matches('|').split(" | ").next().unwrap_or_default();
        for span in first.split('`').skip(1).step_by(2) {
            names.insert(command_of(span));
        }
    }
    names
}

/// The commands the `### ` headings of protocol.md's section 4 describe:
/// `### MSG <name> <text>`, and `### LEAVE [reason] (alias QUIT)` for two.
fn section_commands(doc: &str) -> BTreeSet<String> {
    let section = doc.lines().skip_while(|l| !l.starts_with("## 4.")).skip(1).take_while(|l| !l.starts_with("## "));
    let mut names = BTreeSet::new();
    for heading in section.filter_map(|l| l.strip_prefix("### ")) {
        if heading == "The command table" {
            continue;
        }
        names.insert(command_of(heading));
        if let Some((_, alias)) = heading.split_once("(alias ") {
            names.insert(command_of(alias.trim_end_matches(')')));
        }
    }
    names
}

/// The variants named as `<prefix>::<Variant>` in Rust source, where the
/// prefix is a whole word (`Command::` does not match `ConsoleCommand::`).
fn variants_named(src: &str, prefix: &str) -> BTreeSet<String> {
    let pattern = format!("{prefix}::");
    let mut names = BTreeSet::new();
    for (at, _) in src.match_indices(&pattern) {
        let whole_word = src[..at].chars().next_back().is_none_or(|c| !c.is_alphanumeric() && c != '_');
        let variant: String = src[at + pattern.len()..].chars().take_while(|c| c.is_alphanumeric()).collect();
        if whole_word && !variant.is_empty() {
            names.insert(variant);
        }
    }
    names
}

/// The line a usage describes with the fewest arguments: a word for each
/// required one (`MSG <name> <text>` -> `MSG x x`).
fn fewest(name: &str, usage: &str) -> String {
    let required = usage[name.len()..].split(' ').filter(|w| w.starts_with('<')).count();
    std::iter::once(name).chain(std::iter::repeat_n("x", required)).collect::<Vec<_>>().join(" ")
}

/// `Msg` for `Msg { to: .., text: .. }`.
fn variant_of(debug: String) -> String {
    debug.chars().take_while(|c| c.is_alphanumeric()).collect()
}

#[test]
fn readme_lists_every_client_and_console_command_and_no_other() {
    let readme = read("README.md");
    assert_eq!(table_commands(&readme, "README.md", "Client commands"), client_names(), "README.md, client commands");
    assert_eq!(
        table_commands(&readme, "README.md", "Console commands"),
        console_names(),
        "README.md, console commands"
    );
}

#[test]
fn protocol_md_lists_every_client_and_console_command_and_no_other() {
    let doc = read("docs/protocol.md");
    let file = "docs/protocol.md";
    assert_eq!(table_commands(&doc, file, "### The command table"), client_names(), "{file}, section 4 table");
    assert_eq!(section_commands(&doc), client_names(), "{file}, section 4 headings");
    assert_eq!(table_commands(&doc, file, "## 8. Server console"), console_names(), "{file}, section 8 table");
}

#[test]
fn the_fuzz_target_checks_every_command_of_both_tables() {
    let fuzz = read("fuzz/fuzz_targets/command.rs");
    let built: BTreeSet<String> = chatd::command::TABLE
        .iter()
        .map(|spec| {
            let line = fewest(spec.name, spec.usage);
            let parsed = chatd::command::parse(&line, true).unwrap_or_else(|e| panic!("{line:?}: {e}"));
            variant_of(format!("{:?}", parsed.command))
        })
        .collect();
    assert_eq!(variants_named(&fuzz, "Command"), built, "fuzz target: client commands");
    let built: BTreeSet<String> = chatd::console::TABLE
        .iter()
        .map(|spec| {
            let line = fewest(spec.name, spec.usage);
            let parsed = chatd::console::parse(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
            variant_of(format!("{:?}", parsed.command))
        })
        .collect();
    assert_eq!(variants_named(&fuzz, "ConsoleCommand"), built, "fuzz target: console commands");
}

#[test]
fn before_join_the_server_refuses_exactly_the_rows_that_need_it() {
    let s = Server::start();
    for spec in chatd::command::TABLE {
        // A connection each: JOIN x joins, LEAVE and QUIT close.
        let mut c = s.connect();
        let line = fewest(spec.name, spec.usage);
        let reply = c.ask(&line);
        let refused = reply == "ERR NOT_JOINED join first: JOIN <name>";
        assert_eq!(refused, spec.needs_join(), "{line:?} before JOIN got {reply:?}");
    }
}
