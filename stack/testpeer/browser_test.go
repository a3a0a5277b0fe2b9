package testpeer_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rtclab/rtclab/internal/realpeer/loopns"
	"github.com/rtclab/rtclab/stack/testpeer"
)

// candidatesJS is what the pages here use to report the browser's
// candidates: every one gathered (its address, or the whole line when it
// has none), and every getStats local-candidate's address.
const candidatesJS = `
function watchCandidates(pc) {
  const c = [];
  pc.addEventListener('icecandidate', e => e.candidate && e.candidate.candidate && c.push(e.candidate.address || e.candidate.candidate));
  return c;
}
async function localCandidates(pc) {
  const a = [];
  (await pc.getStats()).forEach(s => s.type === 'local-candidate' && a.push(s.address || JSON.stringify(s)));
  return a;
}
`

// downloadPage asks the test peer's source channel for ms milliseconds of
// data and counts what arrives, as the browser test page does; it resolves
// to {bytes, end, ms} where end is the peer's "end N" marker ("" if it never
// came within ms + 8 s).
const downloadPage = `<!doctype html><script>` + candidatesJS + `
async function download(ms) {
  const pc = new RTCPeerConnection();
  const gathered = watchCandidates(pc);
  const dc = pc.createDataChannel('source');
  dc.binaryType = 'arraybuffer';
  let bytes = 0, first = 0, last = 0;
  const end = new Promise(resolve => {
    dc.onmessage = e => {
      if (typeof e.data === 'string') { resolve(e.data); return; }
      const now = performance.now();
      if (!first) first = now;
      last = now;
      bytes += e.data.byteLength;
    };
  });
  const opened = new Promise(resolve => dc.onopen = resolve);
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise(resolve => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
  });
  const r = await fetch('` + testpeer.OfferPath + `', {method: 'POST', body: JSON.stringify(pc.localDescription)});
  if (!r.ok) throw new Error('offer: ' + r.status);
  await pc.setRemoteDescription(await r.json());
  await opened;
  dc.send('send ' + ms);
  const marker = await Promise.race([end, new Promise(resolve => setTimeout(() => resolve(''), ms + 8000))]);
  const local = await localCandidates(pc);
  pc.close();
  return {bytes: bytes, end: marker, ms: last - first, gathered: gathered, local: local};
}
</script>`

type download struct {
	Bytes    int64    `json:"bytes"`
	End      string   `json:"end"`
	Ms       float64  `json:"ms"`
	Gathered []string `json:"gathered"`
	Local    []string `json:"local"`
}

// TestBrowserDownload has a real Chromium download from the test peer's
// source channel for 2 s, the case that stalled (issue #13): Chromium
// received 0.6-19 MB, then about 16 KiB every 2.5 s, and the end marker
// never came. The cause was pion/sctp v1.9.0 on our side: when Chromium's
// socket buffer dropped packets, the association entered fast recovery
// (RFC 9260 section 7.2.4) with an exit point the peer had already
// acknowledged in a gap block, so it never left it; cwnd stayed at one MTU
// and each DATA packet waited for Chromium's 200 ms delayed SACK. v1.9.2
// leaves fast recovery once the cumulative ack passes the exit point (and
// on T3-rtx expiry). The download must end with the marker and carry every
// byte the peer says it sent. The browser and the peer run in a
// loopback-only namespace, and every candidate the browser gathered or
// used is loopback.
func TestBrowserDownload(t *testing.T) {
	ns := loopns.New(t)
	peer, err := testpeer.New(testpeer.Config{Net: ns.Net, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	mux := http.NewServeMux()
	mux.Handle(testpeer.OfferPath, peer.Handler())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(downloadPage))
	})
	srv := ns.Serve(t, mux)

	browser := ns.Chromium(t)
	actx, acancel := browser.Allocator(context.Background())
	defer acancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, tcancel := context.WithTimeout(ctx, 90*time.Second)
	defer tcancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		got, err := chromedp.Run(ctx, chromedp.Evaluate[download](`download(2000)`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("download %d: %v", i, err)
		}
		t.Logf("download %d: %d bytes in %.0f ms (%.1f Mbit/s), marker %q", i, got.Bytes, got.Ms, float64(got.Bytes)*8/got.Ms/1000, got.End)
		var sent int64
		if _, err := fmt.Sscanf(got.End, "end %d", &sent); err != nil {
			t.Fatalf("download %d: no end marker after %d bytes: the transfer stalled", i, got.Bytes)
		}
		if sent != got.Bytes {
			t.Errorf("download %d: the peer sent %d bytes, the browser received %d", i, sent, got.Bytes)
		}
		loopns.CheckLoopback(t, fmt.Sprintf("download %d: candidates gathered", i), got.Gathered)
		loopns.CheckLoopback(t, fmt.Sprintf("download %d: getStats local-candidate", i), got.Local)
	}
}
