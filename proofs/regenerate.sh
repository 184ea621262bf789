#!/usr/bin/env bash
# Rewrites proofs/certificates/ by running every `ccsep` command listed in proofs/*.md.
# Run after a deliberate change to a certificate format or a search; tests/proofs.rs then
# checks that the committed files are exactly what the commands write. (The ```printed fences
# are rewritten by `PROOFS_UPDATE=1 cargo test --release --test proofs`.)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
rm -rf proofs/certificates
mkdir -p proofs/certificates  # witnesses are written straight into it
# Commands are the `ccsep ` lines of fences other than ```printed (those hold output).
awk '/^```/{ if (!f) { f = 1; p = ($0 ~ /^```printed/) } else f = 0; next } f && !p && /^ccsep /' proofs/*.md | while read -r line; do
  echo "+ $line"
  ./target/release/${line} > /dev/null
done
