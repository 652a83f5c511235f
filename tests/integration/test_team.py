#!/usr/bin/python3
"""A team of reviewers, each with their own key.

An instance made for two reviewers seals every submission to both: each
opens it with their own key in their own vault, and `show` names both key
ids and which one is theirs. Removing a reviewer from config.toml and
restarting the server affects new submissions only: those open for the one
left and are refused to the one removed, who still reads everything sealed
before, and acknowledges only what was sealed to him. `check` lists the
recipients by key id. Then alice rotates, one
command on each side (`sealdrop-review rotate`, `sealdrop-server set-key`):
after a restart new submissions are sealed to her new key only, and one
unlock of her keyring opens the submissions of before and after; set-key
refuses to bring back an older key, and the vault names the new key as one
it has not seen before."""
import json
import os
import re

import harness
from harness import check


def remove_recipient(inst, pub):
    """Drops the [[recipient]] table holding the key in `pub` from config.toml."""
    with open(pub) as f:
        key = f.read().strip()
    with open(inst.config_path) as f:
        config = f.read()
    head, *tables = config.split("[[recipient]]")
    kept = [t for t in tables if key not in t]
    check(len(kept) == len(tables) - 1, "config.toml has no [[recipient]] for %s" % pub)
    with open(inst.config_path, "w") as f:
        f.write(head + "".join("[[recipient]]" + t for t in kept))


def recipients(h, inst):
    """check's 'recipient <name>: key <id>' lines, as {id: line}."""
    r = h.run([h.server_bin, "check", inst.dir], expect=0)
    return {m.group(2): m.group(0)
            for m in re.finditer(r"^recipient (.+): key ([0-9a-f]{16}).*$", r.stdout, re.M)}


def show_text(h, rv, sid, vault, expect=0):
    return h.run([h.review_bin, "show", sid, "--vault", vault, "--key", rv.key,
                  "--passphrase-file", rv.passfile], expect=expect)


def test(h):
    alice = harness.Reviewer(h, "alice")
    bob = harness.Reviewer(h, "bob")
    inst = harness.Instance(h, "instance", [alice.pub, bob.pub])
    both = recipients(h, inst)
    check(len(both) == 2, "check lists %d recipients, not 2:\n%s" % (len(both), both))
    fp = ["--instance-fingerprint", inst.fingerprint]
    vault_a, vault_b = h.path("vault-alice"), h.path("vault-bob")

    with open(alice.pub) as f:
        alice_old_pub = f.read().strip()

    h.step("one submission, sealed to both reviewers")
    srv = inst.server().start()
    h.submit_ok(srv.url, "for the whole team")
    srv.stop()
    check(inst.export(h.path("one.sdb")) == 1, "the first export did not take 1 submission")
    r = alice.import_(h.path("one.sdb"), vault_a, extra=fp, expect=0)
    check("sealed to recipient keys" in r.stdout and "warning" not in r.stderr,
          "the first import should list the recipients, without a warning:\n" + r.stdout +
          r.stderr)
    bob.import_(h.path("one.sdb"), vault_b, extra=fp, expect=0)
    first = alice.list(vault_a)[0]["id"]
    sa, sb = alice.show(first, vault_a), bob.show(first, vault_b)
    check(sa["message"] == sb["message"] == "for the whole team",
          "the two reviewers read %r and %r" % (sa["message"], sb["message"]))
    check(sorted(sa["keys"]) == sorted(both), "show lists keys %s, check %s" %
          (sa["keys"], sorted(both)))
    check(sa["opened_with"] != sb["opened_with"] and {sa["opened_with"], sb["opened_with"]} ==
          set(both), "show names %s and %s as the keys that opened it" %
          (sa["opened_with"], sb["opened_with"]))
    text = show_text(h, alice, first, vault_a).stdout
    check(re.search(r"^keys: +%s \(yours\), %s$|^keys: +%s, %s \(yours\)$" %
                    (sa["opened_with"], sb["opened_with"], sb["opened_with"], sa["opened_with"]),
                    text, re.M), "show's keys line does not mark alice's key:\n" + text)

    h.step("bob is removed from config.toml; the server restarts")
    remove_recipient(inst, bob.pub)
    left = recipients(h, inst)
    check(list(left) == [sa["opened_with"]], "check lists %s after removing bob" % list(left))
    srv = inst.server("after").start()
    h.submit_ok(srv.url, "after bob left")
    srv.stop()
    check(inst.export(h.path("two.sdb")) == 1, "the second export did not take 1 submission")
    alice.import_(h.path("two.sdb"), vault_a, extra=fp, expect=0)
    second = [s["id"] for s in alice.list(vault_a) if s["id"] != first][0]
    s2 = alice.show(second, vault_a)
    check(s2["message"] == "after bob left" and s2["keys"] == [sa["opened_with"]],
          "the new submission: %r sealed to %s" % (s2["message"], s2["keys"]))

    h.step("bob cannot open the new submission, and still opens the old one")
    r = bob.import_(h.path("two.sdb"), vault_b, extra=fp)
    # Kept in bob's vault, but not acknowledged: his outbox must not let the
    # server delete what only alice can read.
    check(r.returncode == 0 and "1 are sealed to none of your keys" in r.stdout,
          "bob's import of a submission not sealed to him:\n" + r.stdout + r.stderr)
    o = bob.outbox(vault_b, h.path("bob.sdo"))
    check("0 replies and 1 acknowledgements" in o.stdout,
          "bob's outbox should acknowledge only the first submission:\n" + o.stdout)
    if r.returncode == 0:
        r = show_text(h, bob, second, vault_b, expect=None)
    else:
        r = show_text(h, bob, second, vault_a, expect=None)
    check(r.returncode != 0 and "after bob left" not in r.stdout,
          "bob opened a submission sealed after he was removed (exit %d):\n%s" %
          (r.returncode, r.stdout))
    check(re.search(r"^sealdrop-review: error: .+", r.stderr, re.M) and "hint:" in r.stderr,
          "bob's refusal has no error and hint:\n" + r.stderr)
    check(bob.show(first, vault_b)["message"] == "for the whole team",
          "bob can no longer read what was sealed to him before")
    h.step("alice rotates her key: rotate on the laptop, set-key on the server")
    old_id = sa["opened_with"]
    r = h.run([h.review_bin, "rotate", "--key", alice.key, "--passphrase-file", alice.passfile],
              expect=0)
    check("now holds 2 keys" in r.stdout, "rotate:\n" + r.stdout)
    check(os.stat(alice.key).st_mode & 0o777 == 0o600, "the keyring is not mode 0600")
    with open(alice.pub) as f:
        new_pub = f.read().strip()
    check(new_pub.startswith("sdpk1:2:"), "alice.key.pub after rotate: %r" % new_pub)
    r = h.run([h.server_bin, "set-key", inst.dir, "--name", old_id, "--key", alice.pub], expect=0)
    check("replaced by" in r.stdout, "set-key:\n" + r.stdout)
    for path in (inst.config_path, inst.dir):
        check(os.stat(path).st_mtime % 86400 == 0,
              "set-key left %s with a time that says when the key changed" % path)
    now = recipients(h, inst)
    check(len(now) == 1 and old_id not in now, "check lists %s after set-key" % list(now))
    new_id = list(now)[0]
    srv = inst.server("rotated").start()
    h.submit_ok(srv.url, "after alice rotated")
    srv.stop()
    check(inst.export(h.path("three.sdb")) == 1, "the third export did not take 1 submission")
    r = alice.import_(h.path("three.sdb"), vault_a, extra=fp, expect=0)
    # A key the vault never saw is named, whoever added it.
    check("has not seen before: %s." % new_id in r.stderr,
          "import did not name the new recipient key %s:\n%s" % (new_id, r.stderr))
    third = [s["id"] for s in alice.list(vault_a) if s["id"] not in (first, second)][0]
    # One command, one unlock of the keyring, old and new submissions.
    r = h.run([h.review_bin, "show", first, second, third, "--vault", vault_a, "--key", alice.key,
               "--passphrase-file", alice.passfile, "--json"], expect=0)
    shown = json.loads(r.stdout)
    check([s["message"] for s in shown] ==
          ["for the whole team", "after bob left", "after alice rotated"],
          "one unlock of the keyring read %s" % [s["message"] for s in shown])
    check(shown[2]["keys"] == [new_id] and shown[2]["opened_with"] == new_id and
          shown[0]["opened_with"] == old_id,
          "keys after the rotation: %s" % [(s["keys"], s["opened_with"]) for s in shown])
    text = show_text(h, alice, third, vault_a).stdout
    check(re.search(r"^keys: +%s \(yours\)$" % new_id, text, re.M),
          "show does not mark the new key as alice's:\n" + text)
    r = h.run([h.server_bin, "set-key", inst.dir, "--name", old_id, "--key", alice_old_pub],
              expect=2)
    check("is not above" in r.stderr, "set-key took back the older key:\n" + r.stderr)
    check(list(recipients(h, inst)) == [new_id], "a refused set-key changed config.toml")

    h.note("team", "2 reviewers: the first submission opens for both; after removing one, "
           "the next opens for the other only (refused to the removed: %s)" %
           r.stderr.strip().splitlines()[0])


if __name__ == "__main__":
    harness.Harness("team", __doc__).main(test)
