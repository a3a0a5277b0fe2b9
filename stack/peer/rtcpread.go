package peer

import (
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

// ReadRTCP reads one compound RTCP packet with read (an RTPSender's or
// RTPReceiver's Read, or a simulcast layer's ReadSimulcast) into buf and
// parses it, as pion's ReadRTCP and ReadSimulcastRTCP (webrtc v4.2.1
// rtpsender.go, rtpreceiver.go) do, but without their ReceiveMTU-byte
// buffer per call: a reader keeps one buf (ReceiveMTU bytes, as pion's)
// for all its reads. If an interceptor already parsed the same bytes
// (interceptor.Attributes.GetRTCPPackets caches them), its packets are
// returned. Like pion's, it fails on bytes that do not parse.
func ReadRTCP(read func([]byte) (int, interceptor.Attributes, error), buf []byte) ([]rtcp.Packet, error) {
	n, attr, err := read(buf)
	if err != nil {
		return nil, err
	}
	if attr == nil {
		return rtcp.Unmarshal(buf[:n])
	}
	return attr.GetRTCPPackets(buf[:n])
}

// readRTCPAttrs reads one compound RTCP packet through an interceptor's
// reader, with attributes that are never nil when err is nil, for the
// caller to parse through their cache (Attributes.GetRTCPPackets).
func readRTCPAttrs(reader interceptor.RTCPReader, b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
	i, attr, err := reader.Read(b, a)
	if err != nil {
		return 0, nil, err
	}
	if attr == nil {
		attr = make(interceptor.Attributes)
	}
	return i, attr, nil
}
