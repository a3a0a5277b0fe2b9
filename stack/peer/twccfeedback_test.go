package peer

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// TestTWCCFeedbackMatchesPion: the same arrivals (with a gap, a reordered
// pair and a packet without the extension, over several ticks) give the
// same feedback from twccFeedback as from pion's twcc.SenderInterceptor,
// whose goroutine hand-over it replaces; only the random sender SSRC
// differs.
func TestTWCCFeedbackMatchesPion(t *testing.T) {
	const extID = 5
	info := &interceptor.StreamInfo{SSRC: 1234, RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: extID}}}
	// Transport sequence numbers in arrival order (-1: no extension) and
	// the gap to the next arrival.
	type arrival struct {
		seq int
		gap time.Duration
	}
	var arrivals []arrival
	for s := range 60 {
		switch s {
		case 10, 11, 30: // lost
			continue
		case 20: // 20 and 21 swap
			arrivals = append(arrivals, arrival{21, 3 * time.Millisecond}, arrival{20, 7 * time.Millisecond})
			continue
		case 21:
			continue
		case 40:
			arrivals = append(arrivals, arrival{-1, 2 * time.Millisecond})
		}
		arrivals = append(arrivals, arrival{s, time.Duration(3+s%5)*time.Millisecond + 137*time.Microsecond})
	}
	packet := func(a arrival) []byte {
		h := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: uint16(a.seq + 100), SSRC: info.SSRC}
		if a.seq >= 0 {
			ext, err := (&rtp.TransportCCExtension{TransportSequence: uint16(a.seq)}).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if err := h.SetExtension(extID, ext); err != nil {
				t.Fatal(err)
			}
		}
		b, err := (&rtp.Packet{Header: h, Payload: []byte{1, 2, 3}}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	run := func(f interceptor.Factory) []*rtcp.TransportLayerCC {
		var got []*rtcp.TransportLayerCC
		synctest.Test(t, func(t *testing.T) {
			i, err := f.NewInterceptor("")
			if err != nil {
				t.Fatal(err)
			}
			i.BindRTCPWriter(interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
				for _, p := range pkts {
					if cc, ok := p.(*rtcp.TransportLayerCC); ok {
						got = append(got, cc)
					}
				}
				return 0, nil
			}))
			var next []byte
			r := i.BindRemoteStream(info, interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
				return copy(b, next), a, nil
			}))
			buf := make([]byte, 1500)
			for _, a := range arrivals {
				next = packet(a)
				if _, _, err := r.Read(buf, nil); err != nil {
					t.Fatal(err)
				}
				time.Sleep(a.gap)
			}
			time.Sleep(time.Second)
			if err := i.Close(); err != nil {
				t.Fatal(err)
			}
		})
		return got
	}
	const every = 100 * time.Millisecond
	pion, err := twcc.NewSenderInterceptor(twcc.SendInterval(every))
	if err != nil {
		t.Fatal(err)
	}
	want := run(pion)
	got := run(twccFeedbackFactory{interval: every})
	if len(want) < 3 {
		t.Fatalf("pion sent %d feedback packets; the test needs several ticks", len(want))
	}
	if len(got) != len(want) {
		t.Fatalf("%d feedback packets, pion sent %d", len(got), len(want))
	}
	for k := range want {
		w, g := *want[k], *got[k]
		w.SenderSSRC, g.SenderSSRC = 0, 0
		wb, err := w.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		gb, err := g.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if string(wb) != string(gb) {
			t.Errorf("feedback %d:\n got %v\nwant %v", k, g, w)
		}
	}
}

// TestTWCCFeedbackPassesStreamsWithoutTheExtension: a stream that did not
// negotiate the extension is read as it is, and nothing starts.
func TestTWCCFeedbackPassesStreamsWithoutTheExtension(t *testing.T) {
	i, err := twccFeedbackFactory{interval: time.Second}.NewInterceptor("")
	if err != nil {
		t.Fatal(err)
	}
	under := interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) { return 0, a, nil })
	r := i.BindRemoteStream(&interceptor.StreamInfo{SSRC: 1}, under)
	if _, ok := r.(interceptor.RTPReaderFunc); !ok {
		t.Fatalf("bound a reader of its own to a stream without the extension: %T", r)
	}
	if err := i.Close(); err != nil {
		t.Fatal(err)
	}
}
