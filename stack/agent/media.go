package agent

import (
	"context"
	"hash/fnv"
	"time"

	"github.com/pion/rtcp"
)

// play writes the clip's frames to the track at the clip's own pace, on an
// absolute schedule so that pacing does not drift, until ctx ends.
func (a *Agent) play(ctx context.Context, c *Conn, s *Sender) {
	defer a.wg.Done()
	player := s.Clip.Player()
	// Start each track at its own fixed sub-frame offset, so that in
	// virtual time no two tracks' frames (20 ms audio, 33.3 ms video) and
	// no 100 ms RTCP ticker fall on the same instant: goroutines woken at
	// one instant run in any order, which would make runs differ.
	offset := trackOffset(a.p.Name, s.Clip.Kind())
	next := time.Now().Add(offset)
	timer := time.NewTimer(offset)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if until := a.p.Until; !until.IsZero() && !time.Now().Before(until) {
			return
		}
		f := player.NextFrame()
		if err := s.Track.WriteSample(f.Sample); err != nil {
			a.log.Debug("write sample", "remote", c.Remote, "err", err)
		}
		s.mu.Lock()
		s.frames++
		s.mu.Unlock()
		next = next.Add(f.Sample.Duration)
		timer.Reset(time.Until(next))
	}
}

// drainSender reads the sender's RTCP (so the NACK responder and stats
// interceptors see it) and counts keyframe requests and NACKs.
func (a *Agent) drainSender(s *Sender) {
	defer a.wg.Done()
	for {
		pkts, _, err := s.RTP.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				s.mu.Lock()
				s.plis++
				s.mu.Unlock()
			case *rtcp.TransportLayerNack:
				s.mu.Lock()
				s.nacks++
				s.mu.Unlock()
			}
		}
	}
}

// trackOffset is a stable offset in [0.1 ms, 7.1 ms) with a fractional
// microsecond part, from the participant's name and the track's kind.
func trackOffset(name, kind string) time.Duration {
	h := fnv.New32a()
	h.Write([]byte(name + "/" + kind))
	return 100*time.Microsecond + time.Duration(h.Sum32()%7000)*time.Microsecond + 317*time.Nanosecond
}
