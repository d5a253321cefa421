#!/usr/bin/env bash
# Installs chatd on a Debian machine: the release binary, the configuration
# (only if there is none yet), the systemd units and the operations guide.
# Safe to run again: the binary, units and guide are replaced, an existing
# /etc/chatd/chatd.toml is never touched, and nothing is enabled or started.
#
#   sudo scripts/install.sh
#
# Environment:
#   DESTDIR=/some/dir   install under that directory instead of / (packaging,
#                       trying it out); systemctl is not called then
#   CARGO=/path/cargo   the cargo to build with (sudo often drops ~/.cargo/bin
#                       from PATH; without cargo an existing
#                       target/release/chatd is installed as it is)
#
# What goes where (the units and docs/operations.md rely on these paths):
#   /usr/local/bin/chatd                  the server
#   /etc/chatd/chatd.toml                 its configuration, from conf/chatd.toml
#   /etc/systemd/system/chatd.service     Type=notify service, DynamicUser
#   /etc/systemd/system/chatd.socket      optional socket activation
#   /usr/local/share/doc/chatd/           operations.md (and README.md, protocol.md)
# At run time systemd creates /var/lib/chatd (the database) and /run/chatd
# (the admin socket).
set -euo pipefail

cd "$(dirname "$0")/.."

DESTDIR=${DESTDIR:-}
BIN=$DESTDIR/usr/local/bin/chatd
CONF_DIR=$DESTDIR/etc/chatd
UNIT_DIR=$DESTDIR/etc/systemd/system
DOC_DIR=$DESTDIR/usr/local/share/doc/chatd

say() { printf 'install: %s\n' "$*"; }
die() { printf 'install: error: %s\n' "$*" >&2; exit 1; }

if [ -z "$DESTDIR" ] && [ "$(id -u)" -ne 0 ]; then
    die "run as root (sudo $0), or set DESTDIR to install under a directory"
fi
[ -f Cargo.toml ] && [ -f conf/chatd.service ] || die "run from a chatd source tree"

# 1. The release binary.
cargo=${CARGO:-}
if [ -z "$cargo" ]; then
    if command -v cargo >/dev/null 2>&1; then
        cargo=cargo
    elif [ -n "${SUDO_USER:-}" ] && [ -x "$(getent passwd "$SUDO_USER" | cut -d: -f6)/.cargo/bin/cargo" ]; then
        cargo="$(getent passwd "$SUDO_USER" | cut -d: -f6)/.cargo/bin/cargo"
    fi
fi
if [ -n "$cargo" ]; then
    say "building the release binary ($cargo build --release; quick when up to date)"
    if [ -n "${SUDO_USER:-}" ] && [ "$(id -u)" -eq 0 ] && [ "$(stat -c %U .)" = "$SUDO_USER" ]; then
        # Build as the user who owns the tree, so target/ stays theirs.
        sudo -u "$SUDO_USER" -H "$cargo" build --release
    else
        "$cargo" build --release
    fi
elif [ -x target/release/chatd ]; then
    say "cargo not found: installing the existing target/release/chatd"
else
    die "cargo not found and no target/release/chatd: install Rust (https://rustup.rs) or set CARGO"
fi
built=target/release/chatd
[ -x "$built" ] || die "$built missing after the build"
"$built" -V >/dev/null || die "$built does not run"

install -d -m 0755 "$(dirname "$BIN")"
if [ -f "$BIN" ] && cmp -s "$built" "$BIN"; then
    say "$BIN is up to date ($("$built" -V))"
else
    # Copy then rename: a running chatd keeps its old file, no "text file busy".
    install -m 0755 "$built" "$BIN.new"
    mv -f "$BIN.new" "$BIN"
    say "installed $BIN ($("$BIN" -V))"
fi

# 2. The configuration: the operator's file is never overwritten.
install -d -m 0755 "$CONF_DIR"
if [ -e "$CONF_DIR/chatd.toml" ]; then
    say "keeping the existing $CONF_DIR/chatd.toml"
    if [ -f conf/chatd.toml ] && ! cmp -s conf/chatd.toml "$CONF_DIR/chatd.toml"; then
        say "  (it differs from conf/chatd.toml: compare with diff -u $CONF_DIR/chatd.toml conf/chatd.toml)"
    fi
elif [ -f conf/chatd.toml ]; then
    install -m 0644 conf/chatd.toml "$CONF_DIR/chatd.toml"
    say "installed $CONF_DIR/chatd.toml (the defaults; edit it, then systemctl restart chatd)"
else
    # No sample in this tree: an empty file means "all defaults" to chatd.
    printf '# chatd configuration: every key is optional (see docs/operations.md)\n' >"$CONF_DIR/chatd.toml.new"
    chmod 0644 "$CONF_DIR/chatd.toml.new"
    mv "$CONF_DIR/chatd.toml.new" "$CONF_DIR/chatd.toml"
    say "conf/chatd.toml not in this tree: installed a $CONF_DIR/chatd.toml with no settings (all defaults)"
fi

# 3. The systemd units.
install -d -m 0755 "$UNIT_DIR"
units_changed=no
for unit in chatd.service chatd.socket; do
    if [ -f "$UNIT_DIR/$unit" ] && cmp -s "conf/$unit" "$UNIT_DIR/$unit"; then
        say "$UNIT_DIR/$unit is up to date"
    else
        install -m 0644 "conf/$unit" "$UNIT_DIR/$unit"
        units_changed=yes
        say "installed $UNIT_DIR/$unit"
    fi
done

# 4. The documentation the units point to.
install -d -m 0755 "$DOC_DIR"
for doc in docs/operations.md docs/protocol.md README.md; do
    if [ -f "$doc" ]; then
        install -m 0644 "$doc" "$DOC_DIR/$(basename "$doc")"
    fi
done
say "installed the documentation in $DOC_DIR"

# 5. Tell systemd, if it is the running init (not in a chroot or container
# without systemd, and never for a DESTDIR install).
if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    if [ "$units_changed" = yes ]; then
        systemctl daemon-reload
        say "systemctl daemon-reload done"
    fi
    if systemctl is-active --quiet chatd.service; then
        say "chatd is running the old binary until: systemctl restart chatd"
    fi
    say "next: systemctl enable --now chatd.service   (or chatd.socket for socket activation)"
else
    say "systemd is not running here: skipped systemctl daemon-reload"
    say "next, on a systemd machine: systemctl daemon-reload && systemctl enable --now chatd.service"
fi
say "done. Console: nc -U /run/chatd/admin.sock   Logs: journalctl -u chatd"
