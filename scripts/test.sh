#!/usr/bin/env bash
# Sets everything up on a fresh machine, then runs the whole test suite: build, lint, format check,
# unit tests, integration and end-to-end tests (real shoald processes, the real docker CLI).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run --silent lint
npm run --silent format:check
npm run --silent test:unit
npm run --silent test:integration
