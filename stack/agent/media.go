package agent

import (
	"context"
	"time"

	"github.com/pion/rtcp"
)

// play writes the clip's frames to the track at the clip's own pace, on an
// absolute schedule so that pacing does not drift, until ctx ends.
func (a *Agent) play(ctx context.Context, c *Conn, s *Sender) {
	defer a.wg.Done()
	player := s.Clip.Player()
	next := time.Now()
	timer := time.NewTimer(0)
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
