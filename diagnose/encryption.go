package diagnose

import (
	"strings"

	"github.com/rtclab/rtclab/probes/pathprobe"
)

// Roles of a server on a path (Encryption.Role).
const (
	// RoleRelay forwarded the path's packets: a TURN server whose relayed
	// address was the selected local candidate (RFC 8656).
	RoleRelay = "relay"
	// RoleEndpoint was the far end of DTLS: the test peer here, an SFU
	// or the other browser in a call.
	RoleEndpoint = "endpoint"
)

// What a server could do with the media (Encryption.Media).
const (
	// MediaEndToEnd: the server forwarded DTLS and SRTP between this
	// machine and a DTLS peer whose certificate was not its own, so it
	// carried ciphertext it has no keys for.
	MediaEndToEnd = "end-to-end"
	// MediaTerminated: the server was the DTLS peer, so it holds the SRTP
	// keys (RFC 5764 section 4.2) and can read the media unless the app
	// encrypts the frames end to end as well (SFrame, RFC 9605).
	MediaTerminated = "terminated"
	// MediaUnknown: no verified certificate was read on the path, so
	// where DTLS ended is not known.
	MediaUnknown = "unknown"
)

// Encryption is what one server on one measured path could read.
type Encryption struct {
	// Path is the kind of path.
	Path pathprobe.Kind `json:"path"`
	// Server is the TURN URL of a relay, or "test peer".
	Server string `json:"server"`
	// Role is RoleRelay or RoleEndpoint.
	Role string `json:"role"`
	// Address is the server's address on the path: the relayed address
	// for a relay, the remote candidate for the endpoint.
	Address string `json:"address,omitempty"`
	// Media is MediaEndToEnd, MediaTerminated or MediaUnknown.
	Media string `json:"media"`
	// Why says in words what the statement rests on.
	Why string `json:"why"`
}

// TestPeer names the test peer in Encryption.Server.
const TestPeer = "test peer"

// encryption derives, for every path that connected, what each server on
// it could read, from what the path's call did: the selected candidate
// pair says whether a TURN relay forwarded the packets (its local
// candidate was relayed) and where DTLS went (the remote candidate), and
// the certificate the DTLS handshake verified says who terminated it —
// the party whose fingerprint was in the answer its signaling returned
// (RFC 8842 section 5). A relay on a path whose DTLS peer proved to be
// that party carried ciphertext; that party holds the keys.
func encryption(paths []pathprobe.Result) []Encryption {
	out := []Encryption{}
	for _, p := range paths {
		if !p.OK {
			continue
		}
		verified := p.DTLSFingerprint != "" && strings.EqualFold(p.DTLSFingerprint, p.PeerFingerprint)
		far := candidateAddress(p.Remote)
		if p.Relay != "" {
			e := Encryption{Path: p.Kind, Server: p.Relay, Role: RoleRelay, Address: candidateAddress(p.Local), Media: MediaUnknown,
				Why: "it relayed the path's packets, but no DTLS certificate was verified on the path"}
			if verified {
				e.Media = MediaEndToEnd
				e.Why = "it relayed DTLS-SRTP between this machine and " + far + ", whose certificate (" + short(p.DTLSFingerprint) +
					") is the one the test peer's answer named: it forwarded ciphertext and holds no key"
			}
			out = append(out, e)
		}
		e := Encryption{Path: p.Kind, Server: TestPeer, Role: RoleEndpoint, Address: far, Media: MediaUnknown,
			Why: "no DTLS certificate matching its answer was verified on the path"}
		if verified {
			e.Media = MediaTerminated
			via := "directly"
			if p.Relay != "" {
				via = "through the relay"
			}
			e.Why = "DTLS ended at it (" + via + "), with the certificate its answer named (" + short(p.DTLSFingerprint) +
				"): it holds the SRTP keys and reads the media, as an SFU does, unless the app encrypts frames end to end (SFrame)"
		}
		out = append(out, e)
	}
	return out
}

// candidateAddress is the address of a "type proto address" candidate
// description (pathprobe.Result.Local and Remote) or of the browser's
// "address type".
func candidateAddress(c string) string {
	f := strings.Fields(c)
	switch {
	case len(f) == 3:
		return f[2]
	case len(f) == 2:
		return f[0]
	}
	return c
}

// short abbreviates a fingerprint to its algorithm and first four bytes.
func short(fp string) string {
	alg, hex, ok := strings.Cut(fp, " ")
	if !ok || len(hex) <= 11 {
		return fp
	}
	return alg + " " + hex[:11] + "…"
}

// Words says an Encryption in one line for the text and HTML reports.
func (e Encryption) Words() string {
	switch e.Media {
	case MediaEndToEnd:
		return "end-to-end encrypted through it: " + e.Why
	case MediaTerminated:
		return "terminated there: " + e.Why
	}
	return "not known: " + e.Why
}
