// Package agent is rtclab's simulated WebRTC client: a pion
// PeerConnection on an emulated host that joins a signaling room, publishes
// real encoded clips (Opus; VP8, VP9, H.264 or AV1; VP8 as three simulcast
// layers) paced in real or virtual time, subscribes to what others
// publish, and keeps every RTCP reader drained so pion's interceptors
// measure loss, jitter, RTT, NACKs and PLIs.
//
// A sender answers a keyframe request by skipping ahead in its clip to the
// next keyframe (it cannot encode one). Its RTP timestamps start at a known
// base (Sender.TimestampBase) and it records which clip frame each sample
// carried (Sender.SentFrames), so a receiver's frames can be matched to the
// source frame by frame.
//
// A receiver counts unique sequence numbers (loss after repair) and
// reassembles frames as a jitter buffer does (assembler.go): a missing
// packet holds later frames back until it is repaired, a complete keyframe
// behind it arrives, or it is given up; after a lost frame nothing is
// shown until the next keyframe, and the receiver asks for one (PLI). Every
// frame's arrival is recorded (Receiver.Frames) and, on request, its bytes,
// which WriteFrames turns into an IVF, Annex-B or Ogg file.
//
// In the "sfu" topology the agent offers to the SFU (with a receive-only
// transceiver for a kind it does not send, so its codecs are in the offer)
// and answers the SFU's renegotiation offers. In the "p2p" topology it
// keeps one PeerConnection per other participant; whoever was in the room
// first makes the offer. Offers that cross are settled by perfect
// negotiation (glare.go): the polite end rolls its own back.
package agent
