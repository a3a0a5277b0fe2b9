package runner

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
	"github.com/rtclab/rtclab/stack/clip"
	"github.com/rtclab/rtclab/stack/signaling"
)

// privacyWatch records what each party of a call saw, for the report's
// privacy section: the candidates the signaling server relayed (and so
// their recipients), the packets that reached every host (the captures'
// observer, netem.Observe), and the media the TURN server relayed and the
// SFU decrypted. All its methods may be called from any goroutine.
type privacyWatch struct {
	mu     sync.Mutex
	owner  map[netip.Addr][]string // host and NAT addresses -> host names (several behind one NAT)
	seen   map[seenKey]map[string]bool
	video  map[uint8]string     // VP8, VP9 and H.264 payload types from the SDPs -> MIME type
	extmap map[int]string       // extmap ID -> URI from the SDPs
	clear  map[int]bool         // extension IDs seen at the TURN server's host
	hops   map[string]*mediaHop // "turn", "sfu"
	source sourcePictures       // the published video clips' keyframes
	// known is, per host but the TURN server's, the source addresses
	// whose packets were taken already: every later packet from one
	// records nothing new (packet), and looking it up in seen cost 1-2 %
	// of a conference's CPU (issue #21). learnHosts forgets them.
	known map[string][]netip.Addr
}

// seenKey is who saw whose address: ip, or name when the address is not
// an IP address (a .local name). Kept as netip.Addr so that a packet seen
// again allocates nothing.
type seenKey struct {
	party, whose string
	ip           netip.Addr
	name         string
	relay        bool
}

type mediaHop struct {
	video, keyframes int
	codecs           map[string]bool // "VP8", "VP9", "H264"
	frames           hopFrames       // keyframes reassembled for the decode
}

const signalingParty = "signaling"

func newPrivacyWatch() *privacyWatch {
	return &privacyWatch{owner: map[netip.Addr][]string{}, seen: map[seenKey]map[string]bool{},
		video: map[uint8]string{}, extmap: map[int]string{}, clear: map[int]bool{},
		hops: map[string]*mediaHop{scenarios.TURNHost: {}}, known: map[string][]netip.Addr{}}
}

// observe gives netem.Config.Capture: each host's capture from caps
// (nil: none), observed.
func (w *privacyWatch) observe(caps map[string]*netem.Capture) func(string) *netem.Capture {
	return func(host string) *netem.Capture {
		return netem.Observe(caps[host], func(p netem.Packet) { w.packet(host, p) })
	}
}

// learnHosts records whose every address on the network is.
func (w *privacyWatch) learnHosts(nw netem.Backend) {
	w.mu.Lock()
	defer w.mu.Unlock()
	clear(w.known)
	for _, h := range nw.Hosts() {
		for _, ip := range []net.IP{h.IP, h.PublicIP} {
			if a, ok := netip.AddrFromSlice(ip); ok {
				if a = a.Unmap(); !slices.Contains(w.owner[a], h.Name) {
					w.owner[a] = append(w.owner[a], h.Name)
				}
			}
		}
	}
}

func (w *privacyWatch) see(party, whose string, ip netip.Addr, name string, relay bool, via string) {
	k := seenKey{party: party, whose: whose, ip: ip, name: name, relay: relay}
	if w.seen[k] == nil {
		w.seen[k] = map[string]bool{}
	}
	w.seen[k][via] = true
}

func addrOf(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.AddrPort().Addr().Unmap()
	case *net.TCPAddr:
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// packet takes one packet that crossed host's access link.
func (w *privacyWatch) packet(host string, p netem.Packet) {
	src := addrOf(p.Src)
	w.mu.Lock()
	defer w.mu.Unlock()
	turn := host == scenarios.TURNHost
	if !turn && slices.Contains(w.known[host], src) {
		return
	}
	from := w.owner[src]
	if !turn && len(from) > 0 {
		// What follows depends on host and src alone from here on.
		w.known[host] = append(w.known[host], src)
	}
	if len(from) == 0 || len(from) == 1 && from[0] == host {
		if host == scenarios.TURNHost {
			w.relayed(p.Payload, p.TCP) // what the TURN server sends on
		}
		return // sent by host
	}
	via := reports.ViaPacket
	if host == scenarios.TURNHost {
		if isAllocate(p.Payload) {
			via = reports.ViaAllocation
		}
		for _, pa := range turnPeerAddresses(p.Payload, p.TCP) {
			w.peerAddress(pa)
		}
	}
	// An address shared behind one NAT (a LAN) is each of its hosts'.
	for _, whose := range from {
		if whose != host {
			w.see(host, whose, src, "", false, via)
		}
	}
}

// peerAddress records a peer address a client gave the TURN server: the
// server learns it as the address of whoever owns it (several hosts
// behind one NAT; "unknown" when no host has it). Its own relayed
// addresses tell it nothing.
func (w *privacyWatch) peerAddress(pa peerAddress) {
	owners := w.owner[pa.addr]
	if slices.Contains(owners, scenarios.TURNHost) {
		return
	}
	if len(owners) == 0 {
		owners = []string{unknownOwner}
	}
	for _, whose := range owners {
		w.see(scenarios.TURNHost, whose, pa.addr, "", false, pa.via)
	}
}

// unknownOwner is the owner of an address no host of the network has.
const unknownOwner = "unknown"

// isAllocate reports whether b starts with a STUN Allocate request
// (method 0x003, class request: type 0x0003; RFC 8656 section 18).
func isAllocate(b []byte) bool {
	return len(b) >= 20 && binary.BigEndian.Uint16(b) == 0x0003 && binary.BigEndian.Uint32(b[4:]) == 0x2112A442
}

// relayed looks at what the TURN server sent: ChannelData to a client
// (RFC 8656 section 12.4; over TCP one or more frames, each padded to a
// multiple of 4 bytes, section 12.5, read when the segment starts with
// one) or the bare datagram to a peer. An RTP packet in it (RFC 7983
// section 7: first byte 128..191, not RTCP) is SRTP: its header and
// header extensions are in clear, its payload is checked for a readable
// VP8, VP9 or H.264 keyframe.
func (w *privacyWatch) relayed(b []byte, tcp bool) {
	if len(b) < 4 || b[0] < 0x40 || b[0] > 0x7f {
		if !tcp {
			w.rtp(b)
		}
		return
	}
	for len(b) >= 4 && b[0] >= 0x40 && b[0] <= 0x7f {
		n := int(binary.BigEndian.Uint16(b[2:]))
		if 4+n > len(b) {
			return
		}
		w.rtp(b[4 : 4+n])
		if !tcp {
			return
		}
		b = b[min(len(b), 4+(n+3)/4*4):]
	}
}

func (w *privacyWatch) rtp(b []byte) {
	if len(b) < 12 || b[0] < 128 || b[0] > 191 || (b[1] >= 192 && b[1] <= 223) {
		return
	}
	var h rtp.Header
	n, err := h.Unmarshal(b)
	if err != nil {
		return
	}
	for _, id := range h.GetExtensionIDs() {
		w.clear[int(id)] = true
	}
	if mt := w.video[h.PayloadType]; mt != "" {
		w.count(scenarios.TURNHost, mt, &h, b[n:])
	}
}

func (w *privacyWatch) count(at, mimeType string, hdr *rtp.Header, payload []byte) {
	hp := w.hops[at]
	if hp == nil {
		hp = &mediaHop{}
		w.hops[at] = hp
	}
	hp.video++
	if hp.codecs == nil {
		hp.codecs = map[string]bool{}
	}
	hp.codecs[strings.ToUpper(strings.TrimPrefix(strings.ToLower(mimeType), "video/"))] = true
	if startsKeyframe(mimeType, payload) {
		hp.keyframes++
	}
	hp.frames.packet(mimeType, hdr, payload)
}

// published adds the VP8, VP9 and H.264 clips a participant sends, whose
// keyframes a hop's keyframes are compared with.
func (w *privacyWatch) published(clips ...*clip.Clip) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range clips {
		if privacyVideo(c.MimeType()) && !slices.Contains(w.source.clips, c) {
			w.source.clips = append(w.source.clips, c)
		}
	}
}

// decrypted is sfu.Params.OnMedia: the SFU's plaintext.
func (w *privacyWatch) decrypted(_, mimeType string, pkt *rtp.Packet) {
	if !privacyVideo(mimeType) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.count(scenarios.SFUHost, mimeType, &pkt.Header, pkt.Payload)
}

// vp8Keyframe reports whether an RTP payload starts a VP8 key frame: the
// payload descriptor (RFC 7741 section 4.2) with S set and partition 0,
// then a frame tag with the key frame bit 0 and the start code 9d 01 2a
// (RFC 6386 section 9.1).
func vp8Keyframe(p []byte) bool {
	if len(p) < 1 || p[0]&0x10 == 0 || p[0]&0x07 != 0 {
		return false
	}
	i := 1
	if p[0]&0x80 != 0 { // X: extension byte I L T K
		if len(p) < 2 {
			return false
		}
		x := p[1]
		i = 2
		if x&0x80 != 0 { // I: picture ID, 7 or 15 bits
			if len(p) <= i {
				return false
			}
			if p[i]&0x80 != 0 {
				i++
			}
			i++
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if x&0x30 != 0 { // T or K: TID/Y/KEYIDX
			i++
		}
	}
	if len(p) < i+6 {
		return false
	}
	return p[i]&0x01 == 0 && p[i+3] == 0x9d && p[i+4] == 0x01 && p[i+5] == 0x2a
}

// signaled is signaling.Server.OnRelay: the signaling server and the
// recipient learn the sender's candidates; the SDPs give the video
// payload types and the header extensions negotiated.
func (w *privacyWatch) signaled(m signaling.Message) {
	var lines []string
	if m.SDP != "" {
		lines = strings.Split(strings.ReplaceAll(m.SDP, "\r\n", "\n"), "\n")
	}
	if len(m.Candidate) > 0 {
		var c webrtc.ICECandidateInit
		if json.Unmarshal(m.Candidate, &c) == nil {
			lines = append(lines, "a="+c.Candidate)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "a=candidate:"):
			addr, typ, ok := candidateAddress(strings.TrimPrefix(l, "a="))
			if !ok {
				continue
			}
			ip, err := netip.ParseAddr(addr)
			if err == nil {
				addr = ""
			}
			for _, party := range []string{signalingParty, m.To} {
				w.see(party, m.From, ip.Unmap(), addr, typ == "relay", reports.ViaCandidate)
			}
		case strings.HasPrefix(l, "a=extmap:"):
			f := strings.Fields(strings.TrimPrefix(l, "a=extmap:"))
			if len(f) >= 2 {
				id, err := strconv.Atoi(strings.SplitN(f[0], "/", 2)[0])
				if err == nil {
					w.extmap[id] = f[1]
				}
			}
		case strings.HasPrefix(l, "a=rtpmap:"):
			f := strings.Fields(strings.TrimPrefix(l, "a=rtpmap:"))
			if len(f) == 2 {
				if mt := "video/" + strings.SplitN(f[1], "/", 2)[0]; privacyVideo(mt) {
					if pt, err := strconv.Atoi(f[0]); err == nil && pt >= 0 && pt < 128 {
						w.video[uint8(pt)] = mt
					}
				}
			}
		}
	}
}

// candidateAddress returns the connection address and type of an ICE
// candidate attribute (RFC 8839 section 5.1: "candidate:" foundation
// component transport priority address port "typ" type ...).
func candidateAddress(c string) (addr, typ string, ok bool) {
	f := strings.Fields(c)
	if len(f) < 8 || f[6] != "typ" {
		return "", "", false
	}
	return f[4], f[7], true
}

// addressClass classifies an address a party saw.
func addressClass(s string) string {
	if strings.HasSuffix(strings.ToLower(s), ".local") {
		return reports.ClassMDNS
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return reports.ClassPublic // a name that is not .local resolves publicly
	}
	if a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() {
		return reports.ClassPrivate
	}
	return reports.ClassPublic
}

// report is the privacy section.
func (w *privacyWatch) report() *reports.Privacy {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	// What the signaling server relayed of each participant: its
	// candidates' addresses, and whether it hid some behind .local names.
	signaledIP, signaledName := map[string]map[netip.Addr]bool{}, map[string]bool{}
	for k := range w.seen {
		switch {
		case k.party != signalingParty:
		case k.ip.IsValid():
			if signaledIP[k.whose] == nil {
				signaledIP[k.whose] = map[netip.Addr]bool{}
			}
			signaledIP[k.whose][k.ip] = true
		case addressClass(k.name) == reports.ClassMDNS:
			signaledName[k.whose] = true
		}
	}
	parties := map[string][]reports.SeenAddress{}
	for k, via := range w.seen {
		if k.party == "" || k.whose == "" {
			continue
		}
		addr := k.name
		if k.ip.IsValid() {
			addr = k.ip.String()
		}
		a := reports.SeenAddress{Whose: k.whose, Address: addr, Class: addressClass(addr), Relay: k.relay}
		for v := range via {
			a.Via = append(a.Via, v)
		}
		// A private peer address at the TURN server that its owner only
		// ever signaled as a .local name came from the name's resolution.
		if k.party == scenarios.TURNHost && a.Class == reports.ClassPrivate && signaledName[k.whose] && !signaledIP[k.whose][k.ip] &&
			(via[reports.ViaTURNPermission] || via[reports.ViaTURNChannelBind] || via[reports.ViaTURNSend]) {
			a.Class = reports.ClassMDNSResolved
		}
		slices.Sort(a.Via)
		parties[k.party] = append(parties[k.party], a)
	}
	out := &reports.Privacy{Parties: []reports.PrivacyParty{}, Hops: []reports.PrivacyHop{}}
	for party, saw := range parties {
		slices.SortFunc(saw, func(a, b reports.SeenAddress) int {
			return cmp.Or(cmp.Compare(a.Whose, b.Whose), cmp.Compare(a.Address, b.Address), boolCmp(a.Relay, b.Relay))
		})
		out.Parties = append(out.Parties, reports.PrivacyParty{Party: party, Saw: saw})
	}
	slices.SortFunc(out.Parties, func(a, b reports.PrivacyParty) int { return cmp.Compare(a.Party, b.Party) })
	for name, hp := range w.hops {
		if hp.video == 0 {
			continue
		}
		h := reports.PrivacyHop{Hop: name, VideoPackets: hp.video, Keyframes: hp.keyframes, Codecs: slices.Sorted(maps.Keys(hp.codecs))}
		for _, f := range hp.frames.kept { // one readable keyframe is proof enough
			h.KeyframesTried++
			if _, match := w.source.readable(f); match {
				h.KeyframesDecoded++
				break
			}
		}
		h.Readable = h.KeyframesDecoded > 0
		out.Hops = append(out.Hops, h)
	}
	slices.SortFunc(out.Hops, func(a, b reports.PrivacyHop) int { return cmp.Compare(a.Hop, b.Hop) })
	for id := range w.clear {
		uri := w.extmap[id] // an ID no SDP negotiated is not an extension
		if uri != "" && !slices.Contains(out.ClearExtensions, uri) {
			out.ClearExtensions = append(out.ClearExtensions, uri)
		}
	}
	slices.Sort(out.ClearExtensions)
	return out
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}
