#!/usr/bin/env bash
# sealdrop-review runs on the air-gapped laptop: it must link no TLS or HTTP
# library and call no socket function, so it cannot reach a network even if
# told to.
set -euo pipefail
bin=$1
if ldd "$bin" | grep -Eq 'libssl|libcrypto|libcurl|httplib'; then
  echo "FAIL: $bin links a network library:"; ldd "$bin"; exit 1
fi
calls=$(nm -D --undefined-only "$bin" | awk '{print $NF}' |
        grep -Ex '(socket|connect|bind|listen|accept4?|getaddrinfo|gethostbyname|sendto|recvfrom)(@.*)?' || true)
if [ -n "$calls" ]; then
  echo "FAIL: $bin calls socket functions: $calls"; exit 1
fi
echo "ok: $bin links no network library and calls no socket function"
