package signaling

import "encoding/json"

// Message types.
const (
	TypeJoin       = "join"
	TypeJoined     = "joined"
	TypePeerJoined = "peer-joined"
	TypePeerLeft   = "peer-left"
	TypeOffer      = "offer"
	TypeAnswer     = "answer"
	TypeCandidate  = "candidate"
	TypeLeave      = "leave"
	TypeError      = "error"
)

// Message is one protocol message; which fields are set depends on Type.
type Message struct {
	// Type is one of the Type* constants.
	Type string `json:"type"`
	// Room is the room joined (join, joined, peer-joined, peer-left).
	Room string `json:"room,omitempty"`
	// Name is the joining client (join, joined) or the peer that came or went.
	Name string `json:"name,omitempty"`
	// Peers lists who was in the room before (joined).
	Peers []string `json:"peers,omitempty"`
	// From is set by the server on relayed messages.
	From string `json:"from,omitempty"`
	// To names the recipient of offer, answer and candidate.
	To string `json:"to,omitempty"`
	// SDP is the session description of offer and answer.
	SDP string `json:"sdp,omitempty"`
	// Candidate is a trickled ICE candidate (RTCIceCandidateInit JSON).
	Candidate json.RawMessage `json:"candidate,omitempty"`
	// Error explains a refused request (error).
	Error string `json:"error,omitempty"`
}
