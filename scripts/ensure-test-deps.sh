#!/usr/bin/env bash
# Installs what the test suites need beyond npm packages. Idempotent and quiet when everything is
# present; project-local where it can be:
#   - .venv: moto server (the AWS API emulator the AWS adapter suites run against) and cfn-lint
#     (lints the synthesized CDK template), both pinned. A stamp file records the pins so a pin
#     change reinstalls and an unchanged one costs nothing.
#   - nginx (Debian package) for the fleet tests, when missing and we are root.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_PIN='moto[server]==5.2.5'
CFN_LINT_PIN='cfn-lint==1.58.0'
VENV=.venv
STAMP="$VENV/.certrotor-pins"
WANT="$MOTO_PIN $CFN_LINT_PIN"

say() { echo "ensure-test-deps: $*"; }
fail() {
  echo "ensure-test-deps: $*" >&2
  exit 1
}

# --- Python tools in a project-local venv ------------------------------------------------------
if ! [ -x "$VENV/bin/python" ] || ! [ -x "$VENV/bin/moto_server" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  command -v python3 >/dev/null 2>&1 ||
    fail "python3 is missing: install python3 and python3-venv (Debian: apt-get install python3 python3-venv)"
  if ! [ -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV" >/dev/null 2>&1 || {
      rm -rf "$VENV"
      fail "python3 -m venv failed: install python3-venv (Debian: apt-get install python3-venv)"
    }
  fi
  say "installing $WANT into $VENV"
  mkdir -p .cache/pip
  PIP_CACHE_DIR="$PWD/.cache/pip" "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "$MOTO_PIN" "$CFN_LINT_PIN" ||
    fail "pip install of $WANT into $VENV failed (see the output above)"
  echo "$WANT" >"$STAMP"
fi

# --- nginx (Debian package) ----------------------------------------------------------------------
if ! command -v nginx >/dev/null 2>&1 && ! [ -x /usr/sbin/nginx ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing nginx"
    apt-get update -qq >/dev/null
    package=nginx-light
    apt-cache show nginx-light >/dev/null 2>&1 || package=nginx
    log=$(mktemp)
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package" >"$log" 2>&1 || {
      cat "$log" >&2
      fail "apt-get install $package failed"
    }
    rm -f "$log"
  else
    say "nginx is missing and we are not root: install nginx (Debian: apt-get install nginx-light) for the fleet tests"
  fi
fi

# --- chromium (Debian package) for the fleet report's browser tests ------------------------------
if ! [ -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing chromium"
    apt-get update -qq >/dev/null
    log=$(mktemp)
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >"$log" 2>&1 || {
      cat "$log" >&2
      fail "apt-get install chromium failed"
    }
    rm -f "$log"
  else
    say "chromium is missing and we are not root: install chromium (Debian: apt-get install chromium) for the report tests"
  fi
fi

# --- Pebble (ACME test server) and pebble-challtestsrv (its DNS), built from the Go module proxy -----
# Project-local in .tools/bin, pinned; a stamp records the pin so an unchanged one costs nothing.
PEBBLE_MODULE='github.com/letsencrypt/pebble/v2'
PEBBLE_PIN='v2.10.3'
PEBBLE_BIN=.tools/bin
PEBBLE_STAMP="$PEBBLE_BIN/.certrotor-pebble-pin"
if ! [ -x "$PEBBLE_BIN/pebble" ] || ! [ -x "$PEBBLE_BIN/pebble-challtestsrv" ] ||
  [ "$(cat "$PEBBLE_STAMP" 2>/dev/null)" != "$PEBBLE_MODULE@$PEBBLE_PIN" ]; then
  if command -v go >/dev/null 2>&1; then
    say "building pebble and pebble-challtestsrv $PEBBLE_PIN into $PEBBLE_BIN"
    mkdir -p "$PEBBLE_BIN"
    for cmd in pebble pebble-challtestsrv; do
      GOBIN="$PWD/$PEBBLE_BIN" GOFLAGS=-mod=mod go install "$PEBBLE_MODULE/cmd/$cmd@$PEBBLE_PIN" ||
        fail "go install $PEBBLE_MODULE/cmd/$cmd@$PEBBLE_PIN failed (see the output above)"
    done
    echo "$PEBBLE_MODULE@$PEBBLE_PIN" >"$PEBBLE_STAMP"
  else
    say "go is missing: install Go (https://go.dev/dl/) for the ACME tests (Pebble $PEBBLE_PIN)"
  fi
fi
