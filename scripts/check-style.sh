#!/usr/bin/env bash
# scripts/check-style.sh - the machine-checked parts of STYLE.md: banned C functions (as curl's
# checksrc) and clang-format-14 on runtime/, function/ and tests/.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ETL_ROOT"

files=$(git ls-files --cached --others --exclude-standard 'runtime/*.[ch]' 'function/*.[ch]' 'tests/*.[ch]' 2>/dev/null || true)
[ -n "$files" ] || files=$(find runtime function tests -name '*.[ch]' | sort)

banned='\b(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|gets|gmtime|localtime|strerror)[[:space:]]*\('
if grep -nE "$banned" $files; then
  die "banned function used (STYLE.md §6): use the bounded or _r form"
fi

if ! command -v clang-format-14 >/dev/null 2>&1; then
  ensure_packages clang-format-14
fi
clang-format-14 --dry-run --Werror $files || die "clang-format-14: run clang-format-14 -i on the files above"
log "style: ok ($(echo "$files" | wc -w) files)"
