package peer

import (
	"sync"
	"time"
)

// A sender answers a NACK only for a packet it sent less than
// max(1 s, 3 × RTT) ago, as libwebrtc's packet history does
// (modules/rtp_rtcp/source/rtp_packet_history.h: kMinPacketDurationMs =
// 1000 and kMinPacketDurationRtt = 3, "Don't remove packets within
// max(1000ms, 3x RTT)"; older packets are culled and a NACK for one goes
// unanswered). A retransmission older than that reaches a receiver whose
// jitter buffer has long moved on: it is only load.
//
// pion's responder (pion/interceptor v0.1.42 pkg/nack), and rtclab's
// responder.go, which does as it does, have no such bound:
// it answers any NACK for a packet still among the last ResponderSize
// (1,024) it sent, however old, and its options (ResponderSize,
// ResponderLog, DisableCopy, ResponderStreamsFilter) offer none. After a
// 9 s outage of a WHIP publisher's link it answered the SFU's NACKs with
// 590 retransmissions of video up to 9 s old, which the SFU forwarded
// (the watcher received 1,273 video packets against 1,082 sent). The
// same max-age option was proposed for webrtc-rs's responder
// (webrtc-rs/webrtc issue #310, pull request #313, closed unmerged).
//
// nackRepair therefore remembers when each of a stream's last packets
// was sent (sentLog, on the write path below the responder) and strips
// too-old and unknown packets from incoming NACKs before the responder
// reads them.

// sentLogSize is the packets remembered per sent stream: the responder
// keeps 1,024 (responderSize, pion's default), so a packet older than that
// cannot be resent anyway. A power of two: the slot is seq % sentLogSize.
const sentLogSize = 1024

// minHistory is libwebrtc's kMinPacketDurationMs, historyRTTs its
// kMinPacketDurationRtt.
const (
	minHistory  = time.Second
	historyRTTs = 3
)

// maxResendAge is how old a packet may be and still be resent.
func maxResendAge(rtt time.Duration) time.Duration {
	return max(minHistory, historyRTTs*rtt)
}

// sentLog is when each of a stream's last sentLogSize packets was sent:
// fixed arrays indexed by sequence number, so recording a packet
// allocates nothing.
type sentLog struct {
	mu  sync.Mutex
	seq [sentLogSize]uint16
	at  [sentLogSize]int64 // Unix nanoseconds; 0: slot never written
}

func (l *sentLog) record(seq uint16, at time.Time) {
	i := seq % sentLogSize
	l.mu.Lock()
	l.seq[i], l.at[i] = seq, at.UnixNano()
	l.mu.Unlock()
}

// sentAt returns when seq was sent, false when it is not among the last
// sentLogSize packets (never sent, or overwritten by one 1,024 later:
// sequence numbers wrap at 65,536, and the slot keeps the full number).
func (l *sentLog) sentAt(seq uint16) (time.Time, bool) {
	i := seq % sentLogSize
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.at[i] == 0 || l.seq[i] != seq {
		return time.Time{}, false
	}
	return time.Unix(0, l.at[i]), true
}

// fresh reports whether a NACK for seq on a stream logged in l may be
// answered at now: the packet was sent no more than maxResendAge ago.
// A stream without a log (nil: not sent through this interceptor) is not
// ours to judge.
func (l *sentLog) fresh(seq uint16, now time.Time, rtt time.Duration) bool {
	if l == nil {
		return true
	}
	at, ok := l.sentAt(seq)
	return ok && now.Sub(at) <= maxResendAge(rtt)
}
