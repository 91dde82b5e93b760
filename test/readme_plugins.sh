#!/usr/bin/env bash
# Prints the README's component reference from the plugins' own option tables
# (`sluice describe TYPE --markdown`), so the README cannot drift from the code.
#   test/readme_plugins.sh BUILD_DIR            print the section
#   test/readme_plugins.sh BUILD_DIR --update   rewrite it in README.md
#   test/readme_plugins.sh BUILD_DIR --check    exit 1 when README.md is stale
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$1; MODE=${2:-print}
SLUICE="$BUILD/sluice"
[ -x "$SLUICE" ] || { echo "readme_plugins: $SLUICE is not built" >&2; exit 2; }
section() {
  echo "Installed types (\`sluice plugins\`), each with the keys it reads (\`sluice describe TYPE\`)."
  for kind in source channel sink interceptor; do
    "$SLUICE" plugins | awk -v k="${kind}s:" '
      /^[a-z]+s:$/ { on = ($0 == k); next }
      on && /^  [^ ]/ { print $1 }' | sort | while read -r t; do
      echo
      "$SLUICE" describe "$t" --markdown | awk -v k="$kind" 'NR == 1 && $3 != k { skip = 1 } !skip'
    done
  done
}
case "$MODE" in
  print) section ;;
  --update|--check)
    new=$(mktemp); trap 'rm -f "$new"' EXIT
    awk -v gen="$(section)" '
      /<!-- plugins:begin -->/ { print; print gen; skip = 1; next }
      /<!-- plugins:end -->/ { skip = 0 }
      !skip' "$ROOT/README.md" > "$new"
    if [ "$MODE" = --update ]; then cp "$new" "$ROOT/README.md"
    elif ! cmp -s "$new" "$ROOT/README.md"; then
      diff "$ROOT/README.md" "$new" | head -40
      echo "README.md's component reference is stale: run test/readme_plugins.sh $BUILD --update" >&2
      exit 1
    fi ;;
esac
