#!/usr/bin/env bash
# Removes the scheduler and its database cluster: asks the scheduler to
# uninstall (POST /v1/uninstall: kill every task, destroy the volumes,
# unreserve, tear the framework down, delete its state), waits until it
# reports done, and only then deletes the Marathon app, so that nothing is
# left behind and Marathon does not restart a scheduler without state.
#
#   scripts/remove-marathon.sh MARATHON_URL [APP_ID] [--token-file FILE] [--scheduler URL]
#
# APP_ID defaults to /arangomesos. The scheduler's API token comes from
# --token-file, --token or ARANGOMESOS_TOKEN; the scheduler's URL is found
# through Marathon unless --scheduler gives it (on DC/OS, where the task's
# host may not be reachable: https://<dcos>/service/<name>).
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 MARATHON_URL [APP_ID] [--token-file FILE] [--scheduler URL] [--skip-uninstall]" >&2
  exit 2
fi
. "$(dirname "$0")/package-lib.sh"
marathon=$1
shift
app_id=/arangomesos
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  app_id=$1
  shift
fi
arangomesos package remove --marathon "$marathon" --app-id "$app_id" "$@"
