package peer

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"

	"github.com/rtclab/rtclab/phase"
)

// TestResendOrder: bursts of retransmissions written at one instant on
// two streams leave in the streams' bind order, each at an instant of its
// own, whichever was written first; media passes at once.
func TestResendOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type sent struct {
			ssrc uint32
			seq  uint16
			at   time.Duration
		}
		start := time.Now()
		var out []sent
		wire := interceptor.RTPWriterFunc(func(h *rtp.Header, _ []byte, _ interceptor.Attributes) (int, error) {
			out = append(out, sent{h.SSRC, h.SequenceNumber, time.Since(start)})
			return 0, nil
		})
		i, err := resendOrderFactory{}.NewInterceptor("")
		if err != nil {
			t.Fatal(err)
		}
		first := i.BindLocalStream(&interceptor.StreamInfo{SSRC: 1, SSRCRetransmission: 11}, wire)
		second := i.BindLocalStream(&interceptor.StreamInfo{SSRC: 2, SSRCRetransmission: 22}, wire)
		plain := i.BindLocalStream(&interceptor.StreamInfo{SSRC: 3}, wire) // no RTX: untouched
		write := func(w interceptor.RTPWriter, ssrc uint32, seq uint16) {
			if _, err := w.Write(&rtp.Header{SSRC: ssrc, SequenceNumber: seq}, []byte{1, 2, 3}, nil); err != nil {
				t.Fatal(err)
			}
		}
		// The second stream's burst is written first, as the scheduler
		// may run its goroutine first.
		write(second, 22, 1)
		write(second, 22, 2)
		write(first, 11, 1)
		write(first, 1, 100) // media on the first stream
		write(first, 11, 2)
		write(plain, 3, 7)
		time.Sleep(time.Millisecond)
		synctest.Wait()
		step := phase.ResendStagger.Value()
		want := []sent{{1, 100, 0}, {3, 7, 0}, {11, 1, step}, {11, 2, step}, {22, 1, 2 * step}, {22, 2, 2 * step}}
		if len(out) != len(want) {
			t.Fatalf("sent %v, want %v", out, want)
		}
		for k := range want {
			if out[k] != want[k] {
				t.Errorf("packet %d: %+v, want %+v", k, out[k], want[k])
			}
		}
		// A later burst waits again.
		out = nil
		start = time.Now()
		write(first, 11, 3)
		time.Sleep(time.Millisecond)
		if len(out) != 1 || out[0] != (sent{11, 3, step}) {
			t.Errorf("later burst %v, want [{11 3 %v}]", out, step)
		}
	})
}
