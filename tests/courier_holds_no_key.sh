#!/usr/bin/env bash
# sealdrop-courier sits on a networked workstation: it must link nothing that
# opens a submission (X25519, content keys, streams) and no store. Its
# libsodium imports are checked against those sealdrop-review, which does
# open submissions, needs: the same check on the review tool must find them,
# or this test could not fail.
set -euo pipefail
courier=$1 review=$2
# The check needs the linker's dead-code removal; sanitizer builds keep every
# function (their metadata refers to all of them), so it runs on the Release
# build, which is what ships.
if [ "${SEALDROP_SANITIZED:-}" = 1 ]; then
  echo "skipped: an instrumented build keeps every function"; exit 77
fi
forbidden='(crypto_box_seal_open|crypto_box_open.*|crypto_box_beforenm|crypto_scalarmult.*|crypto_kx_.*|crypto_kdf_derive_from_key|crypto_aead_chacha20poly1305_ietf_decrypt|crypto_secretstream_xchacha20poly1305_(init_)?pull|mdb_.*)'
imports() { nm -D --undefined-only "$1" | awk '{print $NF}' | sed 's/@.*//'; }
control=$(imports "$review" | grep -Ex "$forbidden" || true)
if ! grep -qx crypto_box_seal_open <<<"$control"; then
  echo "FAIL: the check finds no crypto_box_seal_open in $review, which opens submissions:"
  echo "it would not notice one in the courier either"; exit 1
fi
found=$(imports "$courier" | grep -Ex "$forbidden" || true)
if [ -n "$found" ]; then
  echo "FAIL: $courier imports what opens submissions or a store:"; echo "$found"; exit 1
fi
echo "ok: $courier imports none of the $(wc -l <<<"$control") libsodium and LMDB functions sealdrop-review opens submissions and its vault with"
imports "$courier" | grep -E '^crypto_' | tr '\n' ' '; echo
