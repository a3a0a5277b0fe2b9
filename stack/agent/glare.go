package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab/stack/peer"
	"github.com/rtclab/rtclab/stack/signaling"
)

// Offer collisions ("glare", RFC 8829 section 4.1.8.1: a remote offer
// while one's own is outstanding) are settled by perfect negotiation, as
// the W3C WebRTC 1.0 specification's example does it (section 10.7): one
// end of each connection is polite and rolls its own offer back (JSEP
// section 5.7, SDP type rollback) to answer the other's; the impolite end
// ignores the offer that collided with its own and waits for its answer.
// Both ends restarting ICE at one instant (a network change seen by both,
// ice_restart steps for both) is the common case.

// polite reports whether this end yields in a collision on its connection
// to remote: every client towards the SFU (which never yields), and in p2p
// the end that does not restart ICE on its own (restarter), so that the
// end that restarts keeps its offer.
func (a *Agent) polite(remote string) bool {
	return a.p.Topology == TopologySFU || !a.restarter(remote)
}

// onOffer answers a remote offer, settling a collision with our own
// outstanding offer first (loop only).
func (a *Agent) onOffer(ctx context.Context, m signaling.Message) error {
	c, err := a.conn(ctx, m.From)
	if err != nil {
		return err
	}
	offer := webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP}
	reoffer := false
	if c.PC.SignalingState() == webrtc.SignalingStateHaveLocalOffer {
		if !a.polite(m.From) {
			a.event("glare", fmt.Sprintf("%s: ignored its offer, ours is outstanding", m.From))
			return nil
		}
		if err := rollback(c.PC); err != nil {
			return fmt.Errorf("glare with %s: rollback: %w", m.From, err)
		}
		// Our offer restarted ICE; the answer to theirs restarts it too
		// only when theirs does (new credentials: RFC 8445 section 9).
		// Otherwise ours is offered again once we are stable.
		reoffer = c.offeredRestart && !restartsICE(offer, c.PC.CurrentRemoteDescription())
		c.offeredRestart = false
		a.event("rollback", fmt.Sprintf("%s: our offer rolled back for theirs", m.From))
	}
	if err := c.PC.SetRemoteDescription(offer); err != nil {
		return fmt.Errorf("set offer: %w", err)
	}
	if err := c.PC.FlushCandidates(); err != nil {
		return err
	}
	ans, err := c.PC.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("create answer: %w", err)
	}
	if err := c.PC.SetLocalDescription(ans); err != nil {
		return fmt.Errorf("set answer: %w", err)
	}
	// An answerer sends simulcast too (a p2p peer who joined second):
	// its layers need their MID and RID as much as an offerer's.
	c.tagSimulcast()
	if err := a.signal().Send(ctx, signaling.Message{Type: signaling.TypeAnswer, To: m.From, SDP: c.PC.ConcealSDP(ans.SDP)}); err != nil {
		return err
	}
	if reoffer {
		return a.restartICE(ctx, m.From)
	}
	return nil
}

// restartsICE reports whether offer carries ICE credentials other than
// those of the current remote description (an ICE restart, RFC 8445
// section 9; RFC 8839 section 4.4.1.1.2: a new ice-ufrag). Without a
// current description, or with a description that cannot be read, it is
// taken to restart nothing.
func restartsICE(offer webrtc.SessionDescription, current *webrtc.SessionDescription) bool {
	if current == nil {
		return false
	}
	u1, u2 := iceUfrag(offer), iceUfrag(*current)
	return u1 != "" && u2 != "" && u1 != u2
}

// iceUfrag is the first ice-ufrag of a description: at session level, or
// of its first media section that has one (pion bundles all media on one
// ICE transport).
func iceUfrag(d webrtc.SessionDescription) string {
	parsed, err := d.Unmarshal()
	if err != nil {
		return ""
	}
	if v, ok := parsed.Attribute("ice-ufrag"); ok {
		return v
	}
	for _, md := range parsed.MediaDescriptions {
		if v, ok := md.Attribute("ice-ufrag"); ok {
			return v
		}
	}
	return ""
}

// errNothingToRollBackTo: an offer collided with our first offer, before
// any session was negotiated (rtclab's agents never do that: the one
// already in the room offers, and an SFU waits for its clients' offers).
var errNothingToRollBackTo = errors.New("no negotiated session to return to")

// rollback discards our outstanding offer and returns pc to the session
// last negotiated, in the stable state (JSEP, RFC 8829 section 5.7).
// pion v4.2 refuses SetLocalDescription(rollback) in have-local-offer
// (checkNextSignalingState has no rollback transition; v4.2.26, the newest
// release, neither), so when it does the remote's current description is
// applied again as the answer to our offer: the only transition pion has
// out of have-local-offer, to the session both ends last agreed on. Our
// offer changed only ICE credentials (the agents never add m-lines after
// their first offer), so the answer matches its m-lines; the ICE agent
// keeps the local credentials it made for the offer, which the answer to
// the remote's offer then carries.
func rollback(pc *peer.PC) error {
	pending := pc.PendingLocalDescription()
	if pending != nil && pc.SetLocalDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback, SDP: pending.SDP}) == nil {
		return nil
	}
	cur, local := pc.CurrentRemoteDescription(), pc.CurrentLocalDescription()
	if cur == nil || local == nil {
		return errNothingToRollBackTo
	}
	sdp := cur.SDP
	if cur.Type == webrtc.SDPTypeOffer {
		sdp = offerAsAnswer(sdp, *local)
	}
	return pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp})
}

// offerAsAnswer turns the remote's last offer into the answer it stands
// for: the DTLS role it offered open (a=setup:actpass) becomes the one it
// took when we answered (RFC 5763 section 5: the opposite of ours).
func offerAsAnswer(offer string, ours webrtc.SessionDescription) string {
	theirs := "a=setup:active"
	if strings.Contains(ours.SDP, "a=setup:active") {
		theirs = "a=setup:passive"
	}
	return strings.ReplaceAll(offer, "a=setup:actpass", theirs)
}
