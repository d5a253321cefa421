//! The page end to end in a real browser: tests/browser/chat_e2e.py drives
//! headless Chromium through chromium-driver (Selenium) against the real
//! binary: two browser users and an nc user chatting all three ways, a
//! protected name, offline messages, a restart, markup shown as text, a
//! clean console. Needs the Debian packages chromium, chromium-driver and
//! python3-selenium (`.ci/run` installs them); without them the test is
//! skipped with a message, except under CI=true, where it fails.
//!
//! It runs twice: over `http_listen` (`--http`), and over `https_listen`
//! (`--https`, a certificate from scripts/dev-cert.sh) where the page is
//! https:// and its WebSocket wss://; Chromium is told to accept that one
//! certificate by the SHA-256 of its public key, nothing else. The two runs
//! take turns (four Chromiums at once on a small machine make timeouts).
//!
//! The screenshots go to target/browser/web-client.png (and
//! web-client-https.png for the TLS run, each with a "-phone" twin); with
//! CHATD_SCREENSHOT=docs/web-client.png the plain run replaces the README's.

use crate::common::*;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

const CHROMIUM: &str = "/usr/bin/chromium";
const DRIVER: &str = "/usr/bin/chromedriver";
/// Debian's Python: python3 on PATH may be another one without Selenium.
const PYTHON: &str = "/usr/bin/python3";

/// What is missing to run a browser, if anything.
fn missing() -> Option<String> {
    for path in [CHROMIUM, DRIVER, PYTHON] {
        if !Path::new(path).exists() {
            return Some(format!("{path} not found"));
        }
    }
    let selenium = Command::new(PYTHON).args(["-c", "import selenium"]).output();
    match selenium {
        Ok(out) if out.status.success() => None,
        _ => Some("python3-selenium not installed".into()),
    }
}

/// One browser run at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[test]
fn two_browsers_and_an_nc_user_chat_in_headless_chromium() {
    e2e(false);
}

#[test]
fn two_browsers_and_an_nc_user_chat_in_headless_chromium_over_https() {
    e2e(true);
}

/// Runs tests/browser/chat_e2e.py, the page over TLS if `tls`.
fn e2e(tls: bool) {
    if let Some(what) = missing() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            !ci,
            "browser test cannot run under CI=true: {what} (apt-get install chromium chromium-driver python3-selenium)"
        );
        eprintln!(
            "SKIPPED browser end-to-end test: {what} (apt-get install chromium chromium-driver python3-selenium)"
        );
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shots = root.join("target/browser");
    std::fs::create_dir_all(&shots).expect("target/browser");
    let shot = match std::env::var("CHATD_SCREENSHOT") {
        Ok(p) if !p.is_empty() && !tls => root.join(p),
        _ if tls => shots.join("web-client-https.png"),
        _ => shots.join("web-client.png"),
    };
    let dir = TempDir::new();
    let mut cmd = Command::new("timeout");
    cmd.arg("240").arg(PYTHON).arg(root.join("tests/browser/chat_e2e.py")).arg(bin()).arg(&dir.0).arg(&shot);
    if tls {
        let (cert, key) = dev_cert(&dir, "cert");
        cmd.arg(cert).arg(key);
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let out = cmd
        // Selenium must not look for a driver or send statistics online.
        .env("SE_OFFLINE", "true")
        .env("SE_AVOID_STATS", "true")
        .env("HOME", &dir.0)
        .output()
        .expect("run the browser test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "browser test failed ({}):\n{stdout}\n{stderr}", out.status);
    assert!(stdout.contains("[e2e] all checks passed"), "{stdout}");
    let scheme = if tls { "https" } else { "http" };
    assert!(stdout.contains(&format!("page at {scheme}://127.0.0.1:")), "{stdout}");
    let png = std::fs::read(&shot).expect("the screenshot");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "not a screenshot: {} bytes", png.len());
}
