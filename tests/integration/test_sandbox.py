#!/usr/bin/python3
"""The sandbox: serve and api confine themselves with seccomp once started.

With the filter on (every thread of the process in seccomp filter mode,
no_new_privs set, core dumps off), a submission with a file goes through
the real binary over loopback TLS, and the API answers a signed fetch. A
library preloaded by this test alone (sandbox_probe.cc) then makes, from
inside the serving process, one call the filter forbids: execve, a fork,
a new socket, executable memory by mmap and by mprotect, ptrace. Each kills
the process with SIGSYS, and `check` finds the store intact, with every
submission confirmed before. Opening a file fails with EACCES and clone3
with ENOSYS, and the server goes on serving. Skipped (77) in a build
configured with -DSEALDROP_SECCOMP=OFF, as the sanitizer builds are.
"""
import os
import re
import signal
import subprocess
import sys
import time

import nacl.signing

import harness
from harness import check, fail
import test_courier

KILLED = ["execve", "fork", "socket", "exec-mmap", "exec-mprotect", "ptrace"]


def probed(h, what):
    """The prefix that runs a server with the probe library armed for `what`."""
    return ["env", "LD_PRELOAD=" + h.sandbox_probe, "SEALDROP_PROBE=" + what,
            "SEALDROP_PROBE_FILE=" + h.path("instance", "config.toml")]


def status(pid):
    """{field: value} of /proc/pid/status for each thread of pid."""
    threads = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            threads[tid] = dict(l.split(":\t", 1) for l in f.read().splitlines() if ":\t" in l)
    return threads


def check_confined(pid, what):
    threads = status(pid)
    for tid, st in threads.items():
        check(st.get("Seccomp", "").strip() == "2",
              "%s: thread %s is not in seccomp filter mode: Seccomp %s" %
              (what, tid, st.get("Seccomp")))
        check(st.get("NoNewPrivs", "").strip() == "1", "%s: thread %s lacks no_new_privs" %
              (what, tid))
    with open("/proc/%d/limits" % pid) as f:
        core = re.search(r"^Max core file size\s+(\S+)\s+(\S+)", f.read(), re.M)
    check(core and core.groups() == ("0", "0"), "%s: core dumps are not off: %s" %
          (what, core and core.groups()))
    return len(threads)


def wait_exit(proc, timeout=10):
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def stop_and_continue(proc):
    """The kernel resumes a sleep with a timeout, interrupted by a stop, with
    restart_syscall: the filter must allow it, or a stopped and continued
    server (a debugger, a frozen cgroup) dies."""
    time.sleep(0.3)  # every thread asleep in its wait
    proc.send_signal(signal.SIGSTOP)
    time.sleep(0.3)
    proc.send_signal(signal.SIGCONT)
    time.sleep(0.5)
    check(proc.poll() is None, "killed (exit %s) after SIGSTOP and SIGCONT" % proc.returncode)


def submissions(h, inst):
    r = h.run([h.server_bin, "check", inst.dir], expect=0)
    m = re.search(r"^submissions: (\d+)$", r.stdout, re.M)
    check(m and re.search(r"^ok$", r.stdout, re.M), "check is not clean:\n" + r.stdout)
    return int(m.group(1))


def test(h):
    rv = harness.Reviewer(h)
    inst = harness.Instance(h, "instance", rv.pub)

    h.step("confined, it serves: a submission with a file over loopback TLS")
    srv = inst.server("refused").start(prefix=probed(h, "refused"))
    n = check_confined(srv.proc.pid, "serve")
    h.note("serve", "%d threads, each in seccomp filter mode with no_new_privs" % n)
    doc = h.path("doc.bin")
    harness.write_random_file(doc, 1)
    h.submit_ok(srv.url, "before the probes", [(doc, "doc.bin")])

    h.step("opening a file and clone3 are refused, and it goes on serving")
    srv.proc.send_signal(signal.SIGUSR2)
    t0 = time.monotonic()
    while "probe:" not in srv.log() and time.monotonic() - t0 < 10:
        time.sleep(0.05)
    m = re.search(r"^probe: (.*)$", srv.log(), re.M)
    check(m and m.group(1) == "openat EACCES, clone3 ENOSYS",
          "the refused calls: %s\n%s" % (m and m.group(1), srv.log()))
    h.submit_ok(srv.url, "after the refused calls")

    h.step("stopped and continued (SIGSTOP, SIGCONT), it goes on serving")
    stop_and_continue(srv.proc)
    h.submit_ok(srv.url, "after SIGSTOP and SIGCONT")
    check(srv.stop() == 0, "serve did not stop cleanly:\n" + srv.log())
    sent = 3

    for what in KILLED:
        h.step("%s from inside serve: killed by SIGSYS, the store intact" % what)
        srv = inst.server(what).start(prefix=probed(h, what))
        h.submit_ok(srv.url, "before %s" % what)
        sent += 1
        srv.proc.send_signal(signal.SIGUSR2)
        rc = wait_exit(srv.proc)
        check(rc == -signal.SIGSYS, "%s: serve exited with %s, not killed by SIGSYS:\n%s" %
              (what, rc, srv.log()))
        check("was not killed" not in srv.log(), srv.log())
        check(submissions(h, inst) == sent, "%s: check does not count the %d submissions" %
              (what, sent))
    h.note("serve killed by SIGSYS", ", ".join(KILLED))

    h.step("started again, it serves")
    srv = inst.server("again").start()
    h.submit_ok(srv.url, "after the kills")
    check(srv.stop() == 0, "serve did not stop cleanly:\n" + srv.log())
    check(submissions(h, inst) == sent + 1, "the submissions after the kills")

    h.step("the API, confined, answers a signed fetch; execve kills it")
    key = nacl.signing.SigningKey.generate()
    inst.set_config("api_listen", '"127.0.0.1:0"')
    with open(inst.config_path, "a") as f:
        f.write('\n[[courier]]\nname = "test"\nkey = "%s"\n' %
                test_courier.sdsig(bytes(key.verify_key)))
    log = h.path("api.log")
    with open(log, "wb") as out:
        api = subprocess.Popen(probed(h, "execve") + [h.server_bin, "api", inst.dir],
                               stdout=out, stderr=out, stdin=subprocess.DEVNULL,
                               preexec_fn=harness._die_with_parent)

    def api_log():
        with open(log, "rb") as f:
            return f.read().decode("utf-8", "replace")
    t0 = time.monotonic()
    while not re.search(r"listening on https://127\.0\.0\.1:(\d+)/", api_log()):
        if api.poll() is not None or time.monotonic() - t0 > 20:
            api.kill()
            fail("sealdrop-server api did not listen:\n" + api_log())
        time.sleep(0.05)
    api.port = int(re.search(r"listening on https://127\.0\.0\.1:(\d+)/", api_log()).group(1))
    time.sleep(1.1)  # a request must be signed after the API started
    cert = os.path.join(inst.dir, "tls", "cert.pem")
    st, answer, _ = test_courier.raw(api, cert, test_courier.signed(
        key, inst.fingerprint, "GET", "/v1/bundle?resend=1"))
    check(st == 200 and "Sealdrop-Transfer" in answer, "a signed fetch: HTTP %d" % st)
    n = check_confined(api.pid, "api")
    stop_and_continue(api)
    st, _, _ = test_courier.raw(api, cert, test_courier.signed(key, inst.fingerprint, "GET",
                                                               "/v1/bundle"))
    check(st in (200, 204), "a fetch after SIGSTOP and SIGCONT: HTTP %d" % st)
    api.send_signal(signal.SIGUSR2)
    rc = wait_exit(api)
    if rc is None:
        api.kill()
    check(rc == -signal.SIGSYS, "api exited with %s, not killed by SIGSYS:\n%s" % (rc, api_log()))
    check(submissions(h, inst) == sent + 1, "the submissions after the API's kill")
    h.note("api", "%d threads confined; a fetch answered; execve killed it" % n)


if __name__ == "__main__":
    h = harness.Harness("sandbox", __doc__)
    if not h.sandbox_probe or h.seccomp != "on":
        print("sandbox: skipped: this build has no seccomp filter (SEALDROP_SECCOMP=OFF)")
        sys.exit(77)
    h.main(test)
