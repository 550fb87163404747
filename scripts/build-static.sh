#!/usr/bin/env bash
# scripts/build-static.sh - builds the deployable artefact for provided.al2023:
#   dist/bootstrap     statically linked, stripped
#   dist/function.zip  bootstrap at the root, mode 0755, and the example transform spec
# Static libcurl/cJSON come from Debian's source packages (scripts/build-deps.sh, cached under
# build/deps); OpenSSL, zlib and libdeflate from Debian's .a files (libdeflate-dev ships libdeflate.a).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ETL_ROOT"

ensure_build_packages
scripts/build-deps.sh

jobs="$(nproc 2>/dev/null || echo 2)"
# A build folder configured for another source folder: `sam build` copies the checkout (build/
# included) to a scratch folder and runs the Makefile there, where cmake would stop with "source
# does not match the source used to generate cache". Configure that copy afresh; build/deps is
# relocatable (its .pc files use ${pcfiledir}) and is kept.
cache=build/static/CMakeCache.txt
if [ -f "$cache" ]; then
  configured="$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$cache")"
  if [ "$(realpath -m "$configured")" != "$(realpath -m "$ETL_ROOT")" ]; then
    log "build/static was configured for ${configured:-another folder}: configuring it afresh here"
    rm -rf build/static
  fi
fi
log "static build of bootstrap"
cmake -S . -B build/static -DCMAKE_BUILD_TYPE=Release -DETL_STATIC=ON -DETL_TESTS=OFF \
  -DETL_WERROR=ON -DETL_DEPS_PREFIX="$ETL_ROOT/build/deps/prefix" >/dev/null
# glibc warns that getaddrinfo/dlopen in a static binary need NSS modules at run time; hosts
# lookups through "files" and "dns" are built into glibc, which is what Lambda's image uses.
if ! cmake --build build/static --target bootstrap -j"$jobs" >build/static/build.log 2>&1; then
  tail -n 40 build/static/build.log >&2
  die "static build failed (full log: build/static/build.log)"
fi

mkdir -p dist
cp build/static/bootstrap dist/bootstrap.tmp
strip --strip-all dist/bootstrap.tmp
chmod 0755 dist/bootstrap.tmp
mv dist/bootstrap.tmp dist/bootstrap

desc="$(file -b dist/bootstrap)"
case "$desc" in
  *"statically linked"*) ;;
  *) die "dist/bootstrap is not statically linked: $desc" ;;
esac
size=$(stat -c %s dist/bootstrap)
max=$((8 * 1024 * 1024))
[ "$size" -le "$max" ] || die "dist/bootstrap is $size bytes, over the 8 MiB budget"

rm -f dist/function.zip
cp events/transform-single-table.json dist/transform-single-table.json
(cd dist && zip -q -X -9 function.zip bootstrap transform-single-table.json)
log "dist/bootstrap: $size bytes, $desc"
log "dist/function.zip: $(stat -c %s dist/function.zip) bytes"
log "$(python3 scripts/hot-text.py --check 2>&1)"
