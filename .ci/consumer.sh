#!/usr/bin/env bash
# The package as a user installs it (docs/install.md): `npm pack`, then into a fresh project with
# `ignore-scripts=true` in its .npmrc, with this npm and with npm 10; each project runs a consumer's script
# (the shipped model on the shipped examples, top-1 checked), `npx pplcnet --version` and `npx pplcnet
# predict` (top-1 checked), and the newer one type-checks a consumer's TypeScript with skipLibCheck false.
# Needs dist/ built (npm test builds it) and the npm registry.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$root"
npm pack --silent --pack-destination "$work" >/dev/null
tarball="$(ls "$work"/pplcnet-*.tgz)"
version="$(node -p "require('./package.json').version")"
# the TypeScript and Node types this repository builds with, for the consumer's type check
typescript="$(node -p "require('./package-lock.json').packages['node_modules/typescript'].version")"
node_types="$(node -p "require('./package-lock.json').packages['node_modules/@types/node'].version")"

consumer() { # <folder> <npm command...>
  local dir="$work/$1"
  shift
  mkdir "$dir"
  cp "$root/.ci/consumer/"* "$dir/"
  cd "$dir"
  printf '{ "name": "consumer", "version": "1.0.0", "private": true, "type": "module" }\n' > package.json
  echo 'ignore-scripts=true' > .npmrc
  echo "== $* install $(basename "$tarball") ($("$@" --version))"
  "$@" install --no-audit --no-fund "$tarball" 2>&1 | tee install.log
  if grep -q 'ERR\|error' install.log; then echo 'the install printed an error' >&2; exit 1; fi
  node classify.mjs
  [ "$(npx --no-install pplcnet --version)" = "$version" ] || { echo 'npx pplcnet --version is not the packed version' >&2; exit 1; }
  # the installed predict (its one-file build) on a shipped example: the upside-down line's top-1
  row="$(npx --no-install pplcnet predict -q --json -m PP-LCNet_x0_25_textline_ori node_modules/pplcnet/models/examples/textline_upside_down.png)"
  case "$row" in *'"topk":[{"classId":1,"label":"180_degree"'*) ;; *) echo "npx pplcnet predict: unexpected row: $row" >&2; exit 1 ;; esac
  cd "$root"
}

consumer npm11 npm
consumer npm10 npx --yes npm@10
cd "$work/npm11"
npm install --no-audit --no-fund --save-dev "typescript@$typescript" "@types/node@$node_types" >/dev/null
npx --no-install tsc -p tsconfig.json
echo "consumer: installed, classified and type-checked"
