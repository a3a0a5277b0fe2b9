package verify

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// pcapFile builds a LINKTYPE_IPV4 capture of UDP datagrams.
func pcapFile(dgs []Datagram) []byte {
	var b bytes.Buffer
	h := make([]byte, 24)
	binary.LittleEndian.PutUint32(h, 0xa1b2c3d4)
	binary.LittleEndian.PutUint32(h[20:], linkIPv4)
	b.Write(h)
	for _, d := range dgs {
		n := 28 + len(d.Payload)
		rec := make([]byte, 16+n)
		binary.LittleEndian.PutUint32(rec[0:], uint32(d.At.Unix()))
		binary.LittleEndian.PutUint32(rec[4:], uint32(d.At.Nanosecond()/1000))
		binary.LittleEndian.PutUint32(rec[8:], uint32(n))
		binary.LittleEndian.PutUint32(rec[12:], uint32(n))
		ip := rec[16:]
		ip[0], ip[9] = 0x45, 17
		binary.BigEndian.PutUint16(ip[2:], uint16(n))
		s4, d4 := d.Src.Addr().As4(), d.Dst.Addr().As4()
		copy(ip[12:], s4[:])
		copy(ip[16:], d4[:])
		binary.BigEndian.PutUint16(ip[20:], d.Src.Port())
		binary.BigEndian.PutUint16(ip[22:], d.Dst.Port())
		binary.BigEndian.PutUint16(ip[24:], uint16(8+len(d.Payload)))
		copy(ip[28:], d.Payload)
		b.Write(rec)
	}
	return b.Bytes()
}

func rtpBytes(pt uint8, seq uint16, ts, ssrc uint32, body int) []byte {
	p := make([]byte, 12+body)
	p[0], p[1] = 0x80, pt
	binary.BigEndian.PutUint16(p[2:], seq)
	binary.BigEndian.PutUint32(p[4:], ts)
	binary.BigEndian.PutUint32(p[8:], ssrc)
	return p
}

func TestDemux(t *testing.T) {
	media := rtpBytes(96, 7, 9000, 0xabc, 100)
	channel := append([]byte{0x40, 0x01, 0, byte(len(media))}, media...)
	nack := []byte{0x81, 205, 0, 3, 0, 0, 0, 9, 1, 2, 3, 4}
	for _, tc := range []struct {
		name           string
		in             []byte
		rtpSeq         int // -1: no RTP
		rtcpPT, rtcpFT int
	}{
		{"rtp", media, 7, 0, 0},
		{"rtp in TURN ChannelData", channel, 7, 0, 0},
		{"SRTCP NACK header", nack, -1, 205, 1},
		{"STUN", []byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, -1, 0, 0},
		{"short", []byte{0x80, 96, 0}, -1, 0, 0},
		{"truncated ChannelData", []byte{0x40, 0x01, 0xff, 0xff, 1}, -1, 0, 0},
	} {
		r, c, _ := demux(tc.in)
		if (r == nil) != (tc.rtpSeq < 0) || (r != nil && int(r.Seq) != tc.rtpSeq) {
			t.Errorf("%s: RTP %+v, want seq %d", tc.name, r, tc.rtpSeq)
		}
		if tc.rtcpPT != 0 && (c == nil || int(c.PT) != tc.rtcpPT || int(c.FMT) != tc.rtcpFT) {
			t.Errorf("%s: RTCP %+v, want PT %d FMT %d", tc.name, c, tc.rtcpPT, tc.rtcpFT)
		}
	}
}

// RFC 3550 A.8 jitter recomputed: packets 20 ms apart in RTP time arrive
// with transit alternating 0 and 10 ms: D = 10 ms each time, so J goes
// to 10 ms; with constant transit J stays 0.
func TestJitterA8(t *testing.T) {
	self := netip.MustParseAddrPort("10.0.0.2:5000")
	peer := netip.MustParseAddrPort("198.51.100.1:6000")
	for _, tc := range []struct {
		name   string
		wobble time.Duration
		want   float64
	}{{"constant transit", 0, 0}, {"alternating 10 ms", 10 * time.Millisecond, 10}} {
		var dgs []Datagram
		at := virtualEpoch
		for i := 0; i < 400; i++ {
			extra := time.Duration(0)
			if i%2 == 1 {
				extra = tc.wobble
			}
			dgs = append(dgs, Datagram{At: at.Add(time.Duration(i)*20*time.Millisecond + extra), Src: peer, Dst: self,
				Payload: rtpBytes(111, uint16(i), uint32(i*960), 1, 50)})
		}
		rx := parseCaptureBytes(t, pcapFile(dgs), self.Addr())
		sc := &StreamCount{Kind: "audio", SSRC: 1}
		sc.count(&capture{}, &capture{}, rx, 48000, time.Time{})
		if d := sc.JitterMS - tc.want; d > 0.01 || d < -0.01 {
			t.Errorf("%s: jitter %.4f ms, want %.1f", tc.name, sc.JitterMS, tc.want)
		}
		if sc.Arrived != 400 || sc.Unique != 400 {
			t.Errorf("%s: arrived %d unique %d, want 400", tc.name, sc.Arrived, sc.Unique)
		}
	}
}

// A duplicated packet (a link's duplicate:) arrives twice with one
// transit; SRTP's replay check drops the copy before the application,
// whose jitter (the report's) it never enters. The recount counted it,
// D = 0, and came out 5.6 % under the report on a 60 s call with 1 %
// duplicates (13.44 against 14.23 ms): here every 4th packet's copy
// pulled J from 10 ms to 7.7 ms.
func TestJitterA8IgnoresDuplicates(t *testing.T) {
	self := netip.MustParseAddrPort("10.0.0.2:5000")
	peer := netip.MustParseAddrPort("198.51.100.1:6000")
	var dgs []Datagram
	for i := 0; i < 400; i++ {
		at := virtualEpoch.Add(time.Duration(i) * 20 * time.Millisecond)
		if i%2 == 1 {
			at = at.Add(10 * time.Millisecond)
		}
		d := Datagram{At: at, Src: peer, Dst: self, Payload: rtpBytes(111, uint16(i), uint32(i*960), 1, 50)}
		dgs = append(dgs, d)
		if i%4 == 3 {
			dgs = append(dgs, d)
		}
	}
	rx := parseCaptureBytes(t, pcapFile(dgs), self.Addr())
	sc := &StreamCount{Kind: "audio", SSRC: 1}
	sc.count(&capture{}, &capture{}, rx, 48000, time.Time{})
	if d := sc.JitterMS - 10; d > 0.01 || d < -0.01 {
		t.Errorf("jitter %.4f ms, want 10 (duplicates left out)", sc.JitterMS)
	}
	if sc.Arrived != 500 || sc.Unique != 400 {
		t.Errorf("arrived %d unique %d, want 500 and 400", sc.Arrived, sc.Unique)
	}
}

func parseCaptureBytes(t *testing.T, b []byte, self netip.Addr) *capture {
	t.Helper()
	dgs, err := ReadPcap(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := &capture{self: self}
	for _, d := range dgs {
		if r, _, _ := demux(d.Payload); r != nil {
			c.rtp = append(c.rtp, rtpRecord{At: d.At, Out: d.Src.Addr() == c.self, RTP: *r})
		}
	}
	return c
}

// FuzzReadPcap: any bytes give datagrams or an error, never a panic, and
// every datagram's payload demultiplexes without one.
func FuzzReadPcap(f *testing.F) {
	f.Add(pcapFile([]Datagram{{At: virtualEpoch, Src: netip.MustParseAddrPort("10.0.0.1:1"), Dst: netip.MustParseAddrPort("10.0.0.2:2"),
		Payload: rtpBytes(96, 1, 2, 3, 10)}}))
	f.Add([]byte{0xd4, 0xc3, 0xb2, 0xa1})
	f.Fuzz(func(t *testing.T, b []byte) {
		dgs, _ := ReadPcap(bytes.NewReader(b))
		for _, d := range dgs {
			demux(d.Payload)
			parseHellos(d.Payload)
		}
	})
}

// FuzzParseTshark: tshark's field output never panics the parser.
func FuzzParseTshark(f *testing.F) {
	f.Add([]byte("10.0.0.2\t0x1234abcd\n198.51.100.1\t0x1,0x2\n\t\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseTshark(b, "10.0.0.2")
	})
}

// TURN over TCP: ChannelData messages (padded to 4 bytes) split across
// segments, one segment retransmitted and one out of order, come out as
// one datagram each, in order.
func TestTCPReassembly(t *testing.T) {
	a := netip.MustParseAddrPort("10.0.2.2:40000")
	b := netip.MustParseAddrPort("198.51.100.10:3478")
	var stream []byte
	for i := 0; i < 5; i++ {
		p := rtpBytes(96, uint16(100+i), 9000, 7, 13+i) // odd lengths: padding
		msg := append([]byte{0x40, 0x00, byte(len(p) >> 8), byte(len(p))}, p...)
		for len(msg)%4 != 0 {
			msg = append(msg, 0)
		}
		stream = append(stream, msg...)
	}
	cut := []int{0, 7, 30, 31, 64, len(stream)}
	var segs []segment
	for i := 0; i+1 < len(cut); i++ {
		segs = append(segs, segment{src: a, dst: b, seq: uint32(1 + cut[i]), payload: stream[cut[i]:cut[i+1]]})
	}
	order := []segment{{src: a, dst: b, seq: 0, syn: true}, segs[0], segs[2], segs[1], segs[1], segs[3], segs[4], segs[3]}
	ts := tcpStreams{}
	var got []uint16
	for _, s := range order {
		for _, d := range ts.add(virtualEpoch, s) {
			r, _, _ := demux(d.Payload)
			if r == nil {
				t.Fatalf("a reassembled message is not RTP: % x", d.Payload)
			}
			got = append(got, r.Seq)
		}
	}
	if len(got) != 5 {
		t.Fatalf("got sequence numbers %v, want 100..104", got)
	}
	for i, s := range got {
		if s != uint16(100+i) {
			t.Errorf("message %d: seq %d, want %d", i, s, 100+i)
		}
	}
}

// Over TCP tshark lists a retransmitted segment's RTP again: a packet
// counts once, by its extended sequence number, so a stream of more than
// 65,536 packets over TURN/TCP is counted whole (audit: a 20 min call,
// 76,414 video packets over bob's TCP relay, counted as 65,536).
func TestParseTsharkOverTCPPastWrap(t *testing.T) {
	var b strings.Builder
	const n = 70000
	for i := 0; i < n; i++ {
		line := fmt.Sprintf("10.0.0.2\t0x1234abcd\t%d\t40000\n", uint16(60000+i))
		b.WriteString(line)
		if i%1000 == 0 {
			b.WriteString(line) // a retransmitted segment
		}
	}
	got, err := parseTshark([]byte(b.String()), "10.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	if c := got[tsharkKey{0x1234abcd, true}]; c != n {
		t.Fatalf("%d packets, want %d", c, n)
	}
}
