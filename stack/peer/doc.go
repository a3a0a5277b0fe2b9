// Package peer builds pion PeerConnections the way every rtclab component
// needs them: on a given transport.Net (an emulated host), with a send log
// next to the transport (PC.SendLog: what reached the wire, per SSRC), the
// stats interceptor, and then NACK, RTCP reports and
// transport-wide congestion control feedback, so that RTT, loss, jitter and
// NACK/PLI counts are measured (see ../../shared/DESIGN.md, "Known traps").
// NACK repair (nack.go) is rtclab's own generator in front of the
// responder (responder.go: pion's, but keeping one copy of a payload an
// SFU sends to every subscriber): it sees retransmissions arrive on their RTX stream, and both
// ends resend a packet at most once per round trip, as libwebrtc does; a
// sender resends no padding (IsPadding) and numbers its retransmissions
// one after another on their RTX stream. Retransmissions reach the
// application through PC.Read, which every reader of a remote track uses:
// rtx.go folds them into their media stream below pion, whose own repair
// channel drops and delays them.
//
// Codecs (codecs.go): Opus, VP8, VP9, H.264 (constrained baseline,
// packetization mode 1) and AV1, each video codec with RTX; Params.Codecs
// narrows and orders them. The simulcast header extensions (MID, RID,
// repaired RID) are always registered, and TagSimulcast makes a sender's
// layers carry them, which pion does not do by itself. With
// Params.EstimateBandwidth a PeerConnection also stamps transport-wide
// sequence numbers on what it sends and runs pion's GCC on the feedback
// (PC.Estimate, PC.Congested).
//
// Each PeerConnection gets its own webrtc.API, so the stats.Getter handed
// back belongs to exactly that connection: pion keys its stats callbacks by
// a PeerConnection ID made from the clock, which repeats when two are made
// in the same instant of virtual time.
//
// Received packets have their RTP header parsed once (attrs.go), and TWCC
// feedback is recorded on the reading goroutine (twccfeedback.go): pion's
// interceptors parsed a header and made a map per packet each, and its
// feedback recorder took every packet over a channel.
package peer
