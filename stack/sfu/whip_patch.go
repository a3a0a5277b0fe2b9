package sfu

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab/stack/sdpfrag"
)

// HTTP PATCH of a WHIP or WHEP session (RFC 9725 section 4.3.1; WHEP
// takes WHIP's): a body of type application/trickle-ice-sdpfrag (RFC
// 8840) either trickles the client's candidates into the current ICE
// session or, with "If-Match: *", restarts ICE with the fragment's new
// credentials. The session's entity-tag names its ICE session (the SFU's
// ice-ufrag): it is sent with "201 Created" and with a restart's "200
// OK"; a trickle whose If-Match names another ICE session is refused
// with "412 Precondition Failed" (it was meant for an ICE session a
// restart ended). Trickle answers "204 No Content". A restart answers
// the SFU's new credentials and every candidate, so the client need not
// wait for trickle from the server, which WHIP has not.

// servePatch answers a PATCH of the session name.
func (s *SFU) servePatch(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != sdpfrag.MediaType {
		http.Error(w, fmt.Sprintf("content type %q: a PATCH must be %s (RFC 9725 section 4.3.1)", r.Header.Get("Content-Type"), sdpfrag.MediaType), http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, sdpfrag.MaxSize+1))
	if err != nil {
		http.Error(w, "reading the fragment: "+err.Error(), http.StatusBadRequest)
		return
	}
	frag, err := sdpfrag.Parse(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	type result struct {
		status     int
		etag, body string
		err        error
	}
	done := make(chan result, 1)
	ifMatch := r.Header.Get("If-Match")
	s.post(ctx, func() {
		st, etag, b, err := s.patch(ctx, name, ifMatch, frag)
		done <- result{st, etag, b, err}
	})
	res, ok := awaitLoop(ctx, w, r, done)
	if !ok || writeError(w, res.err) {
		return
	}
	w.Header().Set("ETag", res.etag)
	if res.body != "" {
		w.Header().Set("Content-Type", sdpfrag.MediaType)
	}
	w.WriteHeader(res.status)
	_, _ = io.WriteString(w, res.body)
}

// etag is the entity-tag of sub's ICE session: its local ice-ufrag,
// quoted (RFC 9110 section 8.8.3).
func etag(sub *subscriber) string {
	d := sub.pc.LocalDescription()
	if d == nil {
		return `""`
	}
	f, _ := sdpfrag.FromSDP(d.SDP)
	return `"` + f.Ufrag + `"`
}

// patch trickles or restarts on the Serve loop; it returns the status,
// the entity-tag and the body to answer.
func (s *SFU) patch(ctx context.Context, name, ifMatch string, frag sdpfrag.Frag) (int, string, string, error) {
	sub := s.peers[name]
	if sub == nil || sub.http == "" {
		return 0, "", "", &httpError{http.StatusNotFound, "no WHIP or WHEP session " + name}
	}
	cur := etag(sub)
	remote, err := sdpfrag.FromSDP(sub.pc.RemoteDescription().SDP)
	if err != nil {
		return 0, "", "", err
	}
	if ifMatch != "*" {
		if ifMatch != "" && ifMatch != cur {
			return 0, "", "", &httpError{http.StatusPreconditionFailed, fmt.Sprintf("If-Match %s is not the current ICE session %s (restarted since)", ifMatch, cur)}
		}
		if frag.Ufrag != "" && frag.Ufrag != remote.Ufrag {
			return 0, "", "", &httpError{http.StatusUnprocessableEntity, fmt.Sprintf("ice-ufrag %q is not this ICE session's (%q): an ICE restart is sent with If-Match: * (RFC 9725 section 4.3.1)", frag.Ufrag, remote.Ufrag)}
		}
		n, err := addCandidates(sub.pc.PeerConnection, frag)
		if err != nil {
			return 0, "", "", &httpError{http.StatusUnprocessableEntity, err.Error()}
		}
		s.event(sub.http+"-trickle", name, fmt.Sprintf("%d candidates", n))
		return http.StatusNoContent, cur, "", nil
	}
	// ICE restart (RFC 9725 section 4.3.1; RFC 8445 section 9): the
	// offer that was, with the new credentials; pion restarts its side
	// on a remote offer whose credentials changed.
	if frag.Ufrag == "" || frag.Pwd == "" {
		return 0, "", "", &httpError{http.StatusUnprocessableEntity, "an ICE restart (If-Match: *) must carry the new ice-ufrag and ice-pwd (RFC 9725 section 4.3.1)"}
	}
	if frag.Ufrag == remote.Ufrag {
		return 0, "", "", &httpError{http.StatusUnprocessableEntity, fmt.Sprintf("ice-ufrag %q is the current one: an ICE restart needs new credentials (RFC 8445 section 9)", frag.Ufrag)}
	}
	offer := sdpfrag.WithCredentials(sub.pc.RemoteDescription().SDP, frag)
	if err := sub.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return 0, "", "", &httpError{http.StatusUnprocessableEntity, fmt.Sprintf("ICE restart refused: %v", err)}
	}
	answer, err := sub.pc.CreateAnswer(nil)
	if err != nil {
		return 0, "", "", fmt.Errorf("ICE restart answer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(sub.pc.PeerConnection)
	if err := sub.pc.SetLocalDescription(answer); err != nil {
		return 0, "", "", fmt.Errorf("ICE restart answer: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return 0, "", "", &httpError{http.StatusServiceUnavailable, "the SFU is shutting down"}
	}
	if _, err := addCandidates(sub.pc.PeerConnection, frag); err != nil {
		return 0, "", "", &httpError{http.StatusUnprocessableEntity, err.Error()}
	}
	local, err := sdpfrag.FromSDP(sub.pc.LocalDescription().SDP)
	if err != nil {
		return 0, "", "", err
	}
	local.Media[0].End = true
	s.stats.answers.Add(1)
	s.event(sub.http+"-ice-restart", name, "ICE session "+etag(sub))
	return http.StatusOK, etag(sub), local.Marshal(), nil
}

// addCandidates adds the fragment's candidates to pc; it returns how
// many.
func addCandidates(pc *webrtc.PeerConnection, f sdpfrag.Frag) (int, error) {
	n := 0
	for _, m := range f.Media {
		mid := m.Mid
		for _, c := range m.Candidates {
			if err := pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: "candidate:" + c, SDPMid: &mid}); err != nil {
				return n, fmt.Errorf("candidate %q of mid %s: %w", c, mid, err)
			}
			n++
		}
	}
	return n, nil
}
