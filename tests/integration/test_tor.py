#!/usr/bin/python3
"""The onion services of deploy/torrc, with Debian's tor and the real server.

deploy/torrc and deploy/torrc-courier are used as shipped, with only their
directories moved under this test's own: `tor --verify-config` accepts
them; a real tor, run as its own user with `DisableNetwork 1`, creates both
onion services (the site and the reviewer API) and takes the courier's
client key installed as docs/OPERATIONS.md says, with no warning (a
malformed key, as a control, draws one); the courier's tor takes the
matching private key. Then the sockets: `sealdrop-server serve` and
`sealdrop-server api`, started as root with `user` and `group` set in
config.toml, become that unprivileged user in tor's group once their
sockets are open (every thread), and listen on Unix sockets that tor's user
(`runuser -u debian-tor`) can talk to and another unprivileged user
(www-data) cannot, even when it may enter their directory. A `user` that is
root, or that does not own the instance, is refused before serving.

Needs root (to switch users) and tor; skipped (77) without them.
"""
import grp
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import time

import harness
from harness import check, fail

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SERVER_USER, TOR_USER, OTHER_USER = "nobody", "debian-tor", "www-data"


def shipped(name, moves):
    """deploy/<name> with each (old, new) path prefix replaced."""
    with open(os.path.join(ROOT, "deploy", name)) as f:
        text = f.read()
    for old, new in moves:
        check(old in text, "deploy/%s no longer names %s" % (name, old))
        text = text.replace(old, new)
    return text


def chown_tree(path, user, group=None):
    for dirpath, dirs, files in os.walk(path):
        for n in [dirpath] + [os.path.join(dirpath, x) for x in dirs + files]:
            shutil.chown(n, user, group or user)


def b32(raw):
    import base64
    return base64.b32encode(raw).decode().rstrip("=")


def client_key(h, pem):
    """An x25519 client key pair made as docs/OPERATIONS.md does, with
    openssl: (public, private) in tor's base32."""
    h.run(["openssl", "genpkey", "-algorithm", "x25519", "-out", pem], expect=0)
    der_pub = subprocess.run(["openssl", "pkey", "-in", pem, "-pubout", "-outform", "DER"],
                             capture_output=True, check=True).stdout
    der_priv = subprocess.run(["openssl", "pkey", "-in", pem, "-outform", "DER"],
                              capture_output=True, check=True).stdout
    return b32(der_pub[-32:]), b32(der_priv[-32:])


def run_tor(h, torrc, data, what, seconds=15, until=None):
    """Starts tor as its own user; returns (process, log path) once `until`
    (a list of files) exist, or fails."""
    log = os.path.join(data, "..", os.path.basename(data) + ".log")
    out = open(log, "wb")
    proc = subprocess.Popen(["runuser", "-u", TOR_USER, "--", "tor", "-f", torrc],
                            stdout=out, stderr=out, preexec_fn=harness._die_with_parent)
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        if proc.poll() is not None:
            fail("%s: tor exited with %s:\n%s" % (what, proc.returncode, open(log).read()))
        if until is None:
            if "Delaying directory fetches" in open(log).read():
                return proc, log
        elif all(os.path.exists(p) for p in until):
            return proc, log
        time.sleep(0.1)
    proc.kill()
    fail("%s: tor did not get ready in %ds:\n%s" % (what, seconds, open(log).read()))


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def warnings(log):
    return [l for l in open(log).read().splitlines() if "[warn]" in l and "as root" not in l]


def as_user(user, args):
    return subprocess.run(["runuser", "-u", user, "--"] + args, capture_output=True, timeout=30)


def connect_errno(user, sock):
    """What connect(2) to `sock` gives `user`: 'ok' or the error's name."""
    probe = ("import errno, socket\n"
             "s = socket.socket(socket.AF_UNIX)\n"
             "try:\n    s.connect(%r); print('ok')\n"
             "except OSError as e:\n    print(errno.errorcode[e.errno])\n" % sock)
    return as_user(user, ["/usr/bin/python3", "-c", probe]).stdout.decode().strip()


def curl_socket(user, sock, path="/"):
    r = as_user(user, ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
                       "--unix-socket", sock, "http://localhost" + path])
    return r.stdout.decode().strip(), r.stderr.decode().strip()


def test(h):
    # Everything below must be reachable by the users the test switches to.
    os.chmod(h.tmp, 0o711)

    h.step("deploy/torrc passes tor --verify-config, as shipped")
    hs_site, hs_api = h.path("hs-site"), h.path("hs-api")
    run_site, run_api = h.path("run-site"), h.path("run-api")
    data = h.path("tor-data")
    for d in (hs_site, hs_api, data):
        os.mkdir(d, 0o700)
    auth_dir = os.path.join(hs_api, "authorized_clients")
    os.mkdir(auth_dir, 0o700)
    torrc = h.path("torrc")
    with open(torrc, "w") as f:
        f.write(shipped("torrc", [("/var/lib/tor/sealdrop-api/", hs_api + "/"),
                                  ("/var/lib/tor/sealdrop/", hs_site + "/"),
                                  ("/run/sealdrop-api/", run_api + "/"),
                                  ("/run/sealdrop/", run_site + "/")]))
        f.write("DataDirectory %s\nDisableNetwork 1\n" % data)
    text = open(torrc).read()
    for line in ("SocksPort 0", "SafeLogging 1", "HiddenServicePoWDefensesEnabled 1",
                 "HiddenServiceMaxStreamsCloseCircuit 1"):
        check(line in text, "deploy/torrc lacks %r" % line)
    check(len(re.findall(r"^HiddenServiceDir ", text, re.M)) == 2,
          "deploy/torrc should define two onion services")
    pub, priv = client_key(h, h.path("courier-client.pem"))
    with open(os.path.join(auth_dir, "courier.auth"), "w") as f:
        f.write("descriptor:x25519:%s\n" % pub)
    for d in (hs_site, hs_api, data):
        chown_tree(d, TOR_USER)
    r = as_user(TOR_USER, ["tor", "--verify-config", "-f", torrc])
    check(r.returncode == 0 and b"Configuration was valid" in r.stdout,
          "tor --verify-config refused deploy/torrc:\n%s" % (r.stdout + r.stderr).decode())

    h.step("a real tor, offline, creates both onion services and takes the client key")
    proc, log = run_tor(h, torrc, data, "the server's tor",
                        until=[os.path.join(hs_site, "hostname"),
                               os.path.join(hs_api, "hostname")])
    time.sleep(1)  # client keys are read as the services are set up
    stop(proc)
    site = open(os.path.join(hs_site, "hostname")).read().strip()
    api = open(os.path.join(hs_api, "hostname")).read().strip()
    for name in (site, api):
        check(re.fullmatch(r"[a-z2-7]{56}\.onion", name), "not a v3 onion address: %r" % name)
    check(site != api, "the site and the API share an onion address")
    for d in (hs_site, hs_api):
        check(os.stat(d).st_mode & 0o777 == 0o700, "%s is not 0700" % d)
        check(os.path.exists(os.path.join(d, "hs_ed25519_secret_key")),
              "%s has no onion key to back up" % d)
    w = warnings(log)
    check(not w, "tor warned with the shipped torrc and client key:\n%s" % "\n".join(w))
    # The control: a malformed client key is reported, so the check above can fail.
    bad = os.path.join(auth_dir, "broken.auth")
    with open(bad, "w") as f:
        f.write("descriptor:x25519:NOT-BASE32\n")
    shutil.chown(bad, TOR_USER, TOR_USER)
    proc, log = run_tor(h, torrc, data, "tor with a broken client key",
                        until=None)
    time.sleep(1)
    stop(proc)
    check(any("Client authorization" in l for l in warnings(log)),
          "tor took a malformed client key without a warning:\n" + open(log).read())
    os.unlink(bad)
    h.note("onion services", "site %s..., API %s... (client authorization)" % (site[:8], api[:8]))

    h.step("the courier's tor takes the private half (deploy/torrc-courier)")
    cdata, cauth = h.path("courier-tor-data"), h.path("courier-onion-auth")
    os.mkdir(cdata, 0o700)
    os.mkdir(cauth, 0o700)
    with open(os.path.join(cauth, "sealdrop.auth_private"), "w") as f:
        f.write("%s:descriptor:x25519:%s\n" % (api[:-len(".onion")], priv))
    ctorrc = h.path("torrc-courier")
    with open(ctorrc, "w") as f:
        f.write(shipped("torrc-courier", [("/var/lib/tor/onion-auth/", cauth + "/")]))
        f.write("DataDirectory %s\nDisableNetwork 1\n" % cdata)
    chown_tree(cdata, TOR_USER)
    chown_tree(cauth, TOR_USER)
    r = as_user(TOR_USER, ["tor", "--verify-config", "-f", ctorrc])
    check(r.returncode == 0, "tor --verify-config refused deploy/torrc-courier:\n%s" %
          (r.stdout + r.stderr).decode())
    proc, log = run_tor(h, ctorrc, cdata, "the courier's tor")
    time.sleep(1)
    stop(proc)
    w = warnings(log)
    check(not w, "the courier's tor warned:\n%s" % "\n".join(w))

    h.step("the sockets: tor's user connects, another user is refused")
    rv = harness.Reviewer(h)
    inst = harness.Instance(h, "instance", rv.pub)
    inst.set_config("listen", '"unix:%s/http.sock"' % run_site)
    inst.set_config("api_listen", '"unix:%s/api.sock"' % run_api)
    import base64
    import nacl.signing
    courier = nacl.signing.SigningKey.generate().verify_key.encode()
    with open(inst.config_path, "a") as f:
        f.write('\n[[courier]]\nname = "workstation"\nkey = "sdsig1:%s"\n' %
                base64.urlsafe_b64encode(courier).decode().rstrip("="))
    # As the unit's RuntimeDirectory, but open to every user, so that only
    # the socket's own mode can refuse the other user.
    for d in (run_site, run_api):
        os.mkdir(d, 0o755)
        shutil.chown(d, SERVER_USER, TOR_USER)
    inst.set_config("user", '"%s"' % SERVER_USER)
    inst.set_config("group", '"%s"' % TOR_USER)
    r = h.run([h.server_bin, "serve", inst.dir], timeout=30)
    check(r.returncode == 2 and "does not belong to user" in r.stderr and "chown" in r.stderr,
          "serve with an instance root owns: exit %d\n%s" % (r.returncode, r.stderr))
    check(not os.path.exists(run_site + "/http.sock"), "a refused serve left its socket")
    h.note("refused: instance not the user's", r.stderr.strip().splitlines()[0])
    chown_tree(inst.dir, SERVER_USER, "nogroup")
    inst.set_config("user", '"root"')
    r = h.run([h.server_bin, "api", inst.dir], timeout=30)
    check(r.returncode == 2 and 'user = "root" is root' in r.stderr,
          "api with user = root: exit %d\n%s" % (r.returncode, r.stderr))
    inst.set_config("user", '"%s"' % SERVER_USER)
    procs = []
    for cmd, sock in (("serve", run_site + "/http.sock"), ("api", run_api + "/api.sock")):
        logpath = h.path("%s.log" % cmd)
        out = open(logpath, "wb")
        p = subprocess.Popen([h.server_bin, cmd, inst.dir],
                             stdout=out, stderr=out, preexec_fn=harness._die_with_parent)
        procs.append(p)
        t0 = time.monotonic()
        while not os.path.exists(sock):
            if p.poll() is not None or time.monotonic() - t0 > 20:
                fail("sealdrop-server %s as %s did not listen:\n%s" %
                     (cmd, SERVER_USER, open(logpath).read()))
            time.sleep(0.05)
        st = os.stat(sock)
        check(st.st_mode & 0o777 == 0o660, "%s has mode %o, not 660" % (sock, st.st_mode & 0o777))
        # The socket exists a moment before the process gives it away and leaves root.
        want_ids = (pwd.getpwnam(SERVER_USER).pw_uid, grp.getgrnam(TOR_USER).gr_gid)
        t0 = time.monotonic()
        while (st.st_uid, st.st_gid) != want_ids and time.monotonic() - t0 < 10:
            time.sleep(0.05)
            st = os.stat(sock)
        time.sleep(0.1)
        check((st.st_uid, st.st_gid) == want_ids, "%s belongs to %d:%d" % (sock, st.st_uid,
                                                                          st.st_gid))
        for task in os.listdir("/proc/%d/task" % p.pid):
            status = open("/proc/%d/task/%s/status" % (p.pid, task)).read()
            uids = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
            gids = re.search(r"^Gid:\s+(.*)$", status, re.M).group(1).split()
            groups = re.search(r"^Groups:[ \t]*(.*)$", status, re.M).group(1).split()
            check(set(map(int, uids)) == {want_ids[0]} and set(map(int, gids)) == {want_ids[1]}
                  and not groups, "%s thread %s still holds uid %s gid %s groups %s" %
                  (cmd, task, uids, gids, groups))
        path = "/" if cmd == "serve" else "/v1/bundle"
        code, err = curl_socket(TOR_USER, sock, path)
        want = "200" if cmd == "serve" else "401"
        check(code == want, "tor's user through %s: HTTP %s (want %s) %s" % (sock, code, want, err))
        check(connect_errno(TOR_USER, sock) == "ok", "tor's user cannot connect to " + sock)
        err = connect_errno(OTHER_USER, sock)
        check(err == "EACCES", "%s connecting to %s: %s, not EACCES" % (OTHER_USER, sock, err))
        h.note("socket " + cmd, "%s: HTTP %s; %s: %s" % (TOR_USER, want, OTHER_USER, err))
    for p in procs:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=20)
        check(p.returncode == 0, "a server stopped with %s" % p.returncode)


if __name__ == "__main__":
    if os.geteuid() != 0 or shutil.which("tor") is None or shutil.which("setpriv") is None:
        print("tor: skipped: needs root, tor and setpriv", flush=True)
        sys.exit(77)
    harness.Harness("tor", __doc__).main(test)
