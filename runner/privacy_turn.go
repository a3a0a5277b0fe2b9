package runner

import (
	"encoding/binary"
	"net/netip"

	"github.com/pion/stun/v3"

	"github.com/rtclab/rtclab/reports"
)

// What a TURN server learns of the other party of a call: the peer
// addresses its clients name in XOR-PEER-ADDRESS (RFC 8656 section
// 14.3) — CreatePermission requests (section 9), ChannelBind requests
// (section 11) and Send indications (section 10) — every address ICE
// pairs the client's relayed candidate with, the remote party's private
// ones included, even when the server then refuses to relay to them.

// peerAddress is one XOR-PEER-ADDRESS a client sent, with how
// (reports.ViaTURN* constant).
type peerAddress struct {
	addr netip.Addr
	via  string
}

// turnPeerMethods are the client-to-server messages that carry a peer
// address, with what each is called in the report.
var turnPeerMethods = map[stun.MessageType]string{
	stun.NewType(stun.MethodCreatePermission, stun.ClassRequest): reports.ViaTURNPermission,
	stun.NewType(stun.MethodChannelBind, stun.ClassRequest):      reports.ViaTURNChannelBind,
	stun.NewType(stun.MethodSend, stun.ClassIndication):          reports.ViaTURNSend,
}

// turnPeerAddresses returns the peer addresses in what a client sent to
// the TURN server: one datagram over UDP, or one segment over TCP, which
// may hold several STUN messages and ChannelData frames back to back
// (RFC 8656 section 12.5: ChannelData padded to 4 bytes); a message cut
// by the segment's end is left out. The messages are decoded by pion's
// STUN parser.
func turnPeerAddresses(b []byte, tcp bool) []peerAddress {
	var out []peerAddress
	for len(b) >= 4 {
		var n int
		switch {
		case b[0] >= 0x40 && b[0] <= 0x7f: // ChannelData: relayed data, no address
			n = 4 + (int(binary.BigEndian.Uint16(b[2:]))+3)/4*4
		case b[0] < 0x40 && len(b) >= 20 && binary.BigEndian.Uint32(b[4:]) == 0x2112A442: // the magic cookie, RFC 8489 section 5
			n = 20 + int(binary.BigEndian.Uint16(b[2:]))
			if n <= len(b) {
				out = append(out, stunPeerAddresses(b[:n])...)
			}
		default:
			return out
		}
		if !tcp || n > len(b) {
			return out
		}
		b = b[n:]
	}
	return out
}

// stunPeerAddresses decodes one STUN message and returns its
// XOR-PEER-ADDRESS attributes (a CreatePermission may carry several,
// RFC 8656 section 9.1) if it is one of turnPeerMethods.
func stunPeerAddresses(b []byte) []peerAddress {
	m := &stun.Message{Raw: append([]byte(nil), b...)}
	if m.Decode() != nil {
		return nil
	}
	via, ok := turnPeerMethods[m.Type]
	if !ok {
		return nil
	}
	var out []peerAddress
	for _, a := range m.Attributes {
		if a.Type != stun.AttrXORPeerAddress || !xorAddressShaped(a.Value) {
			continue
		}
		one := &stun.Message{TransactionID: m.TransactionID}
		one.Add(stun.AttrXORPeerAddress, a.Value)
		var x stun.XORMappedAddress
		if x.GetFromAs(one, stun.AttrXORPeerAddress) != nil {
			continue
		}
		if ip, ok := netip.AddrFromSlice(x.IP); ok {
			out = append(out, peerAddress{addr: ip.Unmap(), via: via})
		}
	}
	return out
}

// xorAddressShaped reports whether v has the length its family calls for
// (RFC 8489 section 14.2: 8 bytes for IPv4, family 0x01; 20 for IPv6,
// 0x02). pion/stun v3.0.2's XORMappedAddress.GetFromAs panics on some
// shorter values (xoraddr.go:94, slice bounds out of range: found by
// FuzzTURNPeerAddresses), so they are refused before it reads them.
func xorAddressShaped(v []byte) bool {
	switch {
	case len(v) == 8:
		return v[1] == 0x01
	case len(v) == 20:
		return v[1] == 0x02
	}
	return false
}
