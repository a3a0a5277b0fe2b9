package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab/stack/sdpfrag"
)

// WHIP (RFC 9725) and WHEP (draft-ietf-wish-whep): an agent that
// publishes or watches through an SFU's HTTP endpoint instead of joining
// a signaling room. It gathers every candidate, POSTs its offer with
// content type application/sdp, takes the "201 Created" answer and its
// Location, and DELETEs that session URL when it closes (RFC 9725
// section 4.2). The offer carries every candidate; ICE restarts go over
// HTTP PATCH (section 4.3.1, restartHTTP) and trickle their candidates
// in further PATCHes (trickleHTTP). A
// WHEP viewer offers Params.WHEPSlots recvonly m-lines of each kind: the
// SFU fills them with tracks published after the session was made.

// Modes of StartHTTP.
const (
	ModeWHIP = "whip"
	ModeWHEP = "whep"
)

// HTTPError is a WHIP or WHEP request the server refused: its method,
// URL, status and the reason it gave in the body (RFC 9725 section 4.1:
// a client acts on the status class, not on the exact code).
type HTTPError struct {
	Method, URL string
	Status      int
	Body        string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.URL, e.Status, http.StatusText(e.Status), strings.TrimSpace(e.Body))
}

// ErrNoLocation is returned when a "201 Created" carries no Location.
var ErrNoLocation = errors.New("whip: 201 Created without a Location header")

type httpSession struct {
	mode string
	mu   sync.Mutex // guards location and etag
	// location is the session URL, "" once deleted.
	location string
	// etag names the session's current ICE session (RFC 9725 section
	// 4.3.1), "" when the server sent none.
	etag   string
	client *http.Client
	// restartDone is when the last ICE restart was answered (loop only):
	// a restart the watchdog queued while that one waited for its
	// candidates is dropped.
	restartDone time.Time
	// trickling is set from an ICE restart until its gathering ends:
	// its candidates go in PATCHes (loop only); mid and mline name the
	// m= section they belong to.
	trickling  bool
	mid, mline string
	ufrag, pwd string
}

// StartHTTP publishes (ModeWHIP: the clips of p.Publish) or watches
// (ModeWHEP) through the endpoint URL. p.Room, p.SignalURL and
// p.Topology are not used. It returns once the answer is applied; Close
// ends the session with a DELETE.
func StartHTTP(ctx context.Context, p Params, mode, endpoint string) (*Agent, error) {
	if p.Name == "" || p.Net == nil || endpoint == "" {
		return nil, errors.New("agent: Name, Net and an endpoint are required")
	}
	if mode != ModeWHIP && mode != ModeWHEP {
		return nil, fmt.Errorf("agent %s: mode %q, want %q or %q", p.Name, mode, ModeWHIP, ModeWHEP)
	}
	if mode == ModeWHEP {
		p.Publish, p.Simulcast = nil, nil
	}
	p.Topology, p.SFUName = TopologySFU, "sfu"
	log := p.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client := p.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	ctx, cancel := context.WithCancel(ctx)
	a := &Agent{p: p, log: log.With("agent", p.Name), events: make(chan func(), 64), conns: map[string]*Conn{}, cancel: cancel,
		http: &httpSession{mode: mode, client: client}}
	fail := func(err error) (*Agent, error) {
		a.Close()
		err = fmt.Errorf("agent %s %s: %w", p.Name, mode, err)
		a.event("error", err.Error())
		return nil, err
	}
	c, err := a.conn(ctx, p.SFUName)
	if err != nil {
		return fail(err)
	}
	if mode == ModeWHEP {
		// conn offers one recvonly m-line per kind; each further one is
		// another slot the SFU may fill with a track published later
		// (WHEP has no renegotiation from the server).
		for i := 1; i < p.WHEPSlots; i++ {
			for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
				if _, err := c.PC.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
					return fail(fmt.Errorf("WHEP slot: %w", err))
				}
			}
		}
	}
	// RFC 9725 section 4.2: a WHIP client SHOULD offer sendonly and MAY
	// offer sendrecv; pion's AddTrack makes sendrecv transceivers.
	offer, err := c.PC.CreateOffer(nil)
	if err != nil {
		return fail(fmt.Errorf("create offer: %w", err))
	}
	gathered := webrtc.GatheringCompletePromise(c.PC.PeerConnection)
	if err := c.PC.SetLocalDescription(offer); err != nil {
		return fail(fmt.Errorf("set offer: %w", err))
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	answer, location, tag, err := a.http.post(ctx, endpoint, c.PC.LocalDescription().SDP)
	if err != nil {
		return fail(err)
	}
	a.http.mu.Lock()
	a.http.location, a.http.etag = location, tag
	a.http.mu.Unlock()
	a.event(mode+"-session", location)
	if err := c.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return fail(fmt.Errorf("set answer: %w", err))
	}
	c.tagSimulcast() // RFC 9725 section 4.2 allows a simulcast offer (RFC 8853)
	// No signaling: the loop only runs what is posted (ICE restarts).
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case f := <-a.events:
				f()
			}
		}
	}()
	return a, nil
}

// post sends the offer and returns the answer and the session URL.
func (h *httpSession) post(ctx context.Context, endpoint, offer string) (answer, location, etag string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(offer))
	if err != nil {
		return "", "", "", err
	}
	req.Header.Set("Content-Type", "application/sdp")
	resp, err := h.client.Do(req)
	if err != nil {
		return "", "", "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", "", "", err
	}
	if resp.StatusCode/100 != 2 {
		return "", "", "", &HTTPError{Method: http.MethodPost, URL: endpoint, Status: resp.StatusCode, Body: string(body)}
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", "", "", ErrNoLocation
	}
	base, err := url.Parse(endpoint)
	if err != nil {
		return "", "", "", err
	}
	ref, err := url.Parse(loc)
	if err != nil {
		return "", "", "", fmt.Errorf("whip: Location %q: %w", loc, err)
	}
	return string(body), base.ResolveReference(ref).String(), resp.Header.Get("ETag"), nil
}

// restartHTTP restarts ICE over HTTP PATCH (RFC 9725 section 4.3.1): an
// ICE-restart offer is made and applied locally but not sent; its new
// credentials and candidates go in a trickle-ice-sdpfrag with
// "If-Match: *", and the server's 200 answers its own, which are applied
// to the answer in force (the non-ICE parts of the session still hold).
// Loop only.
func (a *Agent) restartHTTP(ctx context.Context, c *Conn) error {
	h := a.http
	h.mu.Lock()
	loc := h.location
	h.mu.Unlock()
	if loc == "" || time.Since(h.restartDone) < restartRetry {
		return nil
	}
	answer := c.PC.RemoteDescription()
	if answer == nil {
		return errors.New("no answer yet")
	}
	o, err := c.PC.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		return fmt.Errorf("create offer: %w", err)
	}
	if err := c.PC.SetLocalDescription(o); err != nil {
		return fmt.Errorf("set offer: %w", err)
	}
	// The fragment carries the new credentials and the candidates
	// gathered so far; the rest are trickled as they come (trickleHTTP,
	// after this returns: the loop runs one thing at a time, so they go
	// with the new entity-tag, as RFC 9725 section 4.3.1 asks).
	a.event("ice-restart", loc)
	h.trickling = true
	frag, err := sdpfrag.FromSDP(c.PC.LocalDescription().SDP)
	if err != nil {
		return err
	}
	h.mid, h.mline, h.ufrag, h.pwd = frag.Media[0].Mid, frag.Media[0].MLine, frag.Ufrag, frag.Pwd
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, loc, strings.NewReader(frag.Marshal()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", sdpfrag.MediaType)
	req.Header.Set("If-Match", "*")
	resp, err := h.client.Do(req)
	if err != nil {
		return a.rollback(c, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, sdpfrag.MaxSize+1))
	if err != nil {
		return a.rollback(c, err)
	}
	if resp.StatusCode != http.StatusOK {
		return a.rollback(c, &HTTPError{Method: http.MethodPatch, URL: loc, Status: resp.StatusCode, Body: string(body)})
	}
	theirs, err := sdpfrag.Parse(body)
	if err == nil && (theirs.Ufrag == "" || theirs.Pwd == "") {
		err = sdpfrag.ErrNoICE
	}
	if err != nil {
		return a.rollback(c, fmt.Errorf("PATCH %s: the restart's answer: %w", loc, err))
	}
	h.mu.Lock()
	h.etag = resp.Header.Get("ETag")
	h.mu.Unlock()
	h.restartDone = time.Now()
	sdp := sdpfrag.WithCredentials(answer.SDP, theirs)
	if err := c.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		return fmt.Errorf("set the restart's answer: %w", err)
	}
	for _, m := range theirs.Media {
		mid := m.Mid
		for _, cand := range m.Candidates {
			if err := c.PC.AddICECandidate(webrtc.ICECandidateInit{Candidate: "candidate:" + cand, SDPMid: &mid}); err != nil {
				return fmt.Errorf("the server's candidate %q: %w", cand, err)
			}
		}
	}
	return nil
}

// trickleHTTP sends one candidate gathered for an ICE restart, or the
// end of them (ic nil), in a PATCH with the ICE session's entity-tag
// (RFC 9725 section 4.3.1; RFC 8840 section 8.2 for the end). Loop
// only; candidates of the first offer are in it already.
func (a *Agent) trickleHTTP(ctx context.Context, c *Conn, ic *webrtc.ICECandidate) {
	h := a.http
	if !h.trickling {
		return
	}
	h.mu.Lock()
	loc, tag := h.location, h.etag
	h.mu.Unlock()
	if loc == "" {
		return
	}
	m := sdpfrag.Media{MLine: h.mline, Mid: h.mid}
	if ic == nil {
		m.End = true
		h.trickling = false
	} else {
		m.Candidates = []string{strings.TrimPrefix(ic.ToJSON().Candidate, "candidate:")}
	}
	frag := sdpfrag.Frag{Ufrag: h.ufrag, Pwd: h.pwd, Media: []sdpfrag.Media{m}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, loc, strings.NewReader(frag.Marshal()))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", sdpfrag.MediaType)
	if tag != "" {
		req.Header.Set("If-Match", tag)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		a.event("error", fmt.Sprintf("PATCH %s: %v", loc, err))
		return
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		a.event("error", (&HTTPError{Method: http.MethodPatch, URL: loc, Status: resp.StatusCode, Body: string(body)}).Error())
	}
}

// rollback takes back an ICE-restart offer the server did not answer, so
// that the next restart can be made (the session goes on as it was).
func (a *Agent) rollback(c *Conn, err error) error {
	if rerr := c.PC.SetLocalDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback}); rerr != nil {
		return fmt.Errorf("%w (and rollback: %v)", err, rerr)
	}
	return err
}

// endHTTP DELETEs the session, once.
func (a *Agent) endHTTP() {
	h := a.http
	if h == nil {
		return
	}
	h.mu.Lock()
	loc := h.location
	h.location = ""
	h.mu.Unlock()
	if loc == "" {
		return
	}
	req, err := http.NewRequest(http.MethodDelete, loc, nil)
	if err != nil {
		return
	}
	resp, err := h.client.Do(req)
	if err != nil {
		a.event("error", fmt.Sprintf("DELETE %s: %v", loc, err))
		return
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 { // with the server's reason, as for POST and PATCH
		a.event("error", (&HTTPError{Method: http.MethodDelete, URL: loc, Status: resp.StatusCode, Body: string(body)}).Error())
	}
}

// HTTPSession returns the agent's WHIP or WHEP session URL and the
// entity-tag of its ICE session; "" for an agent that signals.
func (a *Agent) HTTPSession() (location, etag string) {
	if a.http == nil {
		return "", ""
	}
	a.http.mu.Lock()
	defer a.http.mu.Unlock()
	return a.http.location, a.http.etag
}
