package sfu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// WHIP (RFC 9725) and WHEP (draft-ietf-wish-whep) endpoints of the SFU: a
// participant that does not signal publishes with an HTTP POST of its
// SDP offer to WHIPPath+NAME and watches with one to WHEPPath+NAME; the
// SFU answers "201 Created" with its SDP answer and a Location header,
// the session's URL, which the client DELETEs to leave (RFC 9725
// section 4.2). The offer carries the client's candidates and the answer
// all of the SFU's (section 4.3.2); a client may trickle more and restart
// ICE with HTTP PATCH (section 4.3.1, whip_patch.go).
// A WHEP subscriber's recvonly m-lines are slots the SFU fills with the
// tracks published now and later (whep.go): WHEP has no server offer.
const (
	WHIPPath    = "/whip/"
	WHEPPath    = "/whep/"
	SessionPath = "/session/"
)

const (
	whipPeer = "whip"
	whepPeer = "whep"
	sdpType  = "application/sdp"
	maxSDP   = 64 << 10
)

// httpError is a refusal with its HTTP status.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// Handler serves the WHIP and WHEP endpoints and their sessions. ctx is
// Serve's: the work runs on the SFU's loop, and ends with it.
func (s *SFU) Handler(ctx context.Context) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+WHIPPath+"{name}", func(w http.ResponseWriter, r *http.Request) { s.serveOffer(ctx, w, r, whipPeer) })
	mux.HandleFunc("POST "+WHEPPath+"{name}", func(w http.ResponseWriter, r *http.Request) { s.serveOffer(ctx, w, r, whepPeer) })
	mux.HandleFunc("DELETE "+SessionPath+"{name}", func(w http.ResponseWriter, r *http.Request) { s.serveDelete(ctx, w, r) })
	mux.HandleFunc("PATCH "+SessionPath+"{name}", func(w http.ResponseWriter, r *http.Request) { s.servePatch(ctx, w, r) }) // whip_patch.go
	// CORS preflight (RFC 9725 section 4.2: OPTIONS, Accept-Post).
	for _, p := range []string{WHIPPath, WHEPPath} {
		mux.HandleFunc("OPTIONS "+p+"{name}", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Accept-Post", sdpType)
			w.WriteHeader(http.StatusOK)
		})
	}
	return mux
}

func (s *SFU) serveOffer(ctx context.Context, w http.ResponseWriter, r *http.Request, mode string) {
	name := r.PathValue("name")
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != sdpType {
		http.Error(w, fmt.Sprintf("content type %q: the offer must be %s (RFC 9725 section 4.2)", r.Header.Get("Content-Type"), sdpType), http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSDP+1))
	if err != nil {
		http.Error(w, "reading the offer: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > maxSDP {
		http.Error(w, fmt.Sprintf("offer larger than %d bytes", maxSDP), http.StatusRequestEntityTooLarge)
		return
	}
	var parsed sdp.SessionDescription
	if err := parsed.Unmarshal(body); err != nil {
		http.Error(w, "malformed SDP offer: "+err.Error(), http.StatusUnprocessableEntity)
		return
	}
	type result struct {
		answer, etag string
		err          error
	}
	done := make(chan result, 1)
	s.post(ctx, func() {
		a, err := s.httpOffer(ctx, name, mode, string(body))
		tag := ""
		if sub := s.peers[name]; err == nil && sub != nil {
			tag = etag(sub)
		}
		done <- result{a, tag, err}
	})
	res, ok := awaitLoop(ctx, w, r, done)
	if !ok || writeError(w, res.err) {
		return
	}
	w.Header().Set("Content-Type", sdpType)
	w.Header().Set("Location", SessionPath+name)
	w.Header().Set("ETag", res.etag)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, res.answer)
}

// awaitLoop waits for the Serve loop's answer to an HTTP request; false
// when the SFU shut down first (503 written) or the client went away.
func awaitLoop[T any](ctx context.Context, w http.ResponseWriter, r *http.Request, done <-chan T) (T, bool) {
	var res T
	select {
	case res = <-done:
		return res, true
	case <-ctx.Done():
		http.Error(w, "the SFU is shutting down", http.StatusServiceUnavailable)
	case <-r.Context().Done():
	}
	return res, false
}

// writeError answers err, if any, with its httpError status (500 for
// any other error) and reports whether it did.
func writeError(w http.ResponseWriter, err error) bool {
	if err == nil {
		return false
	}
	var he *httpError
	if errors.As(err, &he) {
		http.Error(w, he.msg, he.status)
	} else {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
	return true
}

// httpOffer answers a WHIP or WHEP offer on the Serve loop.
func (s *SFU) httpOffer(ctx context.Context, name, mode, offer string) (string, error) {
	if name == "" || name == Name || strings.ContainsAny(name, "/ ") {
		return "", &httpError{http.StatusBadRequest, fmt.Sprintf("participant name %q is not allowed", name)}
	}
	if s.peers[name] != nil {
		return "", &httpError{http.StatusConflict, fmt.Sprintf("%s is already in the room", name)}
	}
	sub, err := s.addPeer(ctx, name)
	if err != nil {
		return "", err
	}
	sub.http = mode
	sub.caps = offeredCodecs(offer)
	fail := func(status int, err error) (string, error) {
		s.removePeer(ctx, name)
		return "", &httpError{status, err.Error()}
	}
	if err := sub.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fail(http.StatusUnprocessableEntity, fmt.Errorf("SDP offer refused: %w", err))
	}
	if mode == whepPeer {
		// Its recvonly m-lines are slots (whep.go), filled now with what
		// is published and later with what will be.
		if err := s.addSlots(sub); err != nil {
			return fail(http.StatusInternalServerError, err)
		}
	}
	answer, err := sub.pc.CreateAnswer(nil)
	if err != nil {
		return fail(http.StatusUnprocessableEntity, fmt.Errorf("no answer to this offer: %w", err))
	}
	gathered := webrtc.GatheringCompletePromise(sub.pc.PeerConnection)
	if err := sub.pc.SetLocalDescription(answer); err != nil {
		return fail(http.StatusInternalServerError, fmt.Errorf("set answer: %w", err))
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return fail(http.StatusServiceUnavailable, ctx.Err())
	}
	s.stats.answers.Add(1)
	desc := sub.pc.LocalDescription()
	s.stats.answerBytes.Add(uint64(len(desc.SDP)))
	s.event(mode+"-session", name, "created")
	return desc.SDP, nil
}

func (s *SFU) serveDelete(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	found := make(chan bool, 1)
	s.post(ctx, func() {
		sub := s.peers[name]
		if sub == nil || sub.http == "" {
			found <- false
			return
		}
		s.removePeer(ctx, name)
		s.event("peer-removed", name, sub.http+" session deleted")
		found <- true
	})
	select {
	case ok := <-found:
		if !ok {
			http.Error(w, "no WHIP or WHEP session "+name, http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusOK)
	case <-ctx.Done():
		http.Error(w, "the SFU is shutting down", http.StatusServiceUnavailable)
	}
}

// PublishedTracks returns how many tracks the SFU offers subscribers now;
// 0 when ctx ends first.
func (s *SFU) PublishedTracks(ctx context.Context) int {
	n := make(chan int, 1)
	s.post(ctx, func() { n <- len(s.tracks) })
	select {
	case v := <-n:
		return v
	case <-ctx.Done():
		return 0
	}
}
