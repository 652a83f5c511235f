#!/usr/bin/python3
"""The passphrase prompt on a terminal: sealdrop-review asks on /dev/tty with
echo off (keygen asks twice), never prints what was typed, and a wrong
passphrase typed at the prompt fails with exit status 1."""
import argparse
import os
import pty
import select
import shutil
import sys
import tempfile
import time


def run_on_tty(argv, answers, timeout=30):
    """Runs argv on a new pseudo-terminal, typing each answer after a prompt.
    Returns (exit status, everything the terminal showed)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(argv[0], argv)
    shown = b""
    pending = list(answers)
    answered = 0
    deadline = time.time() + timeout
    status = None
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
            if not data:
                break
            shown += data
            # Answer each prompt once, after it is shown: the tool flushes
            # type-ahead (TCSAFLUSH) when it turns echo off.
            prompts = shown.count(b"assphrase")
            if pending and prompts > answered and shown.rstrip().endswith(b":"):
                os.write(fd, pending.pop(0) + b"\n")
                answered += 1
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            break
    if status is None:
        os.kill(pid, 9)  # still waiting for input: the test fails below
        _, status = os.waitpid(pid, 0)
    try:
        while True:
            data = os.read(fd, 4096)
            if not data:
                break
            shown += data
    except OSError:
        pass
    os.close(fd)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--review", required=True)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="sealdrop-it-tty-")
    ok = False
    try:
        key = os.path.join(tmp, "k.key")
        phrase = b"a tty passphrase, 7 words long"
        rc, shown = run_on_tty([a.review, "keygen", "--out", key], [phrase, phrase])
        assert rc == 0, "keygen on a terminal failed (%d): %s" % (rc, shown)
        assert "New passphrase:" in shown and "Repeat passphrase:" in shown, shown
        assert phrase.decode() not in shown, "the passphrase was echoed"
        assert oct(os.stat(key).st_mode & 0o777) == "0o600", "key file is not 0600"

        rc, shown = run_on_tty([a.review, "keygen", "--out", key + "2"], [phrase, b"different"])
        assert rc == 2 and "differ" in shown, "mismatched repeat not refused: %d %s" % (rc, shown)
        assert not os.path.exists(key + "2"), "a key was written despite the mismatch"

        vault = os.path.join(tmp, "vault")
        # import needs a bundle; an empty one from a fresh instance will do.
        inst = os.path.join(tmp, "inst")
        import subprocess
        made = subprocess.run([a.server, "init", inst, "--recipient", key + ".pub",
                               "--listen", "unix:" + os.path.join(tmp, "s.sock")],
                              check=True, capture_output=True, text=True)
        fp = made.stdout.split("instance key ")[1].split()[0]
        bundle = os.path.join(tmp, "b.sdb")
        subprocess.run([a.server, "export", inst, "--out", bundle], check=True, capture_output=True)

        rc, shown = run_on_tty([a.review, "import", bundle, "--vault", vault, "--key", key],
                               [b"not the passphrase"])
        assert rc == 1, "a wrong passphrase at the prompt gave %d, not 1: %s" % (rc, shown)
        assert "not the passphrase" not in shown, "the passphrase was echoed"
        rc, shown = run_on_tty([a.review, "import", bundle, "--vault", vault, "--key", key,
                                "--instance-fingerprint", fp], [phrase])
        assert rc == 0, "import with the right passphrase failed (%d): %s" % (rc, shown)
        assert "Passphrase for key" in shown, shown
        ok = True
        print("tty_passphrase: prompts with echo off, mismatch refused, wrong passphrase exit 1")
    finally:
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("kept " + tmp)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print("tty_passphrase: FAIL: %s" % e)
        sys.exit(1)
