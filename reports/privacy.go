package reports

import (
	"bytes"
	"fmt"
	"html/template"
	"strconv"
	"strings"
)

// Privacy is what each party of a call learnt: the participants'
// addresses it saw and whether the media it carried was readable. Every
// entry is taken from what crossed that party's host or passed through it
// in the run (package runner, privacy.go).
type Privacy struct {
	// Parties lists, for each party (each participant, "signaling",
	// "turn", "sfu"), the addresses it saw.
	Parties []PrivacyParty `json:"parties"`
	// Hops says, for the hops that carried media, whether the media was
	// readable there.
	Hops []PrivacyHop `json:"hops"`
	// ClearExtensions are the RTP header extensions (extmap URIs) seen in
	// the clear in packets crossing the TURN server's host: SRTP encrypts
	// the payload only (RFC 3711 section 3.1), so these stay visible to
	// every hop.
	ClearExtensions []string `json:"clear_header_extensions,omitempty"`
}

// PrivacyParty is what one party saw.
type PrivacyParty struct {
	// Party is a participant's name, "signaling", "turn" or "sfu".
	Party string `json:"party"`
	// Saw lists the addresses, by whose they are and address.
	Saw []SeenAddress `json:"saw"`
}

// How a party learnt an address (SeenAddress.Via).
const (
	// ViaCandidate: an ICE candidate in an SDP or a trickled candidate
	// the signaling server relayed.
	ViaCandidate = "candidate"
	// ViaPacket: the source address of packets that reached the party's
	// host.
	ViaPacket = "packet"
	// ViaAllocation: the source of a TURN Allocate request (RFC 8656
	// section 7.1), the client's reflexive address.
	ViaAllocation = "turn-allocation"
	// ViaTURNPermission: an XOR-PEER-ADDRESS in a CreatePermission
	// request a client sent the TURN server (RFC 8656 sections 9, 14.3).
	ViaTURNPermission = "turn-permission"
	// ViaTURNChannelBind: an XOR-PEER-ADDRESS in a ChannelBind request
	// (RFC 8656 section 11).
	ViaTURNChannelBind = "turn-channel-bind"
	// ViaTURNSend: an XOR-PEER-ADDRESS in a Send indication (RFC 8656
	// section 10).
	ViaTURNSend = "turn-send"
)

// Address classes (SeenAddress.Class).
const (
	ClassPrivate = "private" // RFC 1918, RFC 4193, loopback, link-local
	ClassPublic  = "public"
	ClassMDNS    = "mdns" // a .local name (draft-ietf-rtcweb-mdns-ice-candidates)
	// ClassMDNSResolved is a private address its owner signaled only
	// behind a .local name, handed to the TURN server in a peer address:
	// the other party resolved the name (or met the address in a LAN
	// check) and paired it with its own relayed candidate, which the
	// draft (section 5.2) asks agents not to do.
	ClassMDNSResolved = "mdns-resolved"
)

// SeenAddress is one address of someone a party saw.
type SeenAddress struct {
	// Whose is the participant (or server: "turn", "sfu") the address
	// belongs to or, for a relay candidate, stands for.
	Whose string `json:"whose"`
	// Address is the IP address (or .local name).
	Address string `json:"address"`
	// Class is ClassPrivate, ClassPublic, ClassMDNS or ClassMDNSResolved.
	Class string `json:"class"`
	// Relay is true for a TURN relayed address standing for Whose: the
	// relay's address, not one of Whose's own.
	Relay bool `json:"relay,omitempty"`
	// Via lists how it was learnt (Via* constants), sorted.
	Via []string `json:"via"`
}

// PrivacyHop is whether the media crossing one hop was readable.
type PrivacyHop struct {
	// Hop is "turn" (the TURN server's host, what it relayed) or "sfu"
	// (inside the SFU, after it decrypted SRTP).
	Hop string `json:"hop"`
	// VideoPackets is the number of VP8, VP9 and H.264 video RTP packets
	// examined.
	VideoPackets int `json:"video_packets"`
	// Codecs names their codecs ("VP8", "VP9", "H264"); empty in reports
	// of builds that read VP8 only.
	Codecs []string `json:"codecs,omitempty"`
	// Keyframes is how many of them start a keyframe that parses: for
	// VP8 a payload descriptor with S=1 and partition 0 (RFC 7741 section
	// 4.2), the key frame bit and the start code 9d 01 2a (RFC 6386
	// section 9.1), which ciphertext matches by chance about once in 2^29
	// packets; for VP9 and H.264, runner/privacy_decode.go's checks.
	Keyframes int `json:"keyframes"`
	// KeyframesTried is how many keyframes reassembled from the hop's
	// packets were checked: the first 4, until one was the sender's.
	KeyframesTried int `json:"keyframes_tried"`
	// KeyframesDecoded is how many of those were the sender's: a VP8 one
	// decoded to the sender's picture (luma PSNR of at least 30 dB against
	// the published clip's keyframes; the plaintext decodes bit-exactly),
	// a VP9 or H.264 one is one of the clip's keyframes byte for byte (Go
	// has no decoder for them).
	KeyframesDecoded int `json:"keyframes_decoded"`
	// Readable is true when KeyframesDecoded > 0: the hop could see the
	// video. A keyframe that only parses as one (Keyframes) is not
	// enough: end-to-end encryption leaves its first bytes in clear.
	Readable bool `json:"readable"`
}

// ExposedAddresses is the number of distinct own addresses (relays not
// counted, nor .local names: they hide one) of participant name that
// another participant saw.
func (p *Privacy) ExposedAddresses(name string) int {
	if p == nil {
		return 0
	}
	seen := map[string]bool{}
	for _, party := range p.Parties {
		if party.Party == name || party.Party == "signaling" || party.Party == "turn" || party.Party == "sfu" {
			continue
		}
		for _, a := range party.Saw {
			if a.Whose == name && !a.Relay && a.Class != ClassMDNS {
				seen[a.Address] = true
			}
		}
	}
	return len(seen)
}

// writePrivacy writes the text section: one line per party and address.
func writePrivacy(b *bytes.Buffer, p *Privacy) {
	if p == nil {
		return
	}
	b.WriteString("\nPrivacy (what each party saw)\n")
	var t table
	t.row("PARTY", "WHOSE", "ADDRESS", "CLASS", "HOW")
	for _, row := range privacyRows(p) {
		t.row(row...)
	}
	t.writeTo(b)
	for _, h := range p.Hops {
		fmt.Fprintf(b, "  media at %s: %s (%d %s packets, %d parse as keyframes, %d of %d keyframes tried %s)\n",
			h.Hop, readableText(h.Readable), h.VideoPackets, h.codecNames(), h.Keyframes, h.KeyframesDecoded, h.KeyframesTried, h.matchText())
	}
	if len(p.ClearExtensions) > 0 {
		fmt.Fprintf(b, "  header extensions in clear: %s\n", strings.Join(p.ClearExtensions, ", "))
	}
}

func readableText(ok bool) string {
	if ok {
		return "readable (plaintext)"
	}
	return "not readable (ciphertext)"
}

func privacyRows(p *Privacy) [][]string {
	var rows [][]string
	for _, party := range p.Parties {
		for _, a := range party.Saw {
			whose := a.Whose
			if a.Relay {
				whose += " (relay)"
			}
			rows = append(rows, []string{party.Party, whose, a.Address, a.Class, strings.Join(a.Via, ", ")})
		}
	}
	return rows
}

// privacyHTML renders the privacy section, or nothing without one.
func privacyHTML(p *Privacy) template.HTML {
	if p == nil {
		return ""
	}
	var b strings.Builder
	htmlTable(&b, "Privacy", "Which addresses of whom each party saw, and how: ICE candidates the signaling server relayed, source addresses of packets reaching its host, TURN Allocate requests, and the peer addresses (XOR-PEER-ADDRESS, RFC 8656 section 14.3) clients gave the TURN server in CreatePermission, ChannelBind and Send (turn-permission, turn-channel-bind, turn-send). A relay address is the TURN server's, standing for the participant. mdns-resolved: a private address its owner signaled only behind a .local name, resolved by the other party and handed to the TURN server.",
		5, []string{"Party", "Whose", "Address", "Class", "How"}, privacyRows(p))
	var hops [][]string
	for _, h := range p.Hops {
		hops = append(hops, []string{h.Hop, readableText(h.Readable), h.codecNames(), strconv.Itoa(h.VideoPackets), strconv.Itoa(h.Keyframes),
			fmt.Sprintf("%d of %d", h.KeyframesDecoded, h.KeyframesTried)})
	}
	note := "Keyframes: packets whose payload parses as the start of a keyframe (VP8: RFC 7741 section 4.2, RFC 6386 section 9.1; VP9: RFC 9628 section 4.2 and the frame's sync code; H.264: a STAP-A starting with a sequence parameter set, RFC 6184 section 5.7.1). Decoded: keyframes reassembled from the hop's packets that were the sender's: a VP8 decoder turned them into the sender's picture, or, for VP9 and H.264 (no decoder in Go), they were the sender's keyframes byte for byte; only these make the media readable."
	if len(p.ClearExtensions) > 0 {
		note += " RTP header extensions in clear at the TURN server: " + strings.Join(p.ClearExtensions, ", ") + "."
	}
	htmlTable(&b, "Media readable at", note, 3, []string{"Hop", "Media", "Codecs", "Video packets", "Keyframes", "Decoded"}, hops)
	return template.HTML(b.String()) //nolint:gosec // htmlTable escapes every value
}

// codecNames are the hop's video codecs as the text shows them: VP8 for
// a report that names none (builds that read VP8 only).
func (h PrivacyHop) codecNames() string {
	if len(h.Codecs) == 0 {
		return "VP8"
	}
	return strings.Join(h.Codecs, "/")
}

// matchText says what made a tried keyframe the sender's.
func (h PrivacyHop) matchText() string {
	if h.codecNames() == "VP8" {
		return "decoded to the sender's picture"
	}
	return "were the sender's (VP8 decoded to its picture, VP9 and H.264 byte for byte)"
}
