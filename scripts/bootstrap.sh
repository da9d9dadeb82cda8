#!/usr/bin/env bash
# Brings the toolchain this repository needs (Node 24 LTS and pnpm) into .tools/ when the machine's
# own is missing or too old, then installs the workspace. Source it (`. scripts/bootstrap.sh`) to get
# PATH set; run it to only install. Needs nothing but bash, tar and npm (or a Node >= 24 with pnpm).
set -euo pipefail

TP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TP_TOOLS="$TP_ROOT/.tools"
NODE_MAJOR=24
PNPM_MAJOR=12

tp_log() { printf '[bootstrap] %s\n' "$*" >&2; }
tp_fail() { printf '[bootstrap] error: %s\n' "$*" >&2; exit 1; }

tp_arch() {
  case "$(uname -m)" in
    x86_64|amd64) echo x64 ;;
    aarch64|arm64) echo arm64 ;;
    *) tp_fail "unsupported CPU architecture $(uname -m); install Node $NODE_MAJOR and pnpm $PNPM_MAJOR by hand" ;;
  esac
}

# Fetches one npm package tarball into a directory and unpacks it there (strip the package/ prefix).
tp_fetch_npm() {
  local spec="$1" dest="$2" tmp
  command -v npm >/dev/null || tp_fail "npm is needed to fetch $spec (install Node.js with npm, or Node $NODE_MAJOR with pnpm)"
  tmp="$(mktemp -d)"
  tp_log "fetching $spec from the npm registry"
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null 2>"$tmp/err") || { cat "$tmp/err" >&2; tp_fail "npm pack $spec failed"; }
  rm -rf "$dest" && mkdir -p "$dest"
  tar xzf "$tmp"/*.tgz -C "$dest" --strip-components=1
  rm -rf "$tmp"
}

tp_node_ok() {
  local v
  v="$("$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null)" || return 1
  [ "$v" -ge "$NODE_MAJOR" ]
}

tp_bootstrap() {
  local arch
  arch="$(tp_arch)"
  mkdir -p "$TP_TOOLS/bin"
  if ! { [ -x "$TP_TOOLS/node/bin/node" ] && tp_node_ok "$TP_TOOLS/node/bin/node"; }; then
    # The machine's node, looked up without .tools/bin (on PATH as the README advises, `command -v node`
    # found the link itself, which then pointed at itself).
    local sys_path sys_node
    sys_path="$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$TP_TOOLS/bin" | paste -sd: - || true)"
    sys_node="$(PATH="$sys_path" command -v node || true)"
    if [ -n "$sys_node" ] && tp_node_ok "$sys_node"; then
      ln -sf "$sys_node" "$TP_TOOLS/bin/node"
    else
      tp_fetch_npm "node-linux-$arch@$NODE_MAJOR" "$TP_TOOLS/node"
      ln -sf "$TP_TOOLS/node/bin/node" "$TP_TOOLS/bin/node"
    fi
  fi
  if [ ! -x "$TP_TOOLS/pnpm/pnpm" ]; then
    # pnpm >= 11 ships a native binary; its own launcher downloads it on first use, which fails on
    # machines that only reach the npm registry, so fetch the platform package directly.
    tp_fetch_npm "@pnpm/exe.linux-$arch@$PNPM_MAJOR" "$TP_TOOLS/pnpm"
    chmod +x "$TP_TOOLS/pnpm/pnpm"
  fi
  ln -sf "$TP_TOOLS/pnpm/pnpm" "$TP_TOOLS/bin/pnpm"
  export PATH="$TP_TOOLS/bin:$PATH"
  tp_node_ok node || tp_fail "node on PATH is $(node -v), need >= $NODE_MAJOR"

  local stamp="$TP_ROOT/node_modules/.tp-lock-stamp"
  if [ ! -f "$stamp" ] || [ "$TP_ROOT/pnpm-lock.yaml" -nt "$stamp" ] || [ "$TP_ROOT/package.json" -nt "$stamp" ]; then
    tp_log "installing workspace dependencies (pnpm install)"
    local frozen=--frozen-lockfile
    [ -f "$TP_ROOT/pnpm-lock.yaml" ] || frozen=
    (cd "$TP_ROOT" && pnpm install $frozen --reporter=append-only >&2) || tp_fail "pnpm install failed"
    touch "$stamp"
  fi
}

tp_bootstrap
