package browser

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pion/webrtc/v4"
)

//go:embed page
var pageFiles embed.FS

// PagePath is where Handler serves the call page; mount Handler on the
// signaling server's mux (the page opens /ws on its own origin).
const PagePath = "/browser/"

// Handler serves the call page and its script from the binary.
func Handler() http.Handler {
	sub, err := fs.Sub(pageFiles, "page")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return http.StripPrefix(PagePath, http.FileServer(http.FS(sub)))
}

// Join says which call a browser joins.
type Join struct {
	// Origin is the signaling server's HTTP origin, e.g.
	// "http://127.0.0.1:8080", serving Handler at PagePath and the
	// signaling WebSocket at signaling.Path.
	Origin string
	// Room and Name are the room and the participant's name.
	Room, Name string
	// ICEServers and RelayOnly configure the RTCPeerConnections.
	ICEServers []webrtc.ICEServer
	RelayOnly  bool
	// Loopback signals host candidates on loopback addresses only.
	Loopback bool
	// Topology is "p2p" (the default: the page calls every peer) or
	// "sfu" (it publishes to and subscribes from the SFU named SFU,
	// "sfu" when empty, answering its renegotiation offers).
	Topology, SFU string
}

// URL is the call page's address for j.
func (j Join) URL() (string, error) {
	servers := j.ICEServers
	if servers == nil {
		servers = []webrtc.ICEServer{} // the page wants a sequence, not null
	}
	ice, err := json.Marshal(servers)
	if err != nil {
		return "", fmt.Errorf("browser: ICE servers: %w", err)
	}
	q := url.Values{"room": {j.Room}, "name": {j.Name}, "ice": {string(ice)}}
	if j.RelayOnly {
		q.Set("relay", "1")
	}
	if j.Loopback {
		q.Set("loopback", "1")
	}
	if j.Topology != "" {
		q.Set("topology", j.Topology)
	}
	if j.SFU != "" {
		q.Set("sfu", j.SFU)
	}
	return j.Origin + PagePath + "call.html?" + q.Encode(), nil
}

// Join opens the call page and waits until it has its camera and
// microphone and has sent its join.
func (b *Browser) Join(ctx context.Context, j Join) error {
	u, err := j.URL()
	if err != nil {
		return err
	}
	if _, err := run(ctx, b, chromedp.Navigate(u)); err != nil {
		return fmt.Errorf("browser: open %s: %w", u, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := run(ctx, b, chromedp.Evaluate[struct {
			Ready  bool   `json:"ready"`
			Failed string `json:"failed"`
		}]("({ready: window.rtclab.ready, failed: window.rtclab.failed})"))
		if err != nil {
			return fmt.Errorf("browser: page state: %w", err)
		}
		if st.Failed != "" {
			return fmt.Errorf("browser: page: %s", st.Failed)
		}
		if st.Ready {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("browser: the page did not join within 30 s")
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// PageEvent is one thing the page reported (connection states, tracks,
// errors).
type PageEvent struct {
	At           time.Time
	Kind, Detail string
}

// Events returns what the page reported since it was opened.
func (b *Browser) Events(ctx context.Context) ([]PageEvent, error) {
	raw, err := run(ctx, b, chromedp.Evaluate[[][3]any]("window.rtclab.events"))
	if err != nil {
		return nil, fmt.Errorf("browser: events: %w", err)
	}
	out := make([]PageEvent, 0, len(raw))
	for _, e := range raw {
		ms, _ := e[0].(float64)
		k, _ := e[1].(string)
		d, _ := e[2].(string)
		out = append(out, PageEvent{At: time.UnixMilli(int64(ms)), Kind: k, Detail: d})
	}
	return out, nil
}

// RestartICE has the page restart ICE on every connection (an offer with
// new ICE credentials, RFC 8445 section 9), as an application does on a
// network change; a connection with an offer outstanding restarts once
// that is answered.
func (b *Browser) RestartICE(ctx context.Context) error {
	if _, err := run(ctx, b, chromedp.Evaluate[bool]("window.rtclab.restartIce()")); err != nil {
		return fmt.Errorf("browser: ICE restart: %w", err)
	}
	return nil
}

// StopSending has the page stop sending media on every connection (each
// sender's track replaced by none, W3C webrtc-pc section 5.2
// replaceTrack): the call's end, as an agent's publishing stops.
func (b *Browser) StopSending(ctx context.Context) error {
	if _, err := run(ctx, b, chromedp.Evaluate[bool]("window.rtclab.stopSending()", chromedp.EvalAwaitPromise)); err != nil {
		return fmt.Errorf("browser: stop sending: %w", err)
	}
	return nil
}

// Gathered returns every local ICE candidate the page's connections
// gathered, signalled or not, as "TYPE ADDRESS" (e.g. "host 127.0.0.1").
func (b *Browser) Gathered(ctx context.Context) ([]string, error) {
	v, err := run(ctx, b, chromedp.Evaluate[[]string]("window.rtclab.gathered"))
	if err != nil {
		return nil, fmt.Errorf("browser: candidates: %w", err)
	}
	return v, nil
}
