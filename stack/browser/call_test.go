package browser_test

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab"
	"github.com/rtclab/rtclab/internal/realpeer"
	"github.com/rtclab/rtclab/internal/realpeer/loopns"
	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/stack/agent"
	"github.com/rtclab/rtclab/stack/browser"
	"github.com/rtclab/rtclab/stack/clip"
	"github.com/rtclab/rtclab/stack/signaling"
)

// lab is what a Chromium call test runs on loopback: a network
// namespace of its own with nothing but its loopback interface (so the
// browser can neither gather nor reach the machine's own addresses),
// the signaling server with the call page inside it, and its origin.
type lab struct {
	origin string
	sig    *signaling.Server
	ns     *loopns.NS
	client *http.Client // dials from inside the namespace
}

func startLab(t *testing.T) *lab {
	t.Helper()
	// Made first, so it is deleted last: after the browser, the agents and
	// the servers in it have stopped.
	ns := loopns.New(t)
	sig := signaling.NewServer(nil)
	mux := http.NewServeMux()
	mux.Handle(signaling.Path, sig.Handler())
	mux.Handle(browser.PagePath, browser.Handler())
	ln, err := ns.Net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = srv.Close()
	})
	return &lab{origin: "http://" + ln.Addr().String(), sig: sig, ns: ns, client: ns.Client()}
}

// launch starts one Chromium in l's namespace with fake media made from
// the committed clips into dir.
func launch(t *testing.T, ctx context.Context, l *lab, dir string) *browser.Browser {
	t.Helper()
	realpeer.Binary(t, "chromium")
	realpeer.Binary(t, "ffmpeg")
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	video, audio, err := browser.Media(ctx, dir, filepath.Join(root, "testdata/clips/video-vp8.ivf"), filepath.Join(root, "testdata/clips/audio-opus.ogg"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := browser.Launch(ctx, browser.Params{Dir: dir, Video: video, Audio: audio, Netns: l.ns.Name, Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// pionOnLoopback starts a pion agent on real sockets in l's namespace
// behind an access link of rtclab's link code, its traffic captured.
func pionOnLoopback(t *testing.T, ctx context.Context, l *lab, name, room string, hc netem.HostConfig, capture *netem.Capture, ice []webrtc.ICEServer, relay bool) (*agent.Agent, *netem.Host) {
	t.Helper()
	hc.Name = name
	h, closeNet, err := netem.Wrap(l.ns.Net, net.IPv4(127, 0, 0, 1), 1, hc, capture)
	if err != nil {
		t.Fatal(err)
	}
	var pub []*clip.Clip
	for _, p := range []string{"testdata/clips/video-vp8.ivf", "testdata/clips/audio-opus.ogg"} {
		c, err := clip.Open(rtclab.Clips, p)
		if err != nil {
			t.Fatal(err)
		}
		pub = append(pub, c)
	}
	a, err := agent.Start(ctx, agent.Params{
		Name: name, Room: room, Topology: agent.TopologyP2P, Net: h.Net,
		SignalURL: "ws" + l.origin[len("http"):] + signaling.Path, HTTPClient: l.client,
		Publish: pub, Loopback: true, ICEServers: ice, RelayOnly: relay,
	})
	if err != nil {
		closeNet()
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); closeNet() })
	return a, h
}
