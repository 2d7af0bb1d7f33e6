#!/usr/bin/env bash
# CI: the package as npm publishes it installs globally on a clean prefix, and there `audit --help`,
# `audit summary` and `man audit` work. npm pack runs `prepare` (the build: dist, the oclif
# manifest, the man pages), so the tarball never holds a stale manifest.
set -euo pipefail
cd "$(dirname "$0")/.."

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

tarball="$(npm pack --silent --pack-destination "$work" | tail -n 1)"
listing="$(tar -tzf "$work/$tarball")"
for wanted in package/oclif.manifest.json package/man/audit.1 package/dist/commands/search.js package/dist/cli/fast.cjs package/bin/package.json package/config/default.yaml; do
  grep -qx "$wanted" <<<"$listing" || { echo "check-pack: $wanted missing from $tarball" >&2; exit 1; }
done
if grep -qE '^package/(test|src|bench|examples)/' <<<"$listing"; then
  echo "check-pack: $tarball holds development files" >&2
  exit 1
fi

prefix="$work/prefix"
# npm 11 notes that it skipped auditkit's `prepare` (the build, for clones; the tarball is built):
# shown only if the install fails.
npm install -g --prefix "$prefix" --no-audit --no-fund --prefer-offline "$work/$tarball" >"$work/install.log" 2>&1 || { cat "$work/install.log" >&2; exit 1; }
export PATH="$prefix/bin:$PATH" MANPATH="$prefix/share/man" MANPAGER=cat PAGER=cat MANWIDTH=80
cd "$work" # nothing of the clone is at hand

audit --version | grep -q '^auditkit/' || { echo 'check-pack: audit --version (the fast path, dist/cli/fast.cjs) printed no version' >&2; exit 1; }
audit --help | grep -q '^  search ' || { echo 'check-pack: audit --help lists no search' >&2; exit 1; }
audit summary --dir "$OLDPWD/examples/logs" --all | grep -q '^Total entries: ' || { echo 'check-pack: audit summary printed no report' >&2; exit 1; }
man audit | grep -q 'EXIT STATUS' || { echo 'check-pack: man audit shows no page' >&2; exit 1; }
man audit-search | grep -q 'audit-search' || { echo 'check-pack: man audit-search shows no page' >&2; exit 1; }
echo "check-pack: $tarball installs, and audit --help, audit summary and man audit work"
