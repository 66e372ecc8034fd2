#!/usr/bin/env bash
# Regenerate docs/images/lineage.png: the kedro-viz lineage of __default__, headless.
# Needs a Chromium headless shell (Debian: apt-get install chromium-headless-shell).
# Usage (from the project root): bash docs/images/make_lineage_screenshot.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out="$PWD/docs/images/lineage.png"
port="${PORT:-4199}"
work="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

# kedro viz build always writes ./build: build in a throw-away copy of the project.
cp pyproject.toml "$work/" && cp -r conf "$work/" && mkdir -p "$work/src"
rm -rf "$work/conf/local" && mkdir "$work/conf/local"
(cd "$work" && KEDRO_DISABLE_TELEMETRY=1 "$OLDPWD/.venv/bin/kedro" viz build >/dev/null)
test -f "$work/build/api/main"

# A copy of the page that starts in the light theme, without the feature tour or side bar.
python3 - "$work/build" <<'PY'
import sys
from pathlib import Path

build = Path(sys.argv[1])
state = (
    '{"theme":"light","showFeatureHints":false,'
    '"visible":{"sidebar":false,"miniMap":false}}'
)
script = f"<script>localStorage.setItem('KedroViz', '{state}');</script>"
page = (build / "index.html").read_text().replace("<head>", "<head>" + script, 1)
(build / "screenshot.html").write_text(page)
PY

"$PWD/.venv/bin/python" -m http.server -d "$work/build" --bind 127.0.0.1 "$port" >/dev/null 2>&1 &
server=$!
sleep 1
chromium-headless-shell --no-sandbox --disable-gpu --hide-scrollbars \
  --window-size="${SIZE:-1300,1900}" --virtual-time-budget=20000 \
  --screenshot="$out" "http://127.0.0.1:$port/screenshot.html" 2>/dev/null
echo "wrote $out"
