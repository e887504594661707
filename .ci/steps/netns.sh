#!/usr/bin/env bash
# Tests on real interfaces in network namespaces that the tests create themselves (veth
# pairs with MTU 1400 and 1280, private addresses that exist only inside the namespaces):
# the default `flute send` to IPv4 and IPv6 multicast delivers without IP fragments, an
# oversized --symbol-size is refused, --allow-fragmentation fragments. Needs root (CI is
# root) and iproute2; the tests fail, never skip, when a namespace cannot be created.
set -euo pipefail
if ! command -v ip >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2) >/dev/null
fi
ip -V
cargo test -p flute-cli --test netns -- --ignored
