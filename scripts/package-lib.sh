# Shared by render-universe.sh, deploy-marathon.sh and remove-marathon.sh:
# the repository root, absolute paths for the caller's arguments, and the
# arangomesos binary ($ARANGOMESOS_BIN, or built into bin/ from this checkout).
# Sourced, not run.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

abspath() {
  case "$1" in
    /* | -) printf '%s' "$1" ;;
    *) printf '%s/%s' "$PWD" "$1" ;;
  esac
}

arangomesos() {
  if [ -z "${ARANGOMESOS_BIN:-}" ]; then
    ARANGOMESOS_BIN="$root/bin/arangomesos"
    go -C "$root" build -o "$ARANGOMESOS_BIN" ./cmd/arangomesos
  fi
  "$ARANGOMESOS_BIN" "$@"
}
