#!/usr/bin/env bash
# Quick start, part 1: install everything, build, and run the main job (a local audit on the embedded model).
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
bash "$here/deps.sh"
bash "$here/build.sh"
bash "$here/main-job.sh"
