#!/usr/bin/env bash
# Install the project with its test and ray extras (CPU torch pinned first) and run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q torch==2.13.0
python3 -m pip install -q -e '.[test,ray]'
# Pixels depend on the CPU thread count: the tests run torch with one thread.
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PIPELINE_THREADS=1
# The two-node Ray cluster test (about a minute) runs here too; PIPELINE_TEST_RAY_CLUSTER=0 leaves it out.
export PIPELINE_TEST_RAY_CLUSTER="${PIPELINE_TEST_RAY_CLUSTER:-1}"
exec python3 -m pytest -q "$@"
