#!/usr/bin/env bash
# Installs what sealdrop needs (Debian 12, as root), builds it in Release and
# runs a demo server at https://127.0.0.1:8443/. Running it again reuses the
# demo in demo/ (git-ignored).
#
# DEMO ONLY: the demo reviewer key's passphrase sits beside it in
# demo/reviewer.passphrase, and the TLS certificate is self-signed. A real
# reviewer key is made on the air-gapped laptop and never leaves it.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
# Just the two tools it runs: the test suite's packages are not installed here.
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSEALDROP_TESTS=OFF
cmake --build build -j"$(nproc)" --target sealdrop-server sealdrop-review

server=build/server/sealdrop-server
review=build/review/sealdrop-review
umask 077
mkdir -p demo
if [ ! -f demo/reviewer.key ]; then
  { head -c 24 /dev/urandom | base64 | tr -d '/+='; echo
    echo "# DEMO ONLY: a real passphrase is never stored next to its key."; } > demo/reviewer.passphrase
  "$review" keygen --out demo/reviewer.key --passphrase-file demo/reviewer.passphrase
fi
if [ ! -f demo/instance/config.toml ]; then
  "$server" init demo/instance --recipient demo/reviewer.key.pub --listen 127.0.0.1:8443 \
    --name "sealdrop demo" --description "A demonstration instance: do not send real documents here."
fi
if [ ! -f demo/instance/tls/key.pem ]; then
  mkdir -p demo/instance/tls
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
    -subj "/CN=sealdrop demo" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout demo/instance/tls/key.pem -out demo/instance/tls/cert.pem 2>/dev/null
  chmod 600 demo/instance/tls/key.pem
fi
cat <<MSG

sealdrop demo (DEMO ONLY: self-signed certificate, passphrase stored beside the key)
  source site:  https://127.0.0.1:8443/
  export:       $server export demo/instance --out demo/bundle-\$(date +%s).sdb
  import:       $review import <bundle> --vault demo/vault --key demo/reviewer.key --passphrase-file demo/reviewer.passphrase --instance-fingerprint $("$server" check demo/instance | sed -n 's/^instance key //p')
  read:         $review list --vault demo/vault
                $review show <id> --vault demo/vault --key demo/reviewer.key --passphrase-file demo/reviewer.passphrase
                $review extract <id> --vault demo/vault --key demo/reviewer.key --passphrase-file demo/reviewer.passphrase --out demo/out

MSG
exec "$server" serve demo/instance
