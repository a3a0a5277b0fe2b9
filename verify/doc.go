// Package verify recounts a finished run from its packet captures and
// sets the count against the run's report, stream by stream.
//
// It shares no code with the measurement it checks: it reads the pcap
// files netem wrote (its own pcap reader), parses the RTP and RTCP headers
// that SRTP and SRTCP leave in clear (RFC 3711 sections 3.1 and 3.4),
// unwraps TURN ChannelData and Send/Data indications (RFC 8656 sections
// 12.4 and 11), and, when tshark is installed, has tshark decode the same
// captures as a second, outside opinion on the per-SSRC packet counts.
// From those records it computes what the report claims: packets on the
// wire and received per SSRC (retransmissions, RFC 4588, and padding
// apart), loss against what the hop's sender put on the wire, RFC 3550
// interarrival jitter (section 6.4.1, appendix A.8) from capture arrival
// times and RTP timestamps, and the received media bitrate.
//
// SRTP encrypts payloads. With the DTLS key log rtclab writes next to the
// captures, the SRTP keys are exported from each DTLS session's master
// secret (RFC 5764 section 4.2) and every packet is decrypted: a
// retransmission's original sequence number (RFC 4588 section 4), a
// packet's padding and the media SSRC of each NACK and PLI become
// readable, and the counts exact. Without the key log, which lost packet
// an RTX packet repaired is matched by RTP timestamp and size, and the
// numbers that depend on it (loss after repair, packets received, bitrate
// of video) are ranges. Each row of a comparison says how its tolerance
// was derived.
package verify
