package verify

import (
	"testing"
	"time"

	"github.com/rtclab/rtclab/reports"
)

// A synthetic hop: the sender sends packets every 20 ms; deliver says
// when (transit) each arrives, or that it does not (ok false).
type delivery func(i int) (transit time.Duration, ok bool)

func hopCaptures(n int, deliver delivery, extra []rtpRecord) (hop, rx *capture) {
	hop, rx = &capture{host: "sfu"}, &capture{host: "bob"}
	for i := 0; i < n; i++ {
		at := virtualEpoch.Add(time.Duration(i) * 20 * time.Millisecond)
		p := RTP{SSRC: 1, Seq: uint16(65450 + i), Timestamp: uint32(i * 960), PT: 111, Body: 100 + i%7}
		hop.rtp = append(hop.rtp, rtpRecord{At: at, Out: true, RTP: p})
		if tr, ok := deliver(i); ok {
			rx.rtp = append(rx.rtp, rtpRecord{At: at.Add(tr), RTP: p})
		}
	}
	rx.rtp = append(rx.rtp, extra...)
	sortByTime(rx.rtp)
	return hop, rx
}

func sortByTime(r []rtpRecord) {
	for i := 1; i < len(r); i++ {
		for j := i; j > 0 && r[j].At.Before(r[j-1].At); j-- {
			r[j], r[j-1] = r[j-1], r[j]
		}
	}
}

// The cases that break a loss count: a tail outage (nothing after the
// last packet), packets still in flight at the end, a queue that drops
// while delay grows, reordering, duplicates, sequence-number wrap, and a
// repair matched by timestamp and size. Sequence numbers wrap at 65536
// half-way through.
func TestCountLoss(t *testing.T) {
	const n = 200
	rtxFor := func(i int) rtpRecord {
		at := virtualEpoch.Add(time.Duration(i)*20*time.Millisecond + 80*time.Millisecond)
		return rtpRecord{At: at, RTP: RTP{SSRC: 2, Seq: uint16(i), Timestamp: uint32(i * 960), PT: 97, Body: 100 + i%7 + 2}}
	}
	for _, tc := range []struct {
		name                     string
		kind                     string
		deliver                  delivery
		extra                    []rtpRecord
		unique, lost, inFlight   uint64
		repairedMin, repairedMax uint64
	}{
		{name: "clean", kind: "audio", deliver: func(int) (time.Duration, bool) { return 30 * time.Millisecond, true }, unique: n},
		{name: "outage to the end", kind: "audio", deliver: func(i int) (time.Duration, bool) { return 30 * time.Millisecond, i < 100 },
			unique: 100, lost: 98, inFlight: 2}, // sent within the last transit (30 ms) of the end: 2
		{name: "queue: delay grows, every third dropped", kind: "audio", deliver: func(i int) (time.Duration, bool) {
			return time.Duration(i) * 5 * time.Millisecond, i%3 != 0
		}, unique: 133, lost: 67},
		{name: "reordered", kind: "audio", deliver: func(i int) (time.Duration, bool) {
			return 30*time.Millisecond + time.Duration(i%2)*45*time.Millisecond, true
		}, unique: n},
		{name: "duplicates", kind: "audio", deliver: func(int) (time.Duration, bool) { return 30 * time.Millisecond, true },
			extra: []rtpRecord{{At: virtualEpoch.Add(time.Second), RTP: RTP{SSRC: 1, Seq: 65460, Timestamp: 9600, PT: 111, Body: 103}}}, unique: n},
		{name: "one lost, repaired", kind: "video", deliver: func(i int) (time.Duration, bool) { return 30 * time.Millisecond, i != 50 },
			extra: []rtpRecord{rtxFor(50)}, unique: n - 1, lost: 1, repairedMin: 1, repairedMax: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hop, rx := hopCaptures(n, tc.deliver, tc.extra)
			if tc.kind == "video" {
				for _, c := range []*capture{hop, rx} {
					for i := range c.rtp {
						if c.rtp[i].PT == 111 {
							c.rtp[i].PT = 96
						}
					}
				}
			}
			sc := &StreamCount{Kind: tc.kind, SSRC: 1}
			sc.count(&capture{}, hop, rx, 48000, time.Time{})
			if sc.Unique != tc.unique || sc.Lost != tc.lost || sc.InFlight != tc.inFlight {
				t.Errorf("unique %d lost %d in flight %d, want %d %d %d", sc.Unique, sc.Lost, sc.InFlight, tc.unique, tc.lost, tc.inFlight)
			}
			if sc.RepairedMin != tc.repairedMin || sc.RepairedMax != tc.repairedMax {
				t.Errorf("repaired %d..%d, want %d..%d", sc.RepairedMin, sc.RepairedMax, tc.repairedMin, tc.repairedMax)
			}
		})
	}
}

// A call longer than 65,536 packets reuses every sequence number: the
// recount extends them (RFC 3550 A.1). Every 100th of 70,000 packets is
// lost and two are repaired by decrypted retransmissions, one before the
// numbers come round again and one after. The old build counted distinct
// 16-bit numbers: 65,536 received (audit: a 32-minute SFU call,
// 94,091 audio packets, 34 of 72 numbers "disagreed").
func TestCountMoreThan65536Packets(t *testing.T) {
	const n = 70000
	lost := func(i int) bool { return i%100 == 7 }
	repair := func(i int) rtpRecord {
		at := virtualEpoch.Add(time.Duration(i)*20*time.Millisecond + 80*time.Millisecond)
		return rtpRecord{At: at, RTP: RTP{SSRC: 2, Seq: uint16(i), Timestamp: uint32(i * 960), PT: 97, Body: 100 + i%7 + 2,
			Decrypted: true, Payload: 90, OSN: uint16(65450 + i)}}
	}
	hop, rx := hopCaptures(n, func(i int) (time.Duration, bool) { return 30 * time.Millisecond, !lost(i) },
		[]rtpRecord{repair(1007), repair(68007)})
	for _, c := range []*capture{hop, rx} {
		for i := range c.rtp {
			if c.rtp[i].PT == 111 {
				c.rtp[i].PT = 96
			}
		}
	}
	sc := &StreamCount{Kind: "video", SSRC: 1}
	sc.count(&capture{}, hop, rx, 90000, time.Time{})
	if sc.HopSent != n || sc.Unique != n-700 || sc.Lost != 700 || sc.HopUnsent != 0 {
		t.Errorf("sent %d (unsent %d), unique %d, lost %d; want %d, 0, %d, 700", sc.HopSent, sc.HopUnsent, sc.Unique, sc.Lost, n, n-700)
	}
	if sc.RepairedMin != 2 || sc.RepairedMax != 2 || sc.RTXNotSent != 0 {
		t.Errorf("repaired %d..%d (%d not sent), want 2", sc.RepairedMin, sc.RepairedMax, sc.RTXNotSent)
	}
}

// Feedback counts per stream: decrypted SRTCP names the media SSRC of
// each NACK and PLI; a packet that could not be decrypted shows only its
// first header. Where some of a receiver's SRTCP was decrypted and some
// not, the sealed ones may be about this stream or another: the count is
// a range, not an exact number (the old build added every sealed NACK to
// every stream and called the sum exact: a NACK about bob's video made
// his audio's nack_count 1 after an ICE restart).
func TestCountFeedback(t *testing.T) {
	nack := func(decrypted bool, ssrc uint32) rtcpRecord {
		r := rtcpRecord{At: virtualEpoch.Add(time.Second), Out: true, RTCP: RTCP{PT: 205, FMT: 1}, Decrypted: decrypted}
		if decrypted {
			r.NACKs = []uint32{ssrc}
		}
		return r
	}
	pli := rtcpRecord{At: virtualEpoch.Add(time.Second), Out: true, RTCP: RTCP{PT: 206, FMT: 1}}
	for _, tc := range []struct {
		name                string
		rtcp                []rtcpRecord
		decrypted           bool
		nacks, plis, sealed uint64
	}{
		{name: "all decrypted", rtcp: []rtcpRecord{nack(true, 1), nack(true, 9), nack(true, 1)}, decrypted: true, nacks: 2},
		{name: "some sealed", rtcp: []rtcpRecord{nack(true, 9), nack(false, 0), pli}, decrypted: true, nacks: 0, sealed: 1},
		{name: "no key log", rtcp: []rtcpRecord{nack(false, 0), nack(false, 0), pli}, nacks: 2, plis: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hop, rx := hopCaptures(10, func(int) (time.Duration, bool) { return 30 * time.Millisecond, true }, nil)
			rx.rtcp = tc.rtcp
			sc := &StreamCount{Kind: "audio", SSRC: 1}
			sc.count(&capture{}, hop, rx, 48000, time.Time{})
			if sc.FeedbackDecrypted != tc.decrypted || sc.NACKs != tc.nacks || sc.PLIs != tc.plis || sc.NACKsSealed != tc.sealed {
				t.Errorf("decrypted %v, NACKs %d (+%d sealed), PLIs %d; want %v, %d (+%d), %d",
					sc.FeedbackDecrypted, sc.NACKs, sc.NACKsSealed, sc.PLIs, tc.decrypted, tc.nacks, tc.sealed, tc.plis)
			}
			rows := streamRows("alice->bob audio", reports.Stream{Kind: "audio"}, sc, &reports.Report{}, false)
			for _, r := range rows {
				if r.Quantity == "nack_count" && r.High-r.Low != float64(tc.sealed) {
					t.Errorf("nack_count row %g..%g, want a range of %d", r.Low, r.High, tc.sealed)
				}
			}
		})
	}
}

// TestBrowserPacketsSentPadded: a media packet with the P bit set counts
// as sent media (decrypted, it carries a payload), but a browser
// publisher's packets_sent is read off the capture without the keys,
// where it looks like a padding probe: the row is then a range from the
// count without the padded packets to the full count. A pion publisher's
// packets_sent (from its send log) stays exact.
func TestBrowserPacketsSentPadded(t *testing.T) {
	at := virtualEpoch.Add(time.Second)
	media := func(seq uint16, padded bool) rtpRecord {
		return rtpRecord{At: at, Out: true, RTP: RTP{SSRC: 7, Seq: seq, PT: 96, Padding: padded, Decrypted: true, Payload: 900}}
	}
	probe := rtpRecord{At: at, Out: true, RTP: RTP{SSRC: 7, Seq: 4, PT: 96, Padding: true, Decrypted: true, ZeroPayload: true}}
	pub := &capture{rtp: []rtpRecord{media(1, false), media(2, true), media(3, false), probe}}
	for _, tc := range []struct {
		name      string
		sources   map[string]string
		sent      uint64
		low, high float64
	}{
		{"browser, from the capture", map[string]string{"packets_sent": reports.SourceCapture}, 2, 2, 3},
		{"browser counted right", map[string]string{"packets_sent": reports.SourceCapture}, 3, 2, 3},
		{"browser counted wrong", map[string]string{"packets_sent": reports.SourceCapture}, 1, 2, 3},
		{"pion, from its send log", nil, 3, 3, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hop, rx := hopCaptures(1, func(int) (time.Duration, bool) { return 0, false }, nil)
			sc := &StreamCount{Kind: "video", SSRC: 7, PublisherSSRCs: []uint32{7}}
			sc.count(pub, hop, rx, 90000, time.Time{})
			if sc.Sent != 3 || sc.SentPadded != 1 {
				t.Fatalf("sent %d (%d padded), want 3 (1)", sc.Sent, sc.SentPadded)
			}
			rows := streamRows("alice->bob video", reports.Stream{Kind: "video", PacketsSent: tc.sent, Sources: tc.sources}, sc, &reports.Report{}, true)
			for _, r := range rows {
				if r.Quantity != "packets_sent" {
					continue
				}
				if r.Low != tc.low || r.High != tc.high {
					t.Errorf("row %g..%g, want %g..%g (%s)", r.Low, r.High, tc.low, tc.high, r.Why)
				}
				agree := float64(tc.sent) >= tc.low && float64(tc.sent) <= tc.high
				if got := float64(tc.sent) >= r.Low && float64(tc.sent) <= r.High; got != agree {
					t.Errorf("report %d within the row: %v, want %v", tc.sent, got, agree)
				}
			}
		})
	}
}
