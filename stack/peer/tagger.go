package peer

import (
	"sync"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// Header extension URIs (RFC 8843 section 16.2, RFC 8852 section 4).
const (
	midURI  = "urn:ietf:params:rtp-hdrext:sdes:mid"
	ridURI  = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
	rsidURI = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
)

// streamTag is what a tagged outgoing stream carries in its header
// extensions.
type streamTag struct {
	mid, rid string
	repair   bool // rid is a repaired-rtp-stream-id (the RTX of layer rid)
}

// tags maps outgoing SSRCs to their tags; shared by a PC and its tagger.
type tags struct {
	mu sync.RWMutex
	m  map[uint32]streamTag
}

func (t *tags) get(ssrc uint32) (streamTag, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	tag, ok := t.m[ssrc]
	return tag, ok
}

// TagSimulcast makes every packet sent on ssrc carry the MID and RID
// header extensions (RFC 8843 section 15, RFC 8852 section 3), and the
// repaired RID on rtxSSRC, when it is not 0. A receiver needs them to tell
// simulcast layers apart: their SSRCs are not in the SDP (RFC 8853 section
// 5.2). pion adds neither extension itself.
func (pc *PC) TagSimulcast(ssrc, rtxSSRC uint32, mid, rid string) {
	pc.tags.mu.Lock()
	defer pc.tags.mu.Unlock()
	pc.tags.m[ssrc] = streamTag{mid: mid, rid: rid}
	if rtxSSRC != 0 {
		pc.tags.m[rtxSSRC] = streamTag{mid: mid, rid: rid, repair: true}
	}
}

// taggerFactory makes the interceptor that writes the tags.
type taggerFactory struct{ tags *tags }

func (f *taggerFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &tagger{tags: f.tags}, nil
}

type tagger struct {
	interceptor.NoOp
	tags *tags
}

// BindLocalStream looks up the negotiated extension IDs and tags every
// packet of a tagged SSRC.
func (t *tagger) BindLocalStream(info *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	var midID, ridID, rsidID uint8
	for _, e := range info.RTPHeaderExtensions {
		switch e.URI {
		case midURI:
			midID = uint8(e.ID)
		case ridURI:
			ridID = uint8(e.ID)
		case rsidURI:
			rsidID = uint8(e.ID)
		}
	}
	if midID == 0 || ridID == 0 {
		return writer
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		tag, ok := t.tags.get(h.SSRC)
		if !ok {
			return writer.Write(h, payload, a)
		}
		out := *h
		out.Extensions = append([]rtp.Extension(nil), h.Extensions...)
		_ = out.SetExtension(midID, []byte(tag.mid))
		switch {
		case !tag.repair:
			_ = out.SetExtension(ridID, []byte(tag.rid))
		case rsidID != 0:
			_ = out.SetExtension(rsidID, []byte(tag.rid))
		}
		return writer.Write(&out, payload, a)
	})
}
