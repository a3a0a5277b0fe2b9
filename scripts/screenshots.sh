#!/usr/bin/env bash
# Screenshots of every HTML output rtclab writes, into docs/img/, taken
# with headless Chromium from outputs made by this checkout's build:
#   report.png    rtclab run quickstart               (report.html)
#   index.png     rtclab run quickstart codec-matrix  (index.html)
#   plots.png     the Plots section of codec-matrix's report.html: charts of
#                 more than 8 series drawn as small multiples
#   bandwidth.png rtclab run rfc8867/5.2              (report.html, RFC 8868 tables)
#   matrix.png    rtclab matrix                       (report.html)
#   diagnose.png  rtclab serve + rtclab diagnose --html, on loopback
#   compare.png   rtclab compare --html, quickstart against 5 % loss
#   testpage.png  the browser test page, finished, in headless Chromium
#   testpage-console.png the support console with that result, and
#   testpage-result.png  the result opened there (diagnose's one renderer)
#                 (all three written by diagnose/page's TestPageHistory)
#   testpage-busy.png the page when the test peer is full (TestPageServerBusy)
#   testpage-ranking.png two servers measured and ranked (TestPageRanksServers),
#   testpage-ranking-console.png and testpage-ranking-run.png: the console
#                 with that run, and its ranking there
# Run from the repository root (make screenshots). Needs chromium
# (apt-get install -y chromium); look at every PNG before committing.
set -euo pipefail

out=docs/img
work=$(mktemp -d)
serve_pid=""
cleanup() {
	if [ -n "$serve_pid" ]; then kill "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

chromium_bin=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$chromium_bin" ]; then
	echo "screenshots: chromium not found (apt-get install -y chromium)" >&2
	exit 2
fi

go build -o "$work/rtclab" ./cmd/rtclab
r="$work/rtclab"

"$r" run --out "$work/run" quickstart >/dev/null 2>&1
"$r" run --out "$work/set" quickstart codec-matrix >/dev/null 2>&1 || true
"$r" run --out "$work/bw" rfc8867/5.2 >/dev/null 2>&1 || true
"$r" matrix --out "$work/matrix" >/dev/null 2>&1 || true
sed 's/loss: 3%/loss: 5%/' scenarios/quickstart.yaml >"$work/quickstart-5pct.yaml"
"$r" run --out "$work/worse" "$work/quickstart-5pct.yaml" >/dev/null 2>&1
(cd "$work" && ./rtclab compare --html compare.html run worse >/dev/null) || true

# diagnose against a server on loopback, started here and stopped on exit.
"$r" serve --ip 127.0.0.1 --alt-ip 127.0.0.2 --allow-private-peers --http-port 0 \
	--turn-port 0 --tls-port 0 --stun-port 0 --stun-alt-port 0 --db "$work/history.db" --for 120s >"$work/serve.txt" 2>&1 &
serve_pid=$!
url=""
for _ in $(seq 1 50); do
	url=$(sed -n 's/^diagnose with: rtclab diagnose --server \(.*\)$/\1/p' "$work/serve.txt")
	[ -n "$url" ] && break
	sleep 0.2
done
if [ -z "$url" ]; then
	echo "screenshots: rtclab serve did not start:" >&2
	cat "$work/serve.txt" >&2
	exit 1
fi
"$r" diagnose --server "$url" --html "$work/diagnose.html" >/dev/null 2>&1 || true

shoot() { # shoot HTML PNG
	"$chromium_bin" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--hide-scrollbars --user-data-dir="$work/chrome" --screenshot="$2" \
		--window-size=1400,2000 "file://$1" >/dev/null 2>&1
	echo "wrote $2"
}
mkdir -p "$out"
shoot "$work/run/report.html" "$out/report.png"
shoot "$work/set/index.html" "$out/index.png"
# The Plots section alone, with the page's head (its stylesheet).
python3 - "$work/set/codec-matrix/report.html" "$work/plots.html" <<'PY'
import sys
page = open(sys.argv[1]).read()
head = page[:page.index("<main>") + len("<main>")]
start = page.index("<h2>Plots</h2>")
end = page.index("</section>", start)
open(sys.argv[2], "w").write(head + "<section>" + page[start:end] + "</section></main></body></html>")
PY
shoot "$work/plots.html" "$out/plots.png"
shoot "$work/bw/report.html" "$out/bandwidth.png"
shoot "$work/matrix/report.html" "$out/matrix.png"
shoot "$work/diagnose.html" "$out/diagnose.png"
shoot "$work/compare.html" "$out/compare.png"
RTCLAB_SCREENSHOT_DIR="$PWD/$out" go test -count=1 -run '^(TestPageHistory|TestPageServerBusy|TestPageRanksServers)$' ./diagnose/page >/dev/null
echo "wrote $out/testpage.png $out/testpage-console.png $out/testpage-result.png $out/testpage-busy.png $out/testpage-ranking.png $out/testpage-ranking-console.png $out/testpage-ranking-run.png"
