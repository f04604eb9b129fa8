"""The outbox (Maildir), SMTP against a real aiosmtpd, delivery, and secrets."""

from __future__ import annotations

import mailbox
import os
import socket
import sys
import threading
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from boundaryd.delivery.mail import Outbox, SmtpTransport, deliver
from boundaryd.errors import BadInput, RuntimeFailure
from boundaryd.secrets import read_secret

sys.path.insert(0, str(Path(__file__).parent))
from smtp_server import SmtpServer, free_port


def make_msg(n: int, to: str = "alice@example.com") -> EmailMessage:
    m = EmailMessage()
    m["From"] = "boundaryd@example.com"
    m["To"] = to
    m["Subject"] = f"message {n}"
    m["Date"] = "Mon, 23 Nov 2026 07:00:00 -0500"
    m["Message-ID"] = f"<m{n}@example.com>"
    m.set_content(f"body {n}\n")
    return m


# --- outbox --------------------------------------------------------------------------------


def test_put_is_idempotent_and_a_mail_client_reads_it(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "outbox")
    assert ob.put("k1", make_msg(1)) is True
    assert ob.put("k1", make_msg(99)) is False  # same key: one message, the first
    assert ob.put("k2", make_msg(2)) is True
    md = mailbox.Maildir(tmp_path / "outbox", create=False)
    subjects = sorted(str(m["subject"]) for m in md)
    assert subjects == ["message 1", "message 2"]
    assert [k for k, _ in ob.pending()] == ["k1", "k2"]
    assert [e.state for e in ob.entries()] == ["waiting", "waiting"]
    # files are private
    for p in (tmp_path / "outbox" / "new").iterdir():
        assert p.stat().st_mode & 0o077 == 0


def test_a_second_outbox_object_sees_the_same_state(tmp_path: Path) -> None:
    Outbox(tmp_path / "o").put("k", make_msg(1))
    ob = Outbox(tmp_path / "o")
    assert ob.put("k", make_msg(1)) is False
    ob.mark_sent("k")
    ob.mark_sent("k")  # idempotent
    assert ob.put("k", make_msg(1)) is False
    assert Outbox(tmp_path / "o").pending() == []
    (e,) = Outbox(tmp_path / "o").entries()
    assert (e.key, e.state, e.subject, e.to) == ("k", "sent", "message 1", "alice@example.com")
    # the sent one is in the .Sent sub-folder, as a mail client sees it
    sent = mailbox.Maildir(tmp_path / "o", create=False).get_folder("Sent")
    assert [str(m["subject"]) for m in sent] == ["message 1"]
    assert len(mailbox.Maildir(tmp_path / "o", create=False)) == 0


def test_deleted_by_the_user_is_not_queued_again(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o")
    ob.put("k", make_msg(1))
    deliver(ob, None)
    md = mailbox.Maildir(tmp_path / "o", create=False)
    for key in list(md.keys()):
        md.remove(key)  # read and deleted in a mail client
    assert ob.put("k", make_msg(1)) is False
    assert ob.entries() == []


def test_mail_client_moving_to_cur_with_flags_keeps_identity(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o")
    ob.put("k", make_msg(1))
    md = mailbox.Maildir(tmp_path / "o", create=False)
    (mk,) = md.keys()
    m = md[mk]
    m.set_subdir("cur")
    m.add_flag("S")
    md[mk] = m  # what a client does when you read it
    assert any(p.name.endswith(":2,S") for p in (tmp_path / "o" / "cur").iterdir())
    assert [k for k, _ in ob.pending()] == ["k"]
    ob.mark_sent("k")
    assert ob.entries()[0].state == "sent"


def test_crash_between_ledger_and_rename_is_finished_on_open(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o")
    real_rename = os.rename

    def boom(src: object, dst: object) -> None:
        raise KeyboardInterrupt("killed")

    os.rename = boom  # type: ignore[assignment]
    try:
        with pytest.raises(KeyboardInterrupt):
            ob.put("k", make_msg(1))
    finally:
        os.rename = real_rename
    assert list((tmp_path / "o" / "new").iterdir()) == []
    ob2 = Outbox(tmp_path / "o")  # the next sync
    assert ob2.put("k", make_msg(1)) is False
    assert [k for k, _ in ob2.pending()] == ["k"]
    assert len(mailbox.Maildir(tmp_path / "o", create=False)) == 1


def test_crash_before_ledger_leaves_nothing(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o")
    (tmp_path / "o" / "tmp" / "bd.0123").write_bytes(b"half a messa")
    with open(tmp_path / "o" / Outbox.LEDGER, "ab") as f:
        f.write(b'{"h": "abc", "k": "torn')  # killed mid-append
    ob = Outbox(tmp_path / "o")
    assert list((tmp_path / "o" / "tmp").iterdir()) == []
    assert ob.put("k", make_msg(1)) is True  # the torn line does not eat the next one
    assert [k for k, _ in Outbox(tmp_path / "o").pending()] == ["k"]


def test_send_false_stays_in_outbox(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o")
    ob.put("reply", make_msg(1), send=False)
    ob.put("notice", make_msg(2))
    assert [k for k, _ in ob.pending()] == ["notice"]
    assert {e.key: e.state for e in ob.entries()} == {"reply": "outbox", "notice": "waiting"}


def test_no_transport_means_the_outbox_is_the_delivery(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o")
    ob.put("a", make_msg(1))
    ob.put("b", make_msg(2))
    r = deliver(ob, None)
    assert (r.sent, r.waiting, r.error, r.outbox) == (0, 0, None, 2)
    assert ob.pending() == []
    assert {e.state for e in ob.entries()} == {"outbox"}
    assert len(mailbox.Maildir(tmp_path / "o", create=False)) == 2
    assert deliver(ob, None).outbox == 0


# --- SMTP ----------------------------------------------------------------------------------


def test_plain_smtp_delivers_once(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o")
    for i in range(3):
        ob.put(f"k{i}", make_msg(i, to=f"user{i}@example.net"))
    with SmtpServer("none") as srv:
        r = deliver(ob, SmtpTransport(srv.config()))
        assert (r.sent, r.waiting, r.error) == (3, 0, None)
        got = srv.wait_for(3)
        assert sorted(str(g.message["Subject"]) for g in got) == ["message 0", "message 1", "message 2"]
        assert [g.rcpt_tos for g in got] == [["user0@example.net"], ["user1@example.net"], ["user2@example.net"]]
        assert got[0].mail_from == "boundaryd@example.com"
        assert got[0].message.get_content() == "body 0\n"
        assert deliver(ob, SmtpTransport(srv.config())).sent == 0
        time.sleep(0.2)
        assert len(srv.received) == 3
    assert {e.state for e in ob.entries()} == {"sent"}


def test_starttls_with_auth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_SMTP_PW", "s3cret wörd")
    with SmtpServer("starttls", users={"alice": "s3cret wörd"}) as srv:
        t = SmtpTransport(srv.config(username="alice", password_env="T_SMTP_PW"), ssl_context=srv.client_context)
        assert "s3cret" not in repr(t)
        t.send(make_msg(1))
        (g,) = srv.wait_for(1)
        assert str(g.message["Subject"]) == "message 1"
        assert srv.auth_attempts == [(srv.auth_attempts[0][0], True)]
        assert srv.auth_attempts[0][0].split(":")[0] in ("PLAIN", "LOGIN")


def test_starttls_untrusted_certificate_fails_clearly(tmp_path: Path) -> None:
    with SmtpServer("starttls") as srv:
        t = SmtpTransport(srv.config())  # system CAs: the test CA is not trusted
        with pytest.raises(RuntimeFailure) as ei:
            t.send(make_msg(1))
        msg = str(ei.value)
        assert msg.startswith(f"smtp 127.0.0.1:{srv.port}: TLS certificate not trusted")
        assert "\n" not in msg
        assert srv.received == []


@pytest.mark.parametrize("password", ["ascii-pw", "pässwörd"])
def test_auth_login_mechanism(password: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_SMTP_PW", password)
    with SmtpServer("starttls", users={"carol": password}, exclude_auth=("PLAIN",)) as srv:
        SmtpTransport(srv.config(username="carol", password_env="T_SMTP_PW"), ssl_context=srv.client_context).send(make_msg(1))
        assert srv.auth_attempts == [("LOGIN:carol", True)]
        assert len(srv.wait_for(1)) == 1
    monkeypatch.setenv("T_SMTP_PW", password + "x")
    with SmtpServer("starttls", users={"carol": password}, exclude_auth=("PLAIN",)) as srv:
        with pytest.raises(RuntimeFailure, match="authentication failed for 'carol'"):
            SmtpTransport(srv.config(username="carol", password_env="T_SMTP_PW"), ssl_context=srv.client_context).send(make_msg(1))
        assert srv.received == []


def test_implicit_ssl_with_auth_from_file(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("hunter2\n")
    with SmtpServer("ssl", users={"bob": "hunter2"}) as srv:
        t = SmtpTransport(srv.config(username="bob", password_file=str(pw)), ssl_context=srv.client_context)
        with t:
            t.send(make_msg(1))
            t.send(make_msg(2))
        assert len(srv.wait_for(2)) == 2


def test_wrong_password_is_one_line_and_message_waits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_SMTP_PW", "wrong-password")
    ob = Outbox(tmp_path / "o")
    ob.put("k", make_msg(1))
    with SmtpServer("starttls", users={"alice": "right"}) as srv:
        r = deliver(ob, SmtpTransport(srv.config(username="alice", password_env="T_SMTP_PW"), ssl_context=srv.client_context))
        assert (r.sent, r.waiting) == (0, 1)
        assert r.error is not None and r.error.startswith(f"smtp 127.0.0.1:{srv.port}: authentication failed")
        assert "wrong-password" not in r.error and "\n" not in r.error
        assert srv.auth_attempts and not srv.auth_attempts[0][1]
        assert srv.received == []
    assert [k for k, _ in ob.pending()] == ["k"]


def test_auth_on_plain_connection_when_server_allows_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_SMTP_PW", "pw")
    with SmtpServer("none", users={"relay": "pw"}) as srv:
        SmtpTransport(srv.config(username="relay", password_env="T_SMTP_PW")).send(make_msg(1))
        assert len(srv.wait_for(1)) == 1
        assert srv.auth_attempts[0][1] is True


def test_starttls_required_but_not_offered() -> None:
    with SmtpServer("none") as srv, pytest.raises(RuntimeFailure, match="does not offer STARTTLS"):
        SmtpTransport(srv.config(security="starttls")).send(make_msg(1))


def test_server_down_then_up_sends_exactly_once(tmp_path: Path) -> None:
    port = free_port()
    ob = Outbox(tmp_path / "o")
    ob.put("notice", make_msg(1))
    ob.put("reply", make_msg(2, to="bob@example.org"))
    srv = SmtpServer("none", port=port)
    r = deliver(ob, SmtpTransport(srv.config()))
    assert (r.sent, r.waiting) == (0, 2)
    assert r.error is not None and f"smtp 127.0.0.1:{port}: connection refused" in r.error
    assert [e.state for e in ob.entries()] == ["waiting", "waiting"]
    # a new put of the same key while it waits changes nothing
    assert ob.put("notice", make_msg(1)) is False
    with srv:
        r = deliver(ob, SmtpTransport(srv.config()))
        assert (r.sent, r.waiting, r.error) == (2, 0, None)
        r = deliver(Outbox(tmp_path / "o"), SmtpTransport(srv.config()))
        assert (r.sent, r.waiting, r.error) == (0, 0, None)
        time.sleep(0.2)
        assert sorted(str(m["Subject"]) for m in srv.messages) == ["message 1", "message 2"]


def test_refused_recipient_is_kept_and_others_go(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o")
    ob.put("bad", make_msg(1, to="nobody@example.org"))
    ob.put("good", make_msg(2))
    with SmtpServer("none") as srv:
        srv.handler.refuse_rcpt.add("nobody@example.org")
        r = deliver(ob, SmtpTransport(srv.config()))
        assert (r.sent, r.waiting, r.outbox) == (1, 0, 1)
        assert r.error is not None and "550" in r.error and "left in the outbox" in r.error
        srv.wait_for(1)
        assert [str(m["Subject"]) for m in srv.messages] == ["message 2"]
    assert {e.key: e.state for e in ob.entries()} == {"bad": "outbox", "good": "sent"}


def test_timeout_on_a_silent_server() -> None:
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(5)  # accepts TCP, never says hello
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        lsock.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(lsock.accept()[0])
            except OSError:
                pass

    th = threading.Thread(target=accept, daemon=True)
    th.start()
    try:
        from types import SimpleNamespace

        cfg = SimpleNamespace(host="127.0.0.1", port=lsock.getsockname()[1], security="none",
                              username=None, password_file=None, password_env=None, timeout=0.5)
        t0 = time.monotonic()
        with pytest.raises(RuntimeFailure, match="timed out"):
            SmtpTransport(cfg).send(make_msg(1))
        assert time.monotonic() - t0 < 3
    finally:
        stop.set()
        th.join()
        for s in held:
            s.close()
        lsock.close()


def test_missing_password_source_is_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    cfg = SmtpServer("none").config(username="alice")
    with pytest.raises(BadInput, match="no password"):
        SmtpTransport(cfg)
    with pytest.raises(BadInput, match=str(tmp_path / "nope")):
        SmtpTransport(SmtpServer("none").config(username="alice", password_file=str(tmp_path / "nope")))


# --- secrets -------------------------------------------------------------------------------


def test_read_secret_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "pw").write_text("line one\n\n")
    assert read_secret(file="~/pw", env=None, credential=None, what="x") == "line one\n"  # one newline stripped
    (tmp_path / "pw2").write_bytes(b"abc\r\n")
    assert read_secret(file=str(tmp_path / "pw2"), env=None, credential=None, what="x") == "abc"
    monkeypatch.setenv("T_SECRET", "from-env")
    assert read_secret(file=None, env="T_SECRET", credential=None, what="x") == "from-env"
    monkeypatch.delenv("T_SECRET")
    with pytest.raises(BadInput, match=r"^\$T_SECRET: environment variable not set \(smtp password"):
        read_secret(file=None, env="T_SECRET", credential=None, what="smtp password")
    with pytest.raises(BadInput) as ei:
        read_secret(file=str(tmp_path / "missing"), env=None, credential=None, what="smtp password")
    assert str(ei.value).startswith(f"{tmp_path / 'missing'}: no such file")
    creds = tmp_path / "creds"
    creds.mkdir()
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert read_secret(file=None, env=None, credential="smtp-password", what="x") is None
    (creds / "smtp-password").write_text("cred-pw\n")
    assert read_secret(file=None, env=None, credential="smtp-password", what="x") == "cred-pw"
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    assert read_secret(file=None, env=None, credential="smtp-password", what="x") is None
    (tmp_path / "bin").write_bytes(b"\xff\xfe")
    with pytest.raises(BadInput, match="not UTF-8"):
        read_secret(file=str(tmp_path / "bin"), env=None, credential=None, what="x")


def test_credentials_directory_used_by_transport(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "smtp-password").write_text("pw-from-systemd\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    with SmtpServer("starttls", users={"alice": "pw-from-systemd"}) as srv:
        SmtpTransport(srv.config(username="alice"), ssl_context=srv.client_context).send(make_msg(1))
        assert srv.auth_attempts[0][1] is True


def test_opening_and_delivering_nothing_writes_nothing(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o")
    ob.put("k", make_msg(1))
    deliver(ob, None)

    def snapshot() -> dict[str, tuple[int, int]]:
        return {str(p): (p.stat().st_mtime_ns, p.stat().st_size) for p in (tmp_path / "o").rglob("*")}

    before = snapshot()
    time.sleep(0.02)
    ob2 = Outbox(tmp_path / "o")
    assert deliver(ob2, None).outbox == 0
    ob2.entries()
    assert ob2.put("k", make_msg(1)) is False
    assert snapshot() == before


def test_temporary_failure_stops_and_the_rest_go_next_time(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o")
    ob.put("a", make_msg(1))
    ob.put("b", make_msg(2, to="busy@example.org"))
    ob.put("c", make_msg(3))
    with SmtpServer("none") as srv:
        srv.handler.tempfail_rcpt.add("busy@example.org")
        r = deliver(ob, SmtpTransport(srv.config()))
        assert (r.sent, r.waiting, r.outbox) == (1, 2, 0)  # a went; b failed for now; c waits behind it
        assert r.error is not None and "451" in r.error and "2 message(s) wait in" in r.error
        assert {e.key: e.state for e in ob.entries()} == {"a": "sent", "b": "waiting", "c": "waiting"}
        srv.handler.tempfail_rcpt.clear()
        r = deliver(ob, SmtpTransport(srv.config()))
        assert (r.sent, r.waiting, r.error) == (2, 0, None)
        time.sleep(0.2)
        assert sorted(str(m["Subject"]) for m in srv.messages) == ["message 1", "message 2", "message 3"]


_KILL_CHILD = r"""
import sys
from email.message import EmailMessage
from boundaryd.delivery.mail import Outbox
ob = Outbox(sys.argv[1])
for i in range(120):
    m = EmailMessage()
    m["From"] = "a@example.com"; m["To"] = "b@example.com"; m["Subject"] = f"n{i}"
    m.set_content("x" * 20000)
    ob.put(f"key-{i}", m)
    if i % 3 == 0:
        ob.mark_sent(f"key-{i}")
"""


def test_killed_at_random_points_never_duplicates_or_loses(tmp_path: Path) -> None:
    import random
    import signal
    import subprocess

    box = tmp_path / "o"
    rnd = random.Random(7)
    for _ in range(10):
        p = subprocess.Popen([sys.executable, "-c", _KILL_CHILD, str(box)])
        time.sleep(rnd.uniform(0.05, 0.3))
        p.send_signal(signal.SIGKILL)
        p.wait()
    subprocess.run([sys.executable, "-c", _KILL_CHILD, str(box)], check=True)  # an uninterrupted run
    ob = Outbox(box)
    entries = ob.entries()
    assert sorted(e.key for e in entries) == sorted(f"key-{i}" for i in range(120))
    assert {e.key for e in entries if e.state == "sent"} == {f"key-{i}" for i in range(0, 120, 3)}
    md = mailbox.Maildir(box, create=False)
    assert len(md) + len(md.get_folder("Sent")) == 120
    assert list((box / "tmp").iterdir()) == []
