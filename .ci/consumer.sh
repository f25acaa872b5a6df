#!/usr/bin/env bash
# The consumer test: packs the library, installs the tarball into fresh projects as a user would, and checks that
#  - a plain install brings no PostgreSQL driver (the cluster's packages are optional peers), and `reactor coordinator`
#    then says what to install;
#  - with effect 3, a model compiles with tsc (strict, NodeNext, library .d.ts checked too, no @types/* installed),
#    runs headless under plain node, and runs under `reactor run` as a .ts file; a property test written with
#    effect-reactor/testing passes under vitest;
#  - with effect 4, npm refuses the install (peer range), and a forced install stops at startup with one clear line.
# Uses only the npm registry. Run by .ci/run; by hand: `bash .ci/consumer.sh`.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
npm_install() { npm install --no-audit --no-fund --loglevel=error "$@"; }
fail() { echo "consumer test FAILED: $*" >&2; exit 1; }

echo "== pack"
(cd "$repo" && npm pack --silent --pack-destination "$work" >/dev/null)
tarball="$(ls "$work"/effect-reactor-*.tgz)"
listing="$(tar tzf "$tarball")"
for unwanted in package/src/ package/test/ package/bench/ package/.ci/ package/examples/; do
  if grep -q "^$unwanted" <<<"$listing"; then fail "the tarball ships $unwanted"; fi
done

echo "== effect 3 project"
app="$work/app"
mkdir -p "$app"
cp "$repo"/.ci/consumer/{model.ts,model.test.ts,entries.ts,tsconfig.json,tsconfig.test.json} "$app/"
cat > "$app/package.json" <<'JSON'
{ "name": "consumer", "private": true, "type": "module" }
JSON
dev="$(node -p 'const d = require(process.argv[1]).devDependencies; ["typescript", "vitest", "@effect/vitest"].map((n) => n + "@" + d[n]).join(" ")' "$repo/package.json")"
(cd "$app" && npm_install "$tarball" "effect@3" $dev)
(cd "$app" && node -p '"effect " + require("effect/package.json").version')
if ls "$app/node_modules/@types" >/dev/null 2>&1; then echo "note: @types installed by dependencies: $(ls "$app/node_modules/@types" | tr '\n' ' ')"; fi

echo "== no cluster packages unless asked (optional peers: no PostgreSQL driver for a single machine)"
for absent in @effect/sql-pg pg; do
  if [ -e "$app/node_modules/$absent" ]; then fail "a plain install brought $absent"; fi
done
set +e
out="$(cd "$app" && npx reactor coordinator --database postgres://x@127.0.0.1:1/x --cluster-secret 0123456789 \
  --jwt-secret 0123456789abcdef0123 2>&1 </dev/null)"
code=$?
set -e
[ "$code" -eq 1 ] || fail "reactor coordinator without @effect/sql-pg exited $code: $out"
grep -q "the cluster needs @effect/sql-pg, which is not installed.*npm install @effect/cluster@" <<<"$out" ||
  fail "reactor coordinator without @effect/sql-pg did not say what to install: $out"
echo "reactor coordinator: $out"

echo "== tsc (strict, NodeNext)"
# The model with every .d.ts checked (skipLibCheck off) and no @types/*: the library's types must stand alone.
(cd "$app" && npx tsc -p tsconfig.json)
# The test and every entry point too (vitest's own .d.ts need @types/node, so the libraries' .d.ts are skipped there).
(cd "$app" && npx tsc -p tsconfig.test.json)

echo "== every entry point loads under plain node"
out="$(cd "$app" && node build/entries.js)" || fail "node build/entries.js: $out"
[ "$out" = "Model:object runIfMain:function ReactorClient:object Server:object CommandArbitrary:object ModelTest:object" ] ||
  fail "unexpected entry points: $out"

echo "== plain node, headless"
out="$(cd "$app" && node build/model.js --runtime headless --frames 3 --stats-every 0 </dev/null 2>&1)" || fail "node build/model.js: $out"
grep -q "session ended: stopped (--frames 3 reached)" <<<"$out" || fail "unexpected headless output: $out"

echo "== reactor run model.ts (TypeScript model file)"
out="$(cd "$app" && printf 'set_level level=7\n' | npx reactor run model.ts --runtime headless --frames 3 --stats-every 0 2>&1)" ||
  fail "reactor run model.ts: $out"
grep -q "ok set_level" <<<"$out" || fail "the command was not applied: $out"

echo "== property test with effect-reactor/testing"
(cd "$app" && npx vitest run --root . model.test.ts)

echo "== effect 4 project"
app4="$work/app4"
mkdir -p "$app4"
cp "$app/build/model.js" "$app4/model.js"
echo '{ "name": "consumer4", "private": true, "type": "module" }' > "$app4/package.json"
if out="$(cd "$app4" && npm_install "$tarball" "effect@4" 2>&1)"; then fail "npm installed effect 4 next to effect-reactor"; fi
grep -q "effect-reactor" <<<"$out" || fail "npm's refusal does not name effect-reactor: $out"
(cd "$app4" && npm_install --legacy-peer-deps "$tarball" "effect@4")
for run in "node model.js" "npx reactor run model.js"; do
  set +e
  out="$(cd "$app4" && $run 2>&1 </dev/null)"
  code=$?
  set -e
  [ "$code" -ne 0 ] || fail "$run exited 0 with effect 4"
  [ "$(wc -l <<<"$out")" -eq 1 ] || fail "$run printed more than one line: $out"
  grep -q '^effect-reactor: needs effect 3 (^3\..*) but found effect 4\..*; install a 3.x release' <<<"$out" ||
    fail "$run did not print the clear error: $out"
  echo "$run: $out"
done
echo "consumer test passed"
