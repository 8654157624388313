#!/usr/bin/env bash
# Set up ruqi in this checkout: Debian packages (when root), .venv/, the package in editable mode.
# Idempotent: a second run only checks what is already there.
# Runtime packages: CJK fonts and Pango (PDF rendering), poppler-utils, unar (RAR mail attachments, via rarfile),
# tesseract-ocr (the printed 检查编号 of a scanned card whose QR cannot be read).
#   scripts/setup.sh            runtime + dev tools
#   scripts/setup.sh --tests    also what the full test suite uses: LibreOffice (docx→PDF, xlsx→xls
#                               conversions) and PostgreSQL (archive on a real server); those tests
#                               skip where these are absent; Dovecot (IMAP server for the mail tests);
#                               Chromium and its driver (the web pages' browser tests, via Selenium); libarchive-tools (bsdtar:
#                               the test that RAR attachments open with bsdtar alone)
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(fonts-noto-cjk fonts-arphic-ukai fonts-dejavu-core fonts-hanazono fontconfig libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 poppler-utils unar tesseract-ocr)
EXTRAS=dev
if [[ "${1:-}" == "--tests" ]]; then
  APT_PACKAGES+=(libreoffice-writer-nogui libreoffice-calc-nogui postgresql dovecot-imapd chromium chromium-driver libarchive-tools)
  EXTRAS=dev,postgres
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "[setup] apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "[setup] 缺少系统软件包 / missing Debian packages: ${missing[*]}"
    echo "[setup] 请让管理员执行 / ask an administrator to run:"
    echo "        sudo apt-get update && sudo apt-get install -y ${missing[*]}"
    echo "[setup] 继续安装 Python 部分；PDF 可能缺字或很慢 / continuing; PDFs may lack CJK glyphs or be slow."
  fi
fi

PY=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  echo "[setup] creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.ruqi-installed
want="$(sha256sum pyproject.toml | cut -c1-16)-$EXTRAS"
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  echo "[setup] pip install -e .[$EXTRAS]"
  # The machine's pip configuration may name local mirrors that do not exist: hide only those notices.
  { .venv/bin/python -m pip install -q --upgrade pip && .venv/bin/python -m pip install -q -e ".[$EXTRAS]"; } 2>&1 \
    | { grep -v "^WARNING: Location '.*' is ignored" || true; }
  echo "$want" > "$stamp"
fi
# The engine's bytecode, written once here: where PYTHONDONTWRITEBYTECODE is set, every `ruqi` command would
# otherwise compile its modules again (~50 ms each time).  Python checks each file against its source, so an
# edited module is compiled afresh, never run stale.
.venv/bin/python -m compileall -q engine >/dev/null
echo "[setup] ok: $(.venv/bin/ruqi --version 2>/dev/null || echo 'ruqi installed')"
