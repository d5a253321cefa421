#!/usr/bin/python3
"""chatd's page end to end in real headless Chromium (Selenium, chromium-driver).

Run by tests/wire/browser.rs (so `cargo test` runs it):

    /usr/bin/python3 tests/browser/chat_e2e.py CHATD_BINARY WORKDIR SCREENSHOT [CERT KEY]

With CERT and KEY (PEM, e.g. from scripts/dev-cert.sh) the page is served by
https_listen (`--https`, no plain `--http`): the browser opens https:// and the
page's WebSocket is wss://. Chromium accepts that one certificate only: it is
told the SHA-256 of its public key (--ignore-certificate-errors-spki-list), so
any other untrusted certificate would still fail.

Starts chatd on loopback ports of its own (port 0, read from its log), opens two
browser users (alice, bob) and one raw-TCP "nc" user (carol), and checks: they chat
all three ways (ALL, MSG, MCAST) across transports; markup sent as a message shows
as text and runs nothing; a protected name asks for its password; messages stored
while away appear, marked, after the next join; the page reconnects by itself after
chatd restarts; the browser console shows no errors. Saves a screenshot of alice's
window to SCREENSHOT (bob's, phone-sized, next to it with "-phone" added). Exit status 0 means every check passed. Everything stays on
127.0.0.1; the driver's path is given, so Selenium never looks for one online.
"""

import base64
import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

WAIT = 15  # seconds for any one expected change


def log(msg):
    print(f"[e2e] {msg}", flush=True)


def wait_for(what, check, timeout=WAIT):
    """Polls check() until it returns something truthy; fails with `what`."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = check()
            if last:
                return last
        except Exception as e:  # the DOM may be changing under us
            last = e
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


class Chatd:
    """A chatd process, stopped by its PID."""

    def __init__(self, binary, workdir, line_port=0, http_port=0, tls=None):
        self.lines = []
        if tls:  # the page over TLS only
            cert, key = tls
            web = ["--http", "off", "--https", f"127.0.0.1:{http_port}", "--tls-cert", cert, "--tls-key", key]
        else:
            web = ["--http", f"127.0.0.1:{http_port}"]
        scheme = "https" if tls else "http"
        self.proc = subprocess.Popen(
            [binary, "-l", f"127.0.0.1:{line_port}", *web, "-d", os.path.join(workdir, "chatd.db")],
            cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=dict(os.environ, RUST_LOG="info"), text=True)
        threading.Thread(target=self._read, daemon=True).start()
        line = wait_for("chatd's listening line", lambda: self.find("listening on "))
        self.line_port = int(line.rsplit(":", 1)[1])
        line = wait_for("chatd's web page line", lambda: self.find(f"web page at {scheme}://"))
        self.url = re.search(rf"({scheme}://\S+)", line).group(1)
        self.http_port = int(self.url.rstrip("/").rsplit(":", 1)[1])

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def find(self, needle):
        return next((l for l in self.lines if needle in l), None)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Nc:
    """A raw TCP user, as with nc."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        self.buf = b""
        assert self.line().startswith("HELLO chatd ")

    def send(self, line):
        self.sock.sendall(line.encode() + b"\n")

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise AssertionError("nc user: connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def until(self, pattern):
        for _ in range(200):
            l = self.line()
            if re.search(pattern, l):
                return l
        raise AssertionError(f"nc user: no line matching {pattern!r}")


def spki_sha256(cert):
    """base64(SHA-256(the certificate's SubjectPublicKeyInfo)), as Chromium's
    --ignore-certificate-errors-spki-list wants it."""
    pub = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-pubkey"],
                         check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"],
                         input=pub, check=True, capture_output=True).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def browser(width, height, spki=None):
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ["--headless=new", "--no-sandbox", "--disable-gpu", f"--window-size={width},{height}",
              f"--user-data-dir={tempfile.mkdtemp(prefix='chatd-e2e-')}", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-default-apps", "--lang=en-US"]:
        opts.add_argument(a)
    if spki:  # trust the test's self-signed certificate, and only it
        opts.add_argument(f"--ignore-certificate-errors-spki-list={spki}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=opts)


class Page:
    """One browser user on chatd's page."""

    def __init__(self, driver, url):
        self.d = driver
        self.console = []
        driver.get(url)
        wait_for("the join form", lambda: self.d.find_element(By.ID, "name").is_displayed())

    def q(self, css):
        return self.d.find_element(By.CSS_SELECTOR, css)

    def join(self, name, password=None):
        field = self.q("#name")
        field.clear()
        field.send_keys(name)
        if password is not None:
            pw = wait_for("the password field", lambda: self.q("#password").is_displayed() and self.q("#password"))
            pw.send_keys(password)
        self.q("#join-btn").click()

    def joined(self, name):
        wait_for(f"{name} joined", lambda: self.q("#chat-view").is_displayed() and self.q("#me").text == name)

    def log_texts(self):
        return [li.text for li in self.d.find_elements(By.CSS_SELECTOR, "#log li")]

    def sees(self, text):
        return wait_for(f"{text!r} in the conversation",
                        lambda: next((t for t in self.log_texts() if text in t), None))

    def say(self, text):
        box = self.q("#text")
        box.send_keys(text)
        box.send_keys(Keys.ENTER)

    def conv(self, title):
        """The conversation button whose label starts with `title`."""
        for b in self.d.find_elements(By.CSS_SELECTOR, "#convs button"):
            if b.text.split("\n")[0].strip() == title:
                return b
        return None

    def open_conv(self, title):
        wait_for(f"conversation {title!r}", lambda: self.conv(title)).click()
        wait_for(f"{title!r} opened", lambda: title in self.q("#conv-title").text)

    def unread(self, title):
        b = self.conv(title)
        badges = b.find_elements(By.CSS_SELECTOR, ".badge") if b else []
        return badges[0].text if badges else None

    def online(self):
        return [li.get_attribute("data-name") for li in self.d.find_elements(By.CSS_SELECTOR, "#online li")]

    def take_console(self):
        entries = self.d.get_log("browser")
        self.console.extend(entries)
        return entries

    def no_alert(self):
        try:
            alert = self.d.switch_to.alert
            raise AssertionError(f"an alert ran: {alert.text!r}")
        except NoAlertPresentException:
            pass


def console_errors(entries, allowed=()):
    return [e for e in entries
            if e["level"] in ("SEVERE", "WARNING") and not any(re.search(a, e["message"]) for a in allowed)]


def main():
    binary, workdir, screenshot = sys.argv[1:4]
    tls = tuple(sys.argv[4:6]) if len(sys.argv) > 4 else None
    # `timeout` ends a hung run with SIGTERM: still stop chatd and the browsers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("[e2e] stopped by SIGTERM"))
    chatd = Chatd(binary, workdir, tls=tls)
    log(f"chatd on port {chatd.line_port}, page at {chatd.url}")
    drivers = []
    try:
        run(chatd, binary, workdir, screenshot, drivers, tls)
    finally:
        for d in drivers:
            try:
                d.quit()
            except Exception:
                pass
        chatd.stop()
    log("all checks passed")


def run(chatd, binary, workdir, screenshot, drivers, tls):
    spki = spki_sha256(tls[0]) if tls else None
    da = browser(1000, 640, spki)
    drivers.append(da)
    db = browser(390, 760, spki)  # a phone-sized screen
    drivers.append(db)
    alice, bob = Page(da, chatd.url), Page(db, chatd.url)
    if tls:
        # The page really came over TLS and its socket is wss://.
        assert da.execute_script("return location.protocol") == "https:", da.current_url

    # The server's rejection shows next to the field.
    alice.join("much_too_long")
    wait_for("the name error", lambda: "8 characters" in alice.q("#join-error").text)
    alice.join("alice")
    alice.joined("alice")
    bob.join("bob")
    bob.joined("bob")
    carol = Nc(chatd.line_port)
    carol.send("JOIN carol")
    assert carol.until(r"^OK JOIN") == "OK JOIN carol pending=0"
    wait_for("carol in alice's who-is-online", lambda: alice.online() == ["alice", "bob", "carol"])
    wait_for("carol in bob's who-is-online", lambda: bob.online() == ["alice", "bob", "carol"])
    log("joined: two browsers and nc")

    # ALL, all three ways.
    alice.say("hello everyone")
    bob.sees("hello everyone")
    assert re.match(r"^ALL \S+ alice hello everyone$", carol.until(r"^ALL ")), "carol got alice's ALL"
    alice.sees("delivered to 2 people")
    carol.send("ALL hi from the terminal")
    alice.sees("hi from the terminal")
    bob.sees("hi from the terminal")
    bob.say("and from a phone")
    alice.sees("and from a phone")
    carol.until(r"^ALL \S+ bob and from a phone$")
    log("ALL: browser <-> browser <-> nc")

    # Markup is text: nothing is parsed, nothing runs.
    xss = "<img src=x onerror=alert(1)>"
    carol.send(f"ALL {xss}")
    alice.sees(xss)
    bob.sees(xss)
    alice.say("<b>bold?</b> <script>alert(2)</script>")
    bob.sees("<b>bold?</b> <script>alert(2)</script>")
    for p in (alice, bob):
        assert not p.d.find_elements(By.CSS_SELECTOR, "#log img, #log b, #log script"), "markup became HTML"
        p.no_alert()
    log("markup shows as text")

    # MSG, all three ways: alice picks bob from who-is-online.
    wait_for("bob's button", lambda: alice.q("#online li[data-name='bob'] button")).click()
    wait_for("the private conversation", lambda: "Private: bob" in alice.q("#conv-title").text)
    alice.say("psst, bob")
    wait_for("bob's unread mark for alice", lambda: bob.unread("alice") == "1")
    bob.open_conv("alice")
    bob.sees("psst, bob")
    alice.sees("delivered")
    bob.say("psst back")
    alice.sees("psst back")
    carol.send("MSG alice hello alice, from nc")
    wait_for("alice's unread mark for carol", lambda: alice.unread("carol") == "1")
    alice.open_conv("carol")
    alice.sees("hello alice, from nc")
    alice.say("hello carol, from the browser")
    assert re.match(r"^MSG \S+ alice hello carol, from the browser$", carol.until(r"^MSG "))
    log("MSG: browser <-> browser, browser <-> nc")

    # MCAST: bob starts a group with alice and carol.
    group = bob.q("#group-names")
    group.send_keys("alice, carol")
    group.send_keys(Keys.ENTER)
    wait_for("the group", lambda: "Group: alice, carol" in bob.q("#conv-title").text)
    bob.say("a group of three")
    wait_for("alice's group", lambda: alice.conv("bob, carol"))
    assert re.match(r"^MCAST \S+ bob alice,carol a group of three$", carol.until(r"^MCAST "))
    bob.sees("delivered to alice, carol")
    alice.open_conv("bob, carol")
    alice.sees("a group of three")
    alice.say("group reply")
    bob.sees("group reply")
    assert re.match(r"^MCAST \S+ alice (bob,carol|carol,bob) group reply$", carol.until(r"^MCAST "))
    carol.send("MCAST alice,bob the terminal joins in")
    alice.sees("the terminal joins in")
    bob.sees("the terminal joins in")
    log("MCAST: all three ways")

    # The screenshot for the README: alice in the everyone conversation.
    alice.open_conv("Everyone")
    time.sleep(0.3)
    da.save_screenshot(screenshot)
    stem, ext = os.path.splitext(screenshot)
    db.save_screenshot(f"{stem}-phone{ext}")
    log(f"screenshot: {screenshot}")

    # No console errors so far (CSP, Trusted Types, scripts).
    for who, p in (("alice", alice), ("bob", bob)):
        errors = console_errors(p.take_console())
        assert not errors, f"{who}'s console: {errors}"
    log("consoles clean")

    # alice protects her name from the page, leaves; carol writes meanwhile.
    alice.q("#register summary").click()
    alice.q("#register-pw").send_keys("sesame12")
    alice.q("#register-pw").send_keys(Keys.ENTER)
    wait_for("the register answer", lambda: "Saved" in alice.q("#register-msg").text)
    alice.q("#leave-btn").click()
    wait_for("the join form again", lambda: alice.q("#join-view").is_displayed())
    carol.until(r"^LEFT \S+ alice")
    carol.send("MSG alice kept for you while away")
    assert carol.until(r"^OK MSG") == "OK MSG alice stored"
    carol.send("MCAST alice,bob a group line while alice is away")
    carol.until(r"^OK MCAST")
    # Joining again: the page asks for the password.
    alice.join("alice")
    wait_for("the password field", lambda: alice.q("#password").is_displayed())
    assert alice.q("#join-error").text, "the server's AUTH_REQUIRED is shown"
    alice.q("#password").send_keys("wrong-one")
    alice.q("#join-btn").click()
    wait_for("the wrong-password error", lambda: "password" in alice.q("#join-error").text.lower())
    alice.q("#password").send_keys("sesame12")
    alice.q("#join-btn").click()
    alice.joined("alice")
    wait_for("alice's unread mark for carol", lambda: alice.unread("carol") == "1")
    alice.open_conv("carol")
    line = alice.sees("kept for you while away")
    assert "while you were away" in line, line
    alice.open_conv("bob, carol")
    alice.sees("a group line while alice is away")
    # History on join: the earlier conversation is back.
    alice.sees("group reply")
    alice.open_conv("Everyone")
    alice.sees("hello everyone")
    log("password asked; offline messages shown as such; history on join")

    # chatd restarts: both pages reconnect by themselves.
    carol.sock.close()
    line_port, http_port = chatd.line_port, chatd.http_port
    chatd.stop()
    for p in (alice, bob):
        wait_for("the page noticing", lambda: "reconnecting" in p.q("#status").text)
    chatd2 = Chatd(binary, workdir, line_port, http_port, tls)
    chatd.proc = chatd2.proc  # stopped by the caller's cleanup
    chatd.lines = chatd2.lines
    alice.joined("alice")
    bob.joined("bob")
    wait_for("alice reconnected", lambda: alice.q("#status").text.startswith("connected"), timeout=40)
    wait_for("bob reconnected", lambda: bob.q("#status").text.startswith("connected"), timeout=40)
    wait_for("both online again", lambda: alice.online() == ["alice", "bob"])
    bob.open_conv("Everyone")
    bob.say("back after the restart")
    alice.sees("back after the restart")
    # Reconnecting replays history without duplicating what is shown.
    shown = [t for t in alice.log_texts() if "hello everyone" in t]
    assert len(shown) == 1, shown
    log("reconnected after a restart")

    # Console: nothing but the failed attempts while chatd was down.
    scheme = "wss" if tls else "ws"
    down = [rf"WebSocket connection to '{scheme}://127\.0\.0\.1:\d+/ws' failed"]
    for who, p in (("alice", alice), ("bob", bob)):
        errors = console_errors(p.take_console(), down)
        assert not errors, f"{who}'s console: {errors}"
        p.no_alert()


if __name__ == "__main__":
    main()
