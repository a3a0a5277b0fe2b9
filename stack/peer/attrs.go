package peer

import (
	"maps"
	"sync"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// Every interceptor that looks at a received RTP packet's header asks
// interceptor.Attributes.GetRTPHeader (pion/interceptor v0.1.42,
// attributes.go), which parses the header once per read into a new
// rtp.Header and caches it in the read's attributes; a read that starts
// with no attributes (pion's TrackRemote.Read passes none) makes a map as
// well. That was three allocations (map, header, extension list) and
// some 400 bytes for every packet a PeerConnection received, a sixth of
// what a conference-10 run allocated (issue #21).
//
// headerCache, the innermost interceptor of every remote stream (peer.go
// registers it first), parses each packet into one of the stream's two
// headers, in turn, and caches it under pion's key; rtxFold, the
// outermost, reads with attributes of its own that it clears and reuses
// (rtx.go). A header stays valid until the stream's second read after
// the one that parsed it, so that a reader that reads one packet ahead
// never finds the one before changed; a repair rtxFold queues takes the
// attributes without the header. No interceptor keeps the header past
// its read: pion's stats recorder
// clones it, its report receiver and rtclab's own read its fields in
// place, and rtclab's TWCC feedback (twccfeedback.go) records numbers.

// rtpHeaderKey is the key GetRTPHeader caches a header under, which pion
// does not export: found by asking it once.
var rtpHeaderKey = func() any {
	a := interceptor.Attributes{}
	if _, err := a.GetRTPHeader([]byte{0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}); err != nil {
		panic("peer: pion's GetRTPHeader failed on a minimal RTP header: " + err.Error())
	}
	for k := range a {
		return k
	}
	panic("peer: pion's GetRTPHeader cached nothing")
}()

type headerCacheFactory struct{}

func (headerCacheFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &headerCache{}, nil
}

type headerCache struct{ interceptor.NoOp }

// BindRemoteStream parses each packet's header into the stream's own
// storage; a packet that does not parse passes as it came, for the
// interceptors above to refuse as before.
func (*headerCache) BindRemoteStream(_ *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	var hs [2]rtp.Header
	k := 0
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, attr, err := reader.Read(b, a)
		if err != nil {
			return n, attr, err
		}
		h := &hs[k]
		k ^= 1
		if _, err := h.Unmarshal(b[:n]); err != nil {
			return n, attr, nil
		}
		if attr == nil {
			attr = make(interceptor.Attributes, 4)
		}
		attr[rtpHeaderKey] = h
		return n, attr, nil
	})
}

// cachedHeader returns the header headerCache parsed for a read, if any.
func cachedHeader(a interceptor.Attributes) (*rtp.Header, bool) {
	h, ok := a[rtpHeaderKey].(*rtp.Header)
	return h, ok
}

// On the send side pion's track writer (webrtc v4.2.1 interceptor.go,
// interceptorToTrackLocalWriter) passes every packet an empty map of
// attributes, and pion's bandwidth estimator (gcc, SendSideBWE.AddStream)
// sets the transport-wide extension's ID in it: a map group of 288 bytes
// for every packet sent. writeAttrs, the outermost interceptor of every
// local stream (peer.go registers it last), writes with a map of the
// stream's own instead, cleared before each write. Nothing below keeps
// the attributes past the write but egress.go and resendorder.go, which
// queue packets and so copy them.
type writeAttrsFactory struct{}

func (writeAttrsFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &writeAttrs{}, nil
}

type writeAttrs struct{ interceptor.NoOp }

// BindLocalStream writes the stream's packets with its own attributes,
// holding what the caller passed; a stream's writes come one at a time
// (pion's track writer and the NACK responder hold the stream's lock).
func (*writeAttrs) BindLocalStream(_ *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	var mu sync.Mutex
	own := make(interceptor.Attributes, 4)
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		clear(own)
		maps.Copy(own, a)
		return writer.Write(h, payload, own)
	})
}
