#!/usr/bin/python3
"""sealdrop-review against real bundles: wrong passphrase, instance
fingerprints (none, wrong, right, pinned), altered and truncated bundles,
repeated imports, a second server instance, repeated extraction, a hostile
file name, a key file others can read, and usage errors.
"""
import hashlib
import json
import os
import re
import secrets

import harness
from harness import check, fail


def ids(subs):
    return sorted(s["id"] for s in subs)


def vault_ids(rv, vault):
    return ids(rv.list(vault)) if os.path.exists(vault) else []


def snapshot(d):
    """name -> (sha256, inode, mtime_ns) for every file in d."""
    out = {}
    for name in os.listdir(d):
        p = os.path.join(d, name)
        st = os.stat(p)
        out[name] = (harness.sha256_file(p), st.st_ino, st.st_mtime_ns)
    return out


def usage_error(h, args, what):
    r = h.run([h.review_bin] + args)
    check(r.returncode == 2, "%s: exit %d, expected 2\n%s" % (what, r.returncode, r.stderr))
    check(r.stderr.startswith("sealdrop-review: error:"),
          "%s: stderr does not start with 'sealdrop-review: error:':\n%s" % (what, r.stderr))
    check("hint:" in r.stderr, "%s: stderr has no hint:\n%s" % (what, r.stderr))


def test(h):
    rv = harness.Reviewer(h)
    wrongpass = h.path("wrong.pass")
    with open(wrongpass, "w") as f:
        f.write("not the passphrase\n")

    h.step("instance A: three submissions, bundle 1")
    inst = harness.Instance(h, "instanceA", rv.pub)
    srv = inst.server("A").start()
    src = h.path("src")
    os.makedirs(src)
    report = os.path.join(src, "report.pdf")
    with open(report, "wb") as f:
        f.write(b"%PDF-1.4 not really\n" + os.urandom(300000))
    notes = os.path.join(src, "notes.txt")
    with open(notes, "w") as f:
        f.write("notes " + secrets.token_hex(16) + "\n")
    evil = os.path.join(src, "evil-local.txt")
    with open(evil, "w") as f:
        f.write("I want to escape " + secrets.token_hex(8) + "\n")
    h.submit_ok(srv.url, "first: files", [(report, "report.pdf"), (notes, "notes.txt")])
    # curl -F 'files=@local;filename=../../evil.txt', as the brief says.
    st, hd, body, rc, err = h.curl(srv.url + "/submit", [
        "--form-string", "message=second: traversal",
        "-F", "files=@%s;filename=../../evil.txt" % evil])
    check(st == 200, "the ../../evil.txt submission: HTTP %s %s" % (st, err))
    bundle1 = h.path("bundle1.sdb")
    check(inst.export(bundle1) == 2, "bundle 1 should hold 2 submissions")
    h.submit_ok(srv.url, "third: for bundle 2", [(notes, "again.txt")])
    h.submit_ok(srv.url, "fourth: for bundle 2")
    bundle2 = h.path("bundle2.sdb")
    check(inst.export(bundle2) == 2, "bundle 2 should hold 2 submissions")
    srv.stop()

    vault = h.path("vault")
    results = []
    fp = inst.fingerprint
    trust = ["--instance-fingerprint", fp]

    h.step("wrong passphrase")
    r = rv.import_(bundle1, vault, passfile=wrongpass, extra=trust)
    check(r.returncode == 1, "import with a wrong passphrase: exit %d, expected 1\n%s" %
          (r.returncode, r.stderr))
    check(vault_ids(rv, vault) == [], "a wrong passphrase still imported something")
    results.append("wrong passphrase: exit 1, nothing imported")

    h.step("UnknownInstanceRefusedOnNewVault: no fingerprint, no pin")
    r = rv.import_(bundle1, vault)
    check(r.returncode == 1, "a new vault, no --instance-fingerprint: exit %d, expected 1\n%s" %
          (r.returncode, r.stderr))
    check(r.stderr.startswith("sealdrop-review: error: bundle is signed by instance " + fp),
          "the refusal does not print the bundle's instance fingerprint:\n" + r.stderr)
    check("sealdrop-review: hint:" in r.stderr and "sealdrop-server init" in r.stderr and
          "--instance-fingerprint" in r.stderr,
          "the hint does not say to compare with init's key and pass --instance-fingerprint:\n" +
          r.stderr)
    check(not os.path.exists(vault), "a refused import created the vault")
    results.append("new vault, no flag: exit 1, prints the fingerprint, no vault made")

    h.step("WrongFingerprintRefused: another key given, new vault")
    wrong = "%064x" % (int(fp, 16) ^ 1)

    def refused_wrong(bundle, what):
        r = rv.import_(bundle, vault, extra=["--instance-fingerprint", wrong])
        check(r.returncode == 1, "a wrong fingerprint into %s: exit %d, expected 1\n%s" %
              (what, r.returncode, r.stderr))
        check(fp in r.stderr and wrong in r.stderr,
              "the refusal does not name both the signer and the fingerprint given:\n" + r.stderr)

    refused_wrong(bundle1, "a new vault")
    check(not os.path.exists(vault), "a wrong fingerprint created the vault")

    h.step("MalformedFingerprintIsUsageError")
    for bad in (fp[:16], fp + "00", fp[:-1] + "g"):
        r = rv.import_(bundle1, vault, extra=["--instance-fingerprint", bad])
        check(r.returncode == 2 and "hint:" in r.stderr,
              "--instance-fingerprint %s: exit %d, expected 2 with a hint\n%s" %
              (bad, r.returncode, r.stderr))
    usage_error(h, ["import", bundle1, "--vault", vault, "--key", rv.key, "--passphrase-file",
                    rv.passfile, "--trust-new-instance", "--instance-fingerprint", fp],
                "--trust-new-instance with --instance-fingerprint")
    check(not os.path.exists(vault), "a usage error created the vault")
    results.append("shortened or non-hex fingerprint, or both flags: exit 2")

    h.step("import bundle 1 with the fingerprint init printed (upper case, colons)")
    typed = ":".join(fp[i:i + 2] for i in range(0, len(fp), 2)).upper()
    r = rv.import_(bundle1, vault, extra=["--instance-fingerprint", typed], expect=0)
    check("the vault now trusts instance " + fp in r.stdout,
          "the import did not say it pinned the instance:\n" + r.stdout)
    before = vault_ids(rv, vault)
    check(len(before) == 2, "the vault holds %d submissions after bundle 1" % len(before))
    results.append("matching --instance-fingerprint (any case, colons): imported and pinned")

    h.step("WrongFingerprintRefused: another key given, the signer pinned")
    refused_wrong(bundle2, "a vault that pins the signer")
    check(vault_ids(rv, vault) == before, "a wrong fingerprint changed the vault")
    results.append("wrong --instance-fingerprint (new vault, pinned vault): exit 1, nothing stored")

    h.step("bundle 2 with one byte flipped (middle, near the start, near the end)")
    with open(bundle2, "rb") as f:
        whole = f.read()
    flipped = h.path("bundle2-flipped.sdb")
    mid = len(whole) // 2
    for pos in (mid, 12, len(whole) - 8):
        data = bytearray(whole)
        data[pos] ^= 0x01
        with open(flipped, "wb") as f:
            f.write(data)
        r = rv.import_(flipped, vault)
        check(r.returncode == 1, "import of a bundle with byte %d of %d flipped: exit %d, "
              "expected 1\n%s%s" % (pos, len(data), r.returncode, r.stdout, r.stderr))
        check(vault_ids(rv, vault) == before,
              "the vault changed after a bundle with byte %d flipped" % pos)
    results.append("one byte flipped (at %d of %d, and near each end): exit 1, vault unchanged"
                   % (mid, len(whole)))

    h.step("truncated bundle 2")
    truncated = h.path("bundle2-truncated.sdb")
    cuts = {"half": len(whole) // 2, "last byte": len(whole) - 1}
    for label, cut in cuts.items():
        with open(truncated, "wb") as f:
            f.write(whole[:cut])
        r = rv.import_(truncated, vault)
        check(r.returncode == 1, "import of bundle 2 cut to %d of %d bytes (%s): exit %d, "
              "expected 1\n%s%s" % (cut, len(whole), label, r.returncode, r.stdout, r.stderr))
        check(vault_ids(rv, vault) == before, "the vault changed after a truncated bundle")
    results.append("truncated (half, all but the last byte): exit 1, vault unchanged")

    h.step("bundle 2 twice, the instance pinned: no flag needed")
    rv.import_(bundle2, vault, expect=0)
    after2 = vault_ids(rv, vault)
    check(len(after2) == 4 and set(before) < set(after2),
          "after bundle 2 the vault holds %d submissions, expected 4" % len(after2))
    r = rv.import_(bundle2, vault, expect=0)
    check(vault_ids(rv, vault) == after2, "importing bundle 2 again changed the vault")
    check(len(rv.list(vault)) == 4, "importing bundle 2 again made duplicates")
    r1 = rv.import_(bundle1, vault, expect=0)
    check(len(rv.list(vault)) == 4, "importing bundle 1 again made duplicates")
    results.append("same bundle twice: no duplicates (4 submissions)")

    h.step("a bundle from a second instance with the same reviewer key")
    instb = harness.Instance(h, "instanceB", rv.pub)
    srvb = instb.server("B").start()
    h.submit_ok(srvb.url, "from instance B")
    srvb.stop()
    bundleb = h.path("bundleB.sdb")
    check(instb.export(bundleb) == 1, "instance B's bundle should hold 1 submission")
    r = rv.import_(bundleb, vault)
    check(r.returncode == 1, "a bundle from an unknown instance: exit %d, expected 1\n%s" %
          (r.returncode, r.stderr))
    check(instb.fingerprint in r.stderr and "--instance-fingerprint" in r.stderr,
          "the refusal does not print B's fingerprint and --instance-fingerprint:\n" + r.stderr)
    check(vault_ids(rv, vault) == after2, "the unknown instance's bundle changed the vault")
    # Naming instance A, already pinned, does not let B's bundle in.
    r = rv.import_(bundleb, vault, extra=trust)
    check(r.returncode == 1, "B's bundle with A's fingerprint: exit %d, expected 1\n%s" %
          (r.returncode, r.stderr))
    check(vault_ids(rv, vault) == after2, "B's bundle with A's fingerprint changed the vault")
    r = rv.import_(bundleb, vault, extra=["--trust-new-instance"], expect=0)
    check(r.stdout.startswith("trusting instance %s without checking it" % instb.fingerprint),
          "--trust-new-instance did not print the fingerprint it trusts first:\n" + r.stdout)
    check(len(rv.list(vault)) == 5, "--trust-new-instance did not import instance B's bundle")
    results.append("second instance: exit 1 (its fingerprint printed) until --trust-new-instance, "
                   "which prints it first")

    h.step("a forgotten instance's bundles are refused again; what it sent stays")
    r = h.run([h.review_bin, "instances", "--vault", vault], expect=0)
    check(instb.fingerprint in r.stdout and inst.fingerprint in r.stdout,
          "instances does not list both instances:\n" + r.stdout)
    r = h.run([h.review_bin, "instances", "--vault", vault, "--forget", instb.fingerprint],
              expect=0)
    check(instb.fingerprint not in h.run([h.review_bin, "instances", "--vault", vault],
                                         expect=0).stdout, "instance B is still listed")
    check(len(rv.list(vault)) == 5, "forgetting instance B removed what it sent")
    srvb = instb.server("B2").start()
    h.submit_ok(srvb.url, "from instance B after it was forgotten")
    srvb.stop()
    bundleb2 = h.path("bundleB2.sdb")
    check(instb.export(bundleb2) == 1, "instance B's second bundle should hold 1 submission")
    r = rv.import_(bundleb2, vault)
    check(r.returncode == 1 and instb.fingerprint in r.stderr,
          "a forgotten instance's bundle: exit %d, expected 1\n%s" % (r.returncode, r.stderr))
    check(len(rv.list(vault)) == 5, "the forgotten instance's bundle changed the vault")
    r = h.run([h.review_bin, "instances", "--vault", vault, "--forget", instb.fingerprint],
              expect=2)
    check("does not trust" in r.stderr, "forgetting twice:\n" + r.stderr)

    # Find the submissions by their messages.
    by_msg = {}
    for sub in rv.list(vault):
        by_msg[rv.show(sub["id"], vault)["message"]] = sub["id"]
    check(set(by_msg) == {"first: files", "second: traversal", "third: for bundle 2",
                          "fourth: for bundle 2", "from instance B"},
          "unexpected messages in the vault: %s" % sorted(by_msg))

    h.step("show and extract of several ids, one unlock")
    three = [by_msg[m] for m in ("first: files", "third: for bundle 2", "from instance B")]
    base = [h.review_bin, "--vault", vault, "--key", rv.key, "--passphrase-file", rv.passfile]
    r = h.run([h.review_bin, "show"] + [i[:8] for i in three] + base[1:] + ["--json"], expect=0)
    got = json.loads(r.stdout)
    check(isinstance(got, list) and [g["message"] for g in got] ==
          ["first: files", "third: for bundle 2", "from instance B"],
          "show of three ids gave %s" % r.stdout[:500])
    r = h.run([h.review_bin, "show"] + three + base[1:], expect=0)
    check(r.stdout.count("\nkeys:") == 3 and "from instance B" in r.stdout,
          "show of three ids as text:\n" + r.stdout)
    # An unknown id among them: refused before the passphrase, nothing shown.
    r = h.run([h.review_bin, "show", three[0], "0123456789ab"] + base[1:], expect=2)
    check(r.stdout == "" and "list --vault" in r.stderr,
          "show with an unknown id printed %r / %r" % (r.stdout, r.stderr))
    nested = h.path("new", "nested", "cases")
    r = h.run([h.review_bin, "extract"] + three[:2] + base[1:] + ["--out", nested], expect=0)
    check(sorted(os.listdir(nested)) == sorted(three[:2]),
          "extract of two ids into a new nested directory made %s" % os.listdir(nested))
    check(sorted(os.listdir(os.path.join(nested, three[0]))) ==
          ["message.txt", "notes.txt", "report.pdf"],
          "the first of two extracted holds %s" % os.listdir(os.path.join(nested, three[0])))
    check(harness.sha256_file(os.path.join(nested, three[0], "report.pdf")) ==
          harness.sha256_file(report), "report.pdf differs after a batch extraction")
    check(os.stat(h.path("new")).st_mode & 0o777 == 0o700, "a made parent of --out is not 0700")
    results.append("show/extract of several ids: one passphrase, --out parents made")

    h.step("extract twice into one directory")
    out = h.path("out-twice")
    first = rv.extract(by_msg["first: files"], vault, out)
    check(sorted(os.listdir(out)) == ["message.txt", "notes.txt", "report.pdf"],
          "first extract wrote %s" % sorted(os.listdir(out)))
    check(harness.sha256_file(os.path.join(out, "report.pdf")) == harness.sha256_file(report),
          "report.pdf differs after extraction")
    snap = snapshot(out)
    second = rv.extract(by_msg["first: files"], vault, out)
    want = ["message (2).txt", "message.txt", "notes (2).txt", "notes.txt", "report (2).pdf",
            "report.pdf"]
    check(sorted(os.listdir(out)) == want, "after the second extract: %s, expected %s" %
          (sorted(os.listdir(out)), want))
    check(sorted(os.path.basename(p) for p in second) ==
          ["message (2).txt", "notes (2).txt", "report (2).pdf"],
          "the second extract printed %s" % second)
    now = snapshot(out)
    for name, v in snap.items():
        check(now[name] == v, "%s was touched by the second extract" % name)
    for a, b in (("report.pdf", "report (2).pdf"), ("notes.txt", "notes (2).txt"),
                 ("message.txt", "message (2).txt")):
        check(now[a][0] == now[b][0], "%s and %s differ" % (a, b))
    results.append("extract twice: ' (2)' names, originals untouched")

    h.step("a file named ../../evil.txt")
    deep = h.path("a", "b", "out")
    os.makedirs(os.path.dirname(deep))
    shown = rv.show(by_msg["second: traversal"], vault)
    check([f["name"] for f in shown["files"]] == ["evil.txt"],
          "show names the file %s" % [f["name"] for f in shown["files"]])
    written = rv.extract(by_msg["second: traversal"], vault, deep)
    real_out = os.path.realpath(deep)
    for p in written:
        check(os.path.realpath(p).startswith(real_out + os.sep),
              "extract wrote %s, outside --out %s" % (p, deep))
    check(sorted(os.listdir(deep)) == ["evil.txt", "message.txt"],
          "extract wrote %s" % sorted(os.listdir(deep)))
    check(harness.sha256_file(os.path.join(deep, "evil.txt")) == harness.sha256_file(evil),
          "evil.txt's content differs")
    for d, _dirs, files in os.walk(h.tmp):
        if "evil.txt" in files:
            check(os.path.realpath(d) == real_out, "an evil.txt appeared in %s" % d)
    results.append("../../evil.txt: written as evil.txt inside --out only")

    h.step("a key file others can read")
    os.chmod(rv.key, 0o644)
    try:
        for args in (["import", bundle2, "--vault", vault],
                     ["extract", by_msg["fourth: for bundle 2"], "--vault", vault,
                      "--out", h.path("out-644")]):
            r = h.run([h.review_bin] + args + ["--key", rv.key, "--passphrase-file",
                                               rv.passfile])
            check(r.returncode == 2, "%s with a 0644 key: exit %d, expected 2\n%s" %
                  (args[0], r.returncode, r.stderr))
            check("chmod 600" in r.stderr, "%s with a 0644 key: no 'chmod 600' advice:\n%s" %
                  (args[0], r.stderr))
        check(not os.path.exists(h.path("out-644")), "extract wrote files with a 0644 key")
    finally:
        os.chmod(rv.key, 0o600)
    results.append("key mode 0644: exit 2 (import, extract)")

    h.step("usage errors")
    usage_error(h, [], "no subcommand")
    usage_error(h, ["list", "--vault", vault, "--bogus"], "a bad flag")
    usage_error(h, ["frobnicate"], "an unknown subcommand")
    usage_error(h, ["import", bundle1, "--vault", vault], "import without --key")
    results.append("usage errors: exit 2, 'sealdrop-review: error:' and a hint")

    for line in results:
        h.note("checked", line)


if __name__ == "__main__":
    harness.Harness("review_cli", __doc__).main(test)
