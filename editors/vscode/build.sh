#!/usr/bin/env bash
# Builds dslc-<version>.vsix here: installs the locked node packages, runs the grammar tests, packages.
set -euo pipefail
cd "$(dirname "$0")"
npm ci
npm test
npm run package
ls -l ./*.vsix
