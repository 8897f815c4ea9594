#!/usr/bin/env bash
# Renders the DC/OS Universe package's Marathon app with an options file, as
# `dcos package install arangomesos --options=OPTIONS.json` does: the options
# are merged over universe/config.json's defaults and checked against it, the
# template is rendered, and the app is checked (Marathon's schema, the
# scheduler's flags and validation) before it is printed.
#
#   scripts/render-universe.sh OPTIONS.json [OUT.json]
#   scripts/render-universe.sh marathon/options.json > marathon/arangomesos.json
#
# An empty options file ({}) renders the defaults.
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 OPTIONS.json [OUT.json]" >&2
  exit 2
fi
. "$(dirname "$0")/package-lib.sh"
args=(--universe "$root/universe" --options "$(abspath "$1")")
if [ -f "$root/marathon/testdata/schemas/AppDefinition.json" ]; then
  args+=(--marathon-schema "$root/marathon/testdata/schemas/AppDefinition.json")
fi
if [ $# -eq 2 ]; then
  args+=(--out "$(abspath "$2")")
fi
arangomesos package render "${args[@]}"
