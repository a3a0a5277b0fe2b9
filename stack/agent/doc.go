// Package agent is rtclab's simulated WebRTC client: a pion
// PeerConnection on an emulated host that joins a signaling room, publishes
// real encoded clips (Opus, VP8) paced in real or virtual time, subscribes
// to what others publish, and keeps every RTCP reader drained so pion's
// interceptors measure loss, jitter, RTT, NACKs and PLIs.
//
// In the "sfu" topology the agent offers to the SFU and answers the SFU's
// renegotiation offers. In the "p2p" topology it keeps one PeerConnection
// per other participant; whoever was in the room first makes the offer.
package agent
