#!/usr/bin/env bash
# Build a cached, static-only dependency prefix for the static `bootstrap`:
#
#   build/deps/prefix/
#     include/curl/*.h            libcurl headers
#     include/cjson/cJSON.h       cJSON headers (+ cJSON_Utils.h)
#     lib/libcurl.a               libcurl: HTTP/HTTPS only, OpenSSL + zlib, threaded resolver
#     lib/libcjson.a              cJSON + cJSON_Utils
#     lib/pkgconfig/libcurl.pc    relocatable, `pkg-config --static` gives the full link line
#     lib/pkgconfig/libcjson.pc
#     bin/curl-config
#     .stamp                      cache key (script hash + toolchain) and source versions
#
# Sources are Debian's own source packages (`apt-get source curl cjson`, i.e.
# Debian 12: curl 7.88.1 and cjson 1.7.15 with Debian's security patches),
# unpacked under build/deps/src/. OpenSSL, zlib and zstd are not built: Debian's
# libssl.a / libcrypto.a / libz.a / libzstd.a (libssl-dev, zlib1g-dev, libzstd-dev) are
# linked as they are.
#
# Usage: scripts/build-deps.sh [--force]
#   --force (or DEPS_FORCE=1)  rebuild even when the stamp matches (also picks
#                              up newer Debian source package revisions).
# Environment: DEPS_JOBS (default: nproc).
#
# Consumers:
#   PKG_CONFIG_PATH=build/deps/prefix/lib/pkgconfig pkg-config --static --cflags --libs libcurl libcjson
set -euo pipefail

SCRIPT_PATH="$(readlink -f "${BASH_SOURCE[0]}")"
ROOT="$(cd "$(dirname "$SCRIPT_PATH")/.." && pwd -P)"
readonly SCRIPT_PATH ROOT
readonly DEPS="$ROOT/build/deps"
readonly PREFIX="$DEPS/prefix"
readonly SRC="$DEPS/src"
readonly STAMP="$PREFIX/.stamp"

# Upstream versions we expect from Debian 12 (bookworm). Debian revisions
# (e.g. 7.88.1-10+deb12uN) float with security updates and are recorded in
# the stamp.
readonly CURL_UPSTREAM=7.88.1
readonly CJSON_UPSTREAM=1.7.15

# Packages needed to build. autoconf/automake/libtool: Debian's curl patches
# touch configure.ac / Makefile.am / Makefile.inc, so (like debian/rules) we
# regenerate the build system with autoreconf.
readonly NEEDED_PKGS=(build-essential dpkg-dev pkg-config cmake autoconf automake libtool
                      libssl-dev zlib1g-dev libzstd-dev file zip)
# Packages whose versions go into the cache key (headers/libs we compile or link against).
readonly KEY_PKGS=(libssl-dev zlib1g-dev libzstd-dev libc6-dev gcc)

readonly OPT_CFLAGS="-O2 -fPIC -ffunction-sections -fdata-sections -fstack-protector-strong"
readonly OPT_CPPFLAGS="-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2"

FORCE="${DEPS_FORCE:-0}"
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,25p' "$SCRIPT_PATH"; exit 0 ;;
    *) echo "deps: unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

log()  { printf 'deps: %s\n' "$*"; }
die()  { printf 'deps: ERROR: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------------------
# Cache check: must stay fast (no apt, no network).
# ---------------------------------------------------------------------------
cache_key() {
  local script_hash toolchain
  script_hash="$(sha256sum "$SCRIPT_PATH" | cut -d' ' -f1)"
  # dpkg-query prints nothing for missing packages; that simply makes the key differ.
  toolchain="$(dpkg-query -W -f='${Package}=${Version} ' "${KEY_PKGS[@]}" 2>/dev/null || true)"
  printf 'script-sha256=%s\ntoolchain=%s\n' "$script_hash" "${toolchain% }"
}

outputs_present() {
  local f
  for f in include/curl/curl.h include/cjson/cJSON.h lib/libcurl.a lib/libcjson.a \
           lib/pkgconfig/libcurl.pc lib/pkgconfig/libcjson.pc; do
    [[ -s "$PREFIX/$f" ]] || return 1
  done
}

KEY="$(cache_key)"
exit_if_cached() {
  if [[ "$FORCE" != 1 && -f "$STAMP" ]] && outputs_present \
     && [[ "$(grep -E '^(script-sha256|toolchain)=' "$STAMP")" == "$KEY" ]]; then
    log "cached (curl $(sed -n 's/^curl=//p' "$STAMP"), cjson $(sed -n 's/^cjson=//p' "$STAMP")) in ${PREFIX#"$ROOT"/}"
    exit 0
  fi
}
exit_if_cached

# Serialize concurrent runs (e.g. two builds started at once); the first one
# builds, the others then find a valid stamp.
mkdir -p "$DEPS"
exec 9>"$DEPS/.lock"
if command -v flock >/dev/null 2>&1; then
  flock -n 9 || { log "waiting for another build-deps.sh run to finish"; flock 9; }
  exit_if_cached
fi

T0=$SECONDS
if [[ "$FORCE" == 1 ]]; then log "forced rebuild"; else log "no valid stamp in ${PREFIX#"$ROOT"/}; building"; fi

# ---------------------------------------------------------------------------
# Privileges and apt.
# ---------------------------------------------------------------------------
SUDO=()
if [[ "$(id -u)" != 0 ]]; then
  if have sudo; then SUDO=(sudo -n); else SUDO=(); fi
fi
as_root() {
  if [[ "$(id -u)" == 0 ]]; then "$@"
  elif [[ ${#SUDO[@]} -gt 0 ]]; then "${SUDO[@]}" "$@"
  else die "need root for: $* (not root and sudo is not available)"; fi
}

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)
APT_UPDATED=0
apt_update_once() {
  if [[ $APT_UPDATED == 0 ]]; then
    log "apt-get update"
    as_root apt-get "${APT_OPTS[@]}" -q update >/dev/null || die "apt-get update failed"
    APT_UPDATED=1
  fi
}

have dpkg-query || die "dpkg-query not found: this script expects Debian 12 (bookworm)"
have apt-get || die "apt-get not found: this script expects Debian 12 (bookworm)"

# Returns success if a deb-src entry is configured anywhere.
deb_src_configured() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] && grep -qE '^[[:space:]]*deb-src[[:space:]]' "$f" && return 0
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    # A stanza is enabled unless it has "Enabled: no".
    awk 'BEGIN{RS=""; IGNORECASE=1; found=0}
         /(^|\n)Types:[^\n]*deb-src/ && !/(^|\n)Enabled:[[:space:]]*no/ {found=1}
         END{exit found?0:1}' "$f" && return 0
  done
  return 1
}

SRC_LIST_SOURCES=/etc/apt/sources.list.d/ddb-s3-etl-src.sources
SRC_LIST_LEGACY=/etc/apt/sources.list.d/ddb-s3-etl-src.list
add_deb_src() {
  local tmp f
  tmp="$(mktemp)"
  # deb822 files: copy every enabled "Types: deb" stanza as "Types: deb-src".
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" && "$f" != "$SRC_LIST_SOURCES" ]] || continue
    awk 'BEGIN{RS=""; ORS="\n\n"}
         {
           n = split($0, L, "\n"); out = ""; isdeb = 0; enabled = 1
           for (i = 1; i <= n; i++) {
             line = L[i]
             if (line ~ /^[[:space:]]*#/) continue
             if (tolower(line) ~ /^types:/) {
               if (line ~ /(^|[[:space:]:])deb([[:space:]]|$)/) isdeb = 1
               line = "Types: deb-src"
             }
             if (tolower(line) ~ /^enabled:[[:space:]]*no/) enabled = 0
             out = out line "\n"
           }
           if (isdeb && enabled) printf "%s\n", out
         }' "$f" >>"$tmp"
  done
  if [[ -s "$tmp" ]]; then
    log "adding deb-src entries: $SRC_LIST_SOURCES"
    as_root install -m 0644 "$tmp" "$SRC_LIST_SOURCES"
  else
    # One-line format (/etc/apt/sources.list, *.list).
    : >"$tmp"
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [[ -f "$f" && "$f" != "$SRC_LIST_LEGACY" ]] || continue
      sed -nE 's/^[[:space:]]*deb([[:space:]])/deb-src\1/p' "$f" >>"$tmp"
    done
    [[ -s "$tmp" ]] || { rm -f "$tmp"; die "no Debian 'deb' entries found in /etc/apt to derive deb-src entries from"; }
    log "adding deb-src entries: $SRC_LIST_LEGACY"
    as_root install -m 0644 "$tmp" "$SRC_LIST_LEGACY"
  fi
  rm -f "$tmp"
}

missing=()
for p in "${NEEDED_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done

NEED_SRC_INDEX=0
if ! deb_src_configured; then
  add_deb_src
  NEED_SRC_INDEX=1
elif [[ -z "$(apt-cache showsrc --only-source curl 2>/dev/null | head -c1)" \
     || -z "$(apt-cache showsrc --only-source cjson 2>/dev/null | head -c1)" ]]; then
  NEED_SRC_INDEX=1
fi

if [[ ${#missing[@]} -gt 0 || $NEED_SRC_INDEX == 1 ]]; then
  apt_update_once
fi
if [[ ${#missing[@]} -gt 0 ]]; then
  log "installing: ${missing[*]}"
  as_root apt-get "${APT_OPTS[@]}" -q -y --no-install-recommends install "${missing[@]}" >/dev/null \
    || die "apt-get install failed for: ${missing[*]}"
else
  log "build packages present"
fi

for t in gcc ar make pkg-config autoreconf libtoolize dpkg-source patch; do
  have "$t" || die "required tool '$t' not found after installing packages"
done
MULTIARCH="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)"
for f in libssl.a libcrypto.a libz.a libzstd.a; do
  [[ -f "/usr/lib/$MULTIARCH/$f" ]] || die "missing static library /usr/lib/$MULTIARCH/$f (libssl-dev / zlib1g-dev / libzstd-dev)"
done

# ---------------------------------------------------------------------------
# Fetch Debian sources (patches applied by dpkg-source).
# ---------------------------------------------------------------------------
rm -rf "$SRC"
mkdir -p "$SRC"
APT_SRC_OPTS=(-q -o Acquire::Retries=3)
# As root, apt cannot drop to the _apt user for a directory it can't read; say so explicitly.
[[ "$(id -u)" == 0 ]] && APT_SRC_OPTS+=(-o APT::Sandbox::User=root)
fetch_sources() { (cd "$SRC" && apt-get "${APT_SRC_OPTS[@]}" source curl cjson >"$SRC/apt-get-source.log" 2>&1); }
log "apt-get source curl cjson -> ${SRC#"$ROOT"/}"
if ! fetch_sources; then
  if [[ $APT_UPDATED == 0 ]]; then
    log "apt-get source failed; refreshing package lists and retrying"
    apt_update_once
    rm -rf "${SRC:?}"/*
    fetch_sources || { tail -n 20 "$SRC/apt-get-source.log" >&2; die "apt-get source curl cjson failed"; }
  else
    tail -n 20 "$SRC/apt-get-source.log" >&2; die "apt-get source curl cjson failed"
  fi
fi

dsc_version() { sed -n 's/^Version:[[:space:]]*//p' "$1" | head -n1; }
shopt -s nullglob
curl_dsc=("$SRC"/curl_*.dsc); cjson_dsc=("$SRC"/cjson_*.dsc)
shopt -u nullglob
[[ ${#curl_dsc[@]} == 1 && ${#cjson_dsc[@]} == 1 ]] || die "unexpected apt-get source result in $SRC"
CURL_VERSION="$(dsc_version "${curl_dsc[0]}")"
CJSON_VERSION="$(dsc_version "${cjson_dsc[0]}")"
upstream_of() { local v="${1#*:}"; echo "${v%-*}"; }  # strip epoch and Debian revision
CURL_DIR="$SRC/curl-$(upstream_of "$CURL_VERSION")"
CJSON_DIR="$SRC/cjson-$(upstream_of "$CJSON_VERSION")"
[[ -d "$CURL_DIR" && -d "$CJSON_DIR" ]] || die "source trees not found after apt-get source ($CURL_DIR, $CJSON_DIR)"
[[ "$(upstream_of "$CURL_VERSION")" == "$CURL_UPSTREAM" ]] \
  || log "WARNING: expected curl $CURL_UPSTREAM, Debian gave $CURL_VERSION"
[[ "$(upstream_of "$CJSON_VERSION")" == "$CJSON_UPSTREAM" ]] \
  || log "WARNING: expected cjson $CJSON_UPSTREAM, Debian gave $CJSON_VERSION"
log "sources: curl $CURL_VERSION, cjson $CJSON_VERSION"

# ---------------------------------------------------------------------------
# Build.
# ---------------------------------------------------------------------------
JOBS="${DEPS_JOBS:-$(nproc)}"
rm -rf "$PREFIX"
mkdir -p "$PREFIX/include/cjson" "$PREFIX/lib/pkgconfig" "$PREFIX/bin"
BUILD_LOG="$DEPS/build.log"
: >"$BUILD_LOG"
run_logged() {  # run_logged <description> <cmd...>: quiet unless it fails
  local what="$1"; shift
  log "$what"
  if ! "$@" >>"$BUILD_LOG" 2>&1; then
    echo "---- last lines of ${BUILD_LOG#"$ROOT"/} ----" >&2
    tail -n 40 "$BUILD_LOG" >&2
    die "$what failed (full log: ${BUILD_LOG#"$ROOT"/})"
  fi
}

# --- curl -------------------------------------------------------------------
# Debian's source tree has every patch in debian/patches/series applied. Revert
# (newest first) the ones that are about Debian's packaging, not about curl:
#  * everything after "Do not add patches below" (90_gnutls, 99_nss): these turn
#    the tree into the libcurl-gnutls / libcurl-nss flavours; debian/rules pops
#    them ("quilt pop") before building the OpenSSL flavour, and so do we;
#  * 11_omit-directories-from-config + Remove-curl-s-LDFLAGS-...: they strip
#    -I/-L from curl-config for Debian's multiarch /usr layout, which makes
#    curl-config wrong for a private prefix.
# All of Debian's fixes (CVE patches etc.) stay applied.
readonly CURL_PACKAGING_PATCHES=(11_omit-directories-from-config.patch
                                 Remove-curl-s-LDFLAGS-from-curl-config-static-libs.patch)
revert_packaging_patches() {
  local series="$CURL_DIR/debian/patches/series" p
  local -a all=() revert=()
  mapfile -t all < <(awk '$0 !~ /^[[:space:]]*(#|$)/ {print $1}' "$series")
  local -a flavour=()
  mapfile -t flavour < <(awk '/Do not add patches below/ {f=1; next}
                              f && $0 !~ /^[[:space:]]*(#|$)/ {print $1}' "$series")
  [[ ${#flavour[@]} -gt 0 ]] || die "curl: no flavour patches found in debian/patches/series (layout changed?)"
  # Walk the series backwards so patches come off in reverse order of application.
  for ((i = ${#all[@]} - 1; i >= 0; i--)); do
    p="${all[i]}"
    if printf '%s\n' "${flavour[@]}" "${CURL_PACKAGING_PATCHES[@]}" | grep -qxF "$p"; then
      revert+=("$p")
    fi
  done
  for p in "${revert[@]}"; do
    echo "reverting debian/patches/$p" >>"$BUILD_LOG"
    (cd "$CURL_DIR" && patch -R -p1 -s -f --no-backup-if-mismatch <"debian/patches/$p") >>"$BUILD_LOG" 2>&1 \
      || die "curl: could not revert Debian packaging patch $p (see ${BUILD_LOG#"$ROOT"/})"
  done
  grep -q '^lib_LTLIBRARIES = libcurl.la' "$CURL_DIR/lib/Makefile.am" \
    || die "curl: source still builds a non-OpenSSL flavour after reverting patches"
  log "curl: reverted Debian packaging patches: ${revert[*]}"
}
revert_packaging_patches

# Debian patches configure.ac/Makefile.am/ltmain.sh: regenerate like debian/rules
# (./buildconf == autoreconf -fi), then put back Debian's patched ltmain.sh.
cp "$CURL_DIR/ltmain.sh" "$SRC/ltmain.sh.debian"
curl_autoreconf() { (cd "$CURL_DIR" && autoreconf -fi); }
run_logged "curl: autoreconf -fi" curl_autoreconf
cp "$SRC/ltmain.sh.debian" "$CURL_DIR/ltmain.sh"

CURL_CONFIGURE_ARGS=(
  --prefix="$PREFIX"
  --disable-shared --enable-static --with-pic
  --disable-dependency-tracking --disable-silent-rules
  --disable-debug --disable-curldebug --enable-optimize --disable-warnings --disable-werror
  # TLS: OpenSSL; no CA bundle/path baked in (the program probes and honours SSL_CERT_FILE).
  --with-openssl --without-ca-bundle --without-ca-path --without-ca-fallback
  --disable-openssl-auto-load-config
  --with-zlib
  # Resolver: threaded (pthreads), no c-ares.
  --enable-threaded-resolver --enable-pthreads --disable-ares
  # Protocols: HTTP and HTTPS only.
  --enable-http --enable-proxy
  --disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp --disable-dict
  --disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smtp --disable-gopher
  --disable-mqtt --disable-smb --disable-websockets
  # Features we do not need.
  --disable-ntlm --disable-ntlm-wb --disable-tls-srp --disable-sspi
  --disable-cookies --disable-alt-svc --disable-hsts --disable-doh --disable-netrc
  --disable-unix-sockets --disable-progress-meter
  --disable-manual --disable-libcurl-option --disable-versioned-symbols
  # Libraries we do not want.
  --without-libpsl --without-nghttp2 --without-ngtcp2 --without-nghttp3 --without-quiche
  --without-msh3 --without-hyper --without-libidn2 --without-winidn --without-brotli
  --without-zstd --without-gssapi --without-librtmp --without-libssh2 --without-libssh
  --without-wolfssh --without-libgsasl
  --without-zsh-functions-dir --without-fish-functions-dir
)
# Kept on purpose: http-auth + crypto-auth (Basic/Digest and CURLOPT_AWS_SIGV4),
# proxy, IPv6, mime, headers API, verbose (debug output via CURLOPT_VERBOSE).
curl_configure() {
  (cd "$CURL_DIR" && CFLAGS="$OPT_CFLAGS" CPPFLAGS="$OPT_CPPFLAGS" LDFLAGS="" ./configure "${CURL_CONFIGURE_ARGS[@]}")
}
run_logged "curl: configure" curl_configure

# Only the library, headers, curl-config and libcurl.pc: the curl tool, docs
# and man pages are not needed.
run_logged "curl: make -j$JOBS (lib)" make -C "$CURL_DIR/lib" -j"$JOBS"
curl_install() {
  make -C "$CURL_DIR/lib" install && make -C "$CURL_DIR/include" install \
    && make -C "$CURL_DIR" install-binSCRIPTS install-pkgconfigDATA
}
run_logged "curl: install lib + headers" curl_install
rm -f "$PREFIX/lib/libcurl.la"

# --- cJSON ------------------------------------------------------------------
log "cjson: compile cJSON.c cJSON_Utils.c -> libcjson.a"
CJSON_OBJ="$DEPS/cjson-obj"
rm -rf "$CJSON_OBJ"; mkdir -p "$CJSON_OBJ"
for c in cJSON cJSON_Utils; do
  # shellcheck disable=SC2086
  gcc -std=c89 $OPT_CPPFLAGS $OPT_CFLAGS -Wall -Wextra -fvisibility=default \
    -c "$CJSON_DIR/$c.c" -o "$CJSON_OBJ/$c.o" >>"$BUILD_LOG" 2>&1 \
    || { tail -n 20 "$BUILD_LOG" >&2; die "cjson: compiling $c.c failed"; }
done
ar rcs "$PREFIX/lib/libcjson.a" "$CJSON_OBJ/cJSON.o" "$CJSON_OBJ/cJSON_Utils.o"
install -m 0644 "$CJSON_DIR/cJSON.h" "$CJSON_DIR/cJSON_Utils.h" "$PREFIX/include/cjson/"

# --- pkg-config files -------------------------------------------------------
# Make both .pc files relocatable (${pcfiledir}) and spell out the full static
# link line. There is no shared libcurl/libcjson, so the dependencies go in
# Libs itself: `pkg-config --libs` and `pkg-config --static --libs` then both
# give a working line (curl's own generated .pc does the same, with duplicates).
# With glibc >= 2.34, -ldl and -pthread resolve to libc.a; they are kept for
# clarity and harmless.
PC="$PREFIX/lib/pkgconfig/libcurl.pc"
# shellcheck disable=SC2016 # ${...} are pkg-config variables, not shell ones
sed -i -E \
  -e 's|^prefix=.*|prefix=${pcfiledir}/../..|' \
  -e 's|^exec_prefix=.*|exec_prefix=${prefix}|' \
  -e 's|^libdir=.*|libdir=${exec_prefix}/lib|' \
  -e 's|^includedir=.*|includedir=${prefix}/include|' \
  -e 's|^Libs:.*|Libs: -L${libdir} -lcurl -lssl -lcrypto -lz -ldl -pthread|' \
  -e '/^Libs\.private:/d' \
  -e '/^Requires\.private:/d' \
  "$PC"
grep -q '^Cflags:.*CURL_STATICLIB' "$PC" || sed -i -E 's|^Cflags:(.*)$|Cflags:\1 -DCURL_STATICLIB|' "$PC"

cat >"$PREFIX/lib/pkgconfig/libcjson.pc" <<EOF
prefix=\${pcfiledir}/../..
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: libcjson
Version: $(upstream_of "$CJSON_VERSION")
Description: Ultralightweight JSON parser in ANSI C (static, Debian $CJSON_VERSION)
URL: https://github.com/DaveGamble/cJSON
Libs: -L\${libdir} -lcjson -lm
Cflags: -I\${includedir} -I\${includedir}/cjson
EOF

# --- sanity checks ----------------------------------------------------------
outputs_present || die "build finished but expected files are missing in $PREFIX"
PROTOS="$("$PREFIX/bin/curl-config" --protocols | tr '\n' ' ')"
[[ "$PROTOS" == "HTTP HTTPS " ]] || die "libcurl protocols are '$PROTOS', expected only HTTP HTTPS"
PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" pkg-config --static --libs libcurl libcjson >/dev/null \
  || die "pkg-config cannot resolve libcurl/libcjson from $PREFIX"

{
  printf '%s' "$KEY"
  printf '\ncurl=%s\ncjson=%s\nbuilt=%s\n' "$CURL_VERSION" "$CJSON_VERSION" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$STAMP"

log "curl features: $("$PREFIX/bin/curl-config" --features | tr '\n' ' ')"
log "curl protocols: $PROTOS"
log "static link: $(PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" pkg-config --static --libs libcurl libcjson)"
log "done in $((SECONDS - T0))s: curl $CURL_VERSION, cjson $CJSON_VERSION -> ${PREFIX#"$ROOT"/}"
