#!/usr/bin/env bash
# Rewrites proofs/certificates/ by running every `ccsep` command listed in proofs/*.md.
# Run after a deliberate change to a certificate format or a search; tests/proofs.rs then
# checks that the committed files are exactly what the commands write.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
rm -rf proofs/certificates
awk '/^```/{f=!f; next} f && /^ccsep /' proofs/*.md | while read -r line; do
  echo "+ $line"
  ./target/release/${line} > /dev/null
done
