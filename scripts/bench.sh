#!/usr/bin/env bash
# Runs every benchmark of the project once with its real processes and prints
# the results; docs/benchmarks.md explains the method and records the numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -p 1 -run '^$' -bench . -benchtime "${BENCH_TIME:-1x}" -timeout 60m ./... 2>&1 | tee bin/bench.txt
