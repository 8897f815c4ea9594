#!/usr/bin/env bash
# Deploys the scheduler to Marathon (POST /v2/apps) and waits until it is
# healthy, i.e. the database cluster serves; then prints the scheduler's URL.
#
#   scripts/deploy-marathon.sh MARATHON_URL [APP.json] [--update] [--wait 20m]
#
# APP.json defaults to marathon/arangomesos.json. --update replaces an
# existing app's definition. Marathon's Authorization header, if it needs one
# (DC/OS: "token=$(dcos config show core.dcos_acs_token)"), comes from
# ARANGOMESOS_AUTHORIZATION.
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 MARATHON_URL [APP.json] [--update] [--wait DURATION]" >&2
  exit 2
fi
. "$(dirname "$0")/package-lib.sh"
marathon=$1
shift
app="$root/marathon/arangomesos.json"
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  app=$(abspath "$1")
  shift
fi
arangomesos package deploy --marathon "$marathon" --app "$app" "$@"
