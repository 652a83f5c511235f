#!/usr/bin/python3
"""Every record and stream version through the real tools (docs/FORMAT.md
"Items and streams", "Submission record"):

- a bundle exported by a server that wrote version 1 (secretstream) still
  imports and extracts byte for byte (tests/data/old/, made at commit 3991c3e);
- so does one of record version 2, whose sealed content keys carry no
  algorithm (tests/data/old/v2.sdb, made at commit bab0c48);
- what the server writes now is record version 3 with stream version 2, and a
  file of more than one read batch (64 chunks) extracts byte for byte on
  every core;
- a version-2 chunk altered inside the vault makes extract fail and leave no
  file behind.
"""
import hashlib
import os
import struct

import harness
from harness import check

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "old")


def bundle_records(path):
    """(version of each SUBMISSION record, [chunk payloads]) of a bundle."""
    with open(path, "rb") as f:
        b = f.read()
    pos, versions, chunks = 48, [], []
    while pos < len(b):
        kind, n = b[pos], struct.unpack_from("<I", b, pos + 1)[0]
        payload = b[pos + 5:pos + 5 + n]
        if kind == 1:
            check(payload[:4] == b"SDSU", "a SUBMISSION record without its magic")
            versions.append(payload[4])
        elif kind == 2:
            chunks.append(payload[24:])
        pos += 5 + n
    return versions, chunks


def test(h):
    h.step("a version-1 bundle imports and extracts")
    rv1 = harness.Reviewer(h, "v1", key=os.path.join(DATA, "reviewer.key"),
                           passfile=os.path.join(DATA, "pass"))
    vault1 = h.path("vault1")
    versions, _ = bundle_records(os.path.join(DATA, "v1.sdb"))
    check(versions == [1, 1], "the fixture should hold two version-1 records: %s" % versions)
    rv1.import_(os.path.join(DATA, "v1.sdb"), vault1, extra=["--trust-new-instance"], expect=0)
    subs = rv1.list(vault1)
    check(len(subs) == 2, "the v1 vault lists %d submissions, expected 2" % len(subs))
    with_files = [s for s in subs if s.get("files") == 2]
    check(len(with_files) == 1, "expected one submission with 2 files: %s" % subs)
    sid = with_files[0]["id"]
    shown = rv1.show(sid, vault1)
    check(shown["message"] == "Красный циркуляр — v1 fixture",
          "the v1 message reads %r" % shown["message"])
    out = h.path("out-v1")
    rv1.extract(sid, vault1, out)
    want = {"message.txt": hashlib.sha256("Красный циркуляр — v1 fixture".encode()).hexdigest(),
            "dosya.bin": "dfc8c41a993b4aac1dc7c90bfc38c02ade5fabae1e4b93cd11e97243b0916b6c",
            "notes.txt": "c38b1df0341575bfe1a941821a0935bfad18ce8556d81d1f531057984118f6a9"}
    got = {n: harness.sha256_file(os.path.join(out, n)) for n in os.listdir(out)}
    check(got == want, "v1 extract differs:\n got %s\nwant %s" % (got, want))
    h.note("version 1", "2 submissions imported; 3 files byte-identical")

    h.step("a record-version-2 bundle imports and extracts")
    vault_old = h.path("vault-record2")
    versions, _ = bundle_records(os.path.join(DATA, "v2.sdb"))
    check(versions == [2], "the fixture should hold one version-2 record: %s" % versions)
    rv1.import_(os.path.join(DATA, "v2.sdb"), vault_old, extra=["--trust-new-instance"], expect=0)
    sid_old = rv1.list(vault_old)[0]["id"]
    shown = rv1.show(sid_old, vault_old)
    check(shown["message"] == "Красная нотиса — v2 fixture",
          "the record-version-2 message reads %r" % shown["message"])
    out = h.path("out-record2")
    rv1.extract(sid_old, vault_old, out)
    akt = harness.sha256_file(os.path.join(out, "akt.txt"))
    check(akt == "c6b8a39f41e75d94f12046c648b4baf348d982ce5e9a6edf2bebee2b127ef031",
          "akt.txt differs after extract of a version-2 record: %s" % akt)
    h.note("record version 2", "imported; akt.txt byte-identical")

    h.step("the server writes record version 3; 20 MiB + 12345 bytes extract on every core")
    rv = harness.Reviewer(h)
    inst = harness.Instance(h, "inst", rv.pub)
    srv = inst.server().start()
    big = h.path("big.bin")
    with open(big, "wb") as f:
        f.write(os.urandom((20 << 20) + 12345))
    big_sha = harness.sha256_file(big)
    small = h.path("small.txt")
    with open(small, "wb") as f:
        f.write(b"short " * 10)
    h.submit_ok(srv.url, "version 2", [(big, "big.bin"), (small, "small.txt")])
    srv.stop()
    bundle = h.path("v2.sdb")
    check(inst.export(bundle) == 1, "the bundle should hold 1 submission")
    versions, chunks = bundle_records(bundle)
    check(versions == [3], "the server wrote records of version %s, expected [3]" % versions)
    full = [c for c in chunks if len(c) == 262144 + 16]
    check(len(full) >= 80, "expected 80+ full chunks of 262144 + 16 bytes, found %d" % len(full))
    vault = h.path("vault2")
    rv.import_(bundle, vault, extra=["--trust-new-instance"], expect=0)
    sid = rv.list(vault)[0]["id"]
    out = h.path("out-v2")
    rv.extract(sid, vault, out)
    check(harness.sha256_file(os.path.join(out, "big.bin")) == big_sha,
          "big.bin differs after a version-2 extract")
    with open(os.path.join(out, "small.txt"), "rb") as f:
        check(f.read() == b"short " * 10, "small.txt differs after a version-2 extract")
    h.note("version 2", "%d full chunks; big.bin and small.txt byte-identical" % len(full))

    h.step("a version-2 chunk altered in the vault: extract fails, leaves no file")
    db = os.path.join(vault, "data.mdb")
    with open(db, "r+b") as f:
        data = f.read()
        # A slice from the middle of chunk 70, past the first read batch.
        needle = full[70][1000:1064]
        at = data.find(needle)
        check(at >= 0, "chunk 70 not found in the vault's data.mdb")
        f.seek(at + 10)
        f.write(bytes([data[at + 10] ^ 0x01]))
    out = h.path("out-tampered")
    r = h.run([h.review_bin, "extract", sid, "--vault", vault, "--key", rv.key,
               "--passphrase-file", rv.passfile, "--out", out])
    check(r.returncode == 1, "extract of an altered chunk: exit %d, expected 1\n%s" %
          (r.returncode, r.stderr))
    check("authenticate" in r.stderr, "the error does not say the chunk failed to "
          "authenticate:\n%s" % r.stderr)
    left = sorted(os.listdir(out)) if os.path.isdir(out) else []
    check("big.bin" not in left, "extract left a partial big.bin behind: %s" % left)
    h.note("altered chunk", "refused: %s" % r.stderr.strip().splitlines()[0])


if __name__ == "__main__":
    harness.Harness("stream_versions", __doc__).main(test)
