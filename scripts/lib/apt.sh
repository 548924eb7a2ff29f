# apt-get for the bootstrap scripts (sourced by scripts/bootstrap and scripts/bootstrap-test-tools): as root or
# through sudo, `apt-get update` once per run, and a wait while another install holds apt's or dpkg's lock
# (BTT_APT_LOCK_WAIT seconds in all, 300 by default). Logs go to .venv/apt*.log.
# shellcheck shell=bash

APT_UPDATE_LOG="${APT_UPDATE_LOG:-.venv/apt-update.log}"
APT_LOCK_WAIT="${BTT_APT_LOCK_WAIT:-300}"
APT_LOCK_POLL="${BTT_APT_LOCK_POLL:-5}"
APT_LOCKED='Could not get lock|Unable to acquire the dpkg frontend lock|Unable to lock|is another process using it'
SUDO=""
apt_update_state=""  # "", then "ok" or "failed": apt-get update runs once for every package installed here

# apt_usable WHAT: whether apt-get can install here (root, or sudo); else a warning naming WHAT to install by hand.
apt_usable() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "warning: no apt-get: $1" >&2
    return 1
  fi
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "warning: not root and no sudo, so apt-get cannot run: $1" >&2
      return 1
    fi
    SUDO="sudo"
  fi
}

# apt_get LOG ARGS...: `apt-get ARGS` (as root), its output appended to LOG. While another install holds apt's or
# dpkg's lock, waits and tries again, until APT_LOCK_WAIT seconds after the lock was first found held (one wait for
# the whole run, not one per package); then fails with the log's line that names the lock.
apt_lock_deadline=""
apt_get() {
  local log=$1 held
  shift
  while true; do
    if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -q "$@" >>"$log" 2>&1; then
      return 0
    fi
    held=$(tail -n 5 "$log" | grep -E "$APT_LOCKED" | grep 'held by' | tail -n 1 || true)  # names the holder
    [ -n "$held" ] || held=$(tail -n 5 "$log" | grep -E "$APT_LOCKED" | tail -n 1 || true)
    if [ -z "$held" ]; then
      return 1  # failed for another reason than a lock
    fi
    if [ -z "$apt_lock_deadline" ]; then
      apt_lock_deadline=$((SECONDS + APT_LOCK_WAIT))
      echo "waiting for another install to release apt's lock ($held): trying again every ${APT_LOCK_POLL} s," \
           "for at most ${APT_LOCK_WAIT} s (BTT_APT_LOCK_WAIT) ..." >&2
    fi
    if [ "$SECONDS" -ge "$apt_lock_deadline" ]; then
      echo "error: apt's lock is still held by another install after ${APT_LOCK_WAIT} s ($held);" \
           "let it finish (or stop it), then run this again" >&2
      return 1
    fi
    sleep "$APT_LOCK_POLL"
  done
}

# apt_install LOG WHAT PACKAGE...: install Debian's PACKAGEs (apt-get update once first); on failure the log's tail
# and a warning that WHAT will fail.
apt_install() {
  local log=$1 what=$2
  shift 2
  : > "$log"
  if [ -z "$apt_update_state" ]; then
    : > "$APT_UPDATE_LOG"
    if apt_get "$APT_UPDATE_LOG" update; then apt_update_state=ok; else apt_update_state=failed; fi
  fi
  if ! apt_get "$log" install -y "$@"; then
    tail -n 20 "$log" >&2
    if [ "$apt_update_state" = failed ]; then
      echo "(apt-get update failed as well: $APT_UPDATE_LOG)" >&2
    fi
    echo "warning: could not install $* (full log: $log); $what" >&2
    return 1
  fi
}

