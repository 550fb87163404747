# scripts/lib.sh - shared helpers for the project's scripts (sourced, not run).
# ensure_packages installs missing Debian packages, running apt-get update at most once per run.

ETL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ETL_ROOT

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "error: $*"; exit 1; }

_etl_apt_updated=0
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
  else die "need root (or sudo) to run: $*"; fi
}

# ensure_packages PKG... : installs those not yet installed.
ensure_packages() {
  local missing=()
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  if [ "$_etl_apt_updated" -eq 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    _etl_apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# The packages every build and test needs.
ensure_build_packages() {
  ensure_packages build-essential cmake pkg-config file zip unzip \
    libssl-dev zlib1g-dev libdeflate-dev libzstd-dev libcurl4-openssl-dev libcjson-dev libcmocka-dev \
    python3 python3-botocore python3-yaml python3-jsonschema valgrind
}

# ensure_node_modules: Node.js and the pinned npm packages (package-lock.json) for the stand-ins.
ensure_node_modules() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    ensure_packages nodejs npm
  fi
  local stamp="$ETL_ROOT/node_modules/.etl-lock-sha256"
  local want
  want="$(sha256sum "$ETL_ROOT/package-lock.json" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  log "npm ci (pinned stand-ins: s3rver, dynalite, DuckDB; asl-validator)"
  (cd "$ETL_ROOT" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" > "$stamp"
}

# ensure_awscli: the aws command for seeding and reading back (Debian's awscli if absent).
ensure_awscli() {
  command -v aws >/dev/null 2>&1 || ensure_packages awscli
}

# ensure_python_tools: moto's server (AWS APIs the npm stand-ins lack: Secrets Manager, Glue),
# boto3 for the tests that seed it, and AWS's template checkers (cfn-lint with the SAM translator,
# for test_template.py). The image's python3 has them; elsewhere they are pip-installed, pinned.
ETL_PY_TOOLS=('moto[server]==5.2.1' boto3 'cfn-lint==1.51.0' 'aws-sam-translator==1.110.0')
ensure_python_tools() {
  python3 -c 'import moto.server, boto3, cfnlint, samtranslator' >/dev/null 2>&1 && return 0
  log "pip install ${ETL_PY_TOOLS[*]} (not on this machine's python3)"
  python3 -m pip --version >/dev/null 2>&1 || ensure_packages python3-pip
  python3 -m pip install --quiet "${ETL_PY_TOOLS[@]}" >/dev/null 2>&1 ||
    python3 -m pip install --quiet --break-system-packages "${ETL_PY_TOOLS[@]}" >/dev/null
  python3 -c 'import moto.server, boto3, cfnlint, samtranslator' >/dev/null 2>&1 ||
    die "moto/boto3/cfn-lint still missing"
}
