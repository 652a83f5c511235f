#!/usr/bin/python3
"""deploy/onionbalance.yaml, checked with Onionbalance's own tools (Debian's
onionbalance 0.2.2), offline.

Onionbalance cannot reach the Tor network here, and its daemon does nothing
without a tor control port and the network: it connects first and reads its
instances' descriptors from the network. What it can do offline is what this
test runs: `onionbalance-config --no-interactive` makes the public address's
key and a config of its own; the shipped config, its placeholders filled in
with that key and two instance addresses, goes through the daemon's own
loader (`load_config_file`, the checks the daemon makes at start: services,
keys, instances, every address a valid v3 onion) and its key loading (the
address it would publish is the key's); the shipped file as it is, with
placeholders, and a config naming the public address as an instance are
refused by the same code. Each instance's tor lines (docs/OPERATIONS.md,
`HiddenServiceOnionbalanceInstance 1`) pass `tor --verify-config` beside
deploy/torrc."""
import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys

import harness
from harness import check

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def onion_address(pub):
    """A v3 onion address from an Ed25519 public key (rend-spec-v3)."""
    checksum = hashlib.sha3_256(b".onion checksum" + pub + b"\x03").digest()[:2]
    return base64.b32encode(pub + checksum + b"\x03").decode().lower()


def loader(config):
    """Runs Onionbalance's own config loading and key loading on `config`
    in a fresh Python; returns (ok, output)."""
    code = r"""
import sys
from onionbalance.hs_v3 import onionbalance as ob, service
my = ob.my_onionbalance
my.config_path = sys.argv[1]
data = my.load_config_file()
for s in data["services"]:
    svc = service.OnionbalanceService.__new__(service.OnionbalanceService)
    svc.is_priv_key_in_tor_format = False
    key, address = svc._load_service_keys(s, my.config_path)
    for i in s["instances"]:
        if i["address"].replace(".onion", "") == address.replace(".onion", ""):
            sys.exit("the public address is listed as an instance: " + address)
    print("publishes", address.replace(".onion", ""))
    print("instances", " ".join(i["address"] for i in s["instances"]))
"""
    r = subprocess.run(["/usr/bin/python3", "-c", code, config], capture_output=True,
                       text=True, timeout=60)
    return r.returncode == 0, r.stdout + r.stderr


def test(h):
    if shutil.which("onionbalance-config", path="/usr/sbin:/usr/bin") is None:
        harness.fail("onionbalance is not installed: apt-get install onionbalance "
                     "(deploy/install-deps.sh --test)")
    import nacl.signing

    h.step("onionbalance-config makes the public address's key, offline")
    out = h.path("ob")
    r = h.run([shutil.which("onionbalance-config", path="/usr/sbin:/usr/bin"), "--no-interactive", "-n", "2", "--output", out],
              expect=0)
    keys = [f for f in os.listdir(out) if f.endswith(".key")]
    check(len(keys) == 1, "onionbalance-config wrote keys %r" % keys)
    key = os.path.join(out, keys[0])
    public = keys[0][:-len(".key")]
    check(re.fullmatch(r"[a-z2-7]{56}", public), "the key's name is not an onion address: %r"
          % public)
    check(os.stat(key).st_mode & 0o777 == 0o600, "the key is not mode 0600")
    h.note("public address", public)

    h.step("the shipped config, filled in, loads with Onionbalance's own code")
    shipped = open(os.path.join(REPO, "deploy", "onionbalance.yaml")).read()
    for p in ("MASTER_KEY", "INSTANCE_A_ONION", "INSTANCE_B_ONION"):
        check(p in shipped, "deploy/onionbalance.yaml has no placeholder %s" % p)
    instances = [onion_address(bytes(nacl.signing.SigningKey.generate().verify_key))
                 for _ in range(2)]
    filled = (shipped.replace("/etc/onionbalance/private_keys/MASTER_KEY", key)
              .replace("INSTANCE_A_ONION", instances[0])
              .replace("INSTANCE_B_ONION", instances[1]))
    config = os.path.join(out, "sealdrop.yaml")
    with open(config, "w") as f:
        f.write(filled)
    ok, said = loader(config)
    check(ok, "Onionbalance refused the filled-in config:\n" + said)
    check("publishes " + public in said, "Onionbalance would publish another address:\n" + said)
    check("instances %s %s" % tuple(instances) in said, "the instances read back:\n" + said)

    h.step("the same code refuses the placeholders and the public address as an instance")
    raw = os.path.join(out, "as-shipped.yaml")
    with open(raw, "w") as f:
        f.write(shipped.replace("/etc/onionbalance/private_keys/MASTER_KEY", key))
    ok, said = loader(raw)
    check(not ok and "INSTANCE_A_ONION" in said,
          "Onionbalance took the placeholders as addresses:\n" + said)
    loop = os.path.join(out, "loop.yaml")
    with open(loop, "w") as f:
        f.write(filled.replace(instances[1], public))
    ok, said = loader(loop)
    check(not ok and "instance" in said, "the public address as an instance was taken:\n" + said)

    h.step("an instance's tor lines pass tor --verify-config beside deploy/torrc")
    hs_site, hs_api, data = h.path("hs-site"), h.path("hs-api"), h.path("tor-data")
    for d in (hs_site, hs_api, data):
        os.mkdir(d, 0o700)
    with open(os.path.join(hs_site, "ob_config"), "w") as f:
        f.write("MasterOnionAddress %s.onion\n" % public)
    torrc = open(os.path.join(REPO, "deploy", "torrc")).read()
    torrc = (torrc.replace("/var/lib/tor/sealdrop-api/", hs_api + "/")
             .replace("/var/lib/tor/sealdrop/", hs_site + "/")
             .replace("/run/sealdrop-api/", h.path("run-api") + "/")
             .replace("/run/sealdrop/", h.path("run-site") + "/"))
    # The lines docs/OPERATIONS.md adds to the source site's service.
    site = "HiddenServicePort 80 unix:%s/http.sock\n" % h.path("run-site")
    check(site in torrc, "deploy/torrc no longer has the site's HiddenServicePort line")
    torrc = torrc.replace(site, site + "HiddenServiceOnionbalanceInstance 1\n")
    path = h.path("torrc")
    with open(path, "w") as f:
        f.write(torrc + "DataDirectory %s\nDisableNetwork 1\n" % data)
    r = subprocess.run(["tor", "--verify-config", "-f", path], capture_output=True, text=True,
                       timeout=60)
    check(r.returncode == 0 and "Configuration was valid" in r.stdout,
          "tor --verify-config refused an instance's torrc:\n" + r.stdout + r.stderr)
    ops = open(os.path.join(REPO, "docs", "OPERATIONS.md")).read()
    check("HiddenServiceOnionbalanceInstance 1" in ops and "MasterOnionAddress" in ops,
          "docs/OPERATIONS.md does not give an instance's tor lines")


if __name__ == "__main__":
    harness.Harness("onionbalance", __doc__).main(test)
