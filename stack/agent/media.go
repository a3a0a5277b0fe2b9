package agent

import (
	"context"
	"hash/fnv"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/rtclab/rtclab/phase"
	"github.com/rtclab/rtclab/stack/peer"
)

// play writes the clip's frames to the track at the clip's own pace, on an
// absolute schedule so that pacing does not drift, until ctx ends. Every
// simulcast layer gets its frame in the same instant. A layer whose
// keyframe was requested skips ahead to the clip's next keyframe.
func (a *Agent) play(ctx context.Context, c *Conn, s *Sender) {
	defer a.wg.Done()
	// Start each track at its own fixed sub-frame offset, so that in
	// virtual time no two tracks' frames (20 ms audio, 33.3 ms video) and
	// no 100 ms RTCP ticker fall on the same instant: goroutines woken at
	// one instant run in any order, which would make runs differ.
	offset := trackOffset(a.p.Name, s.Clip.Kind()+s.layers[0].rid, a.p.Virtual)
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
		var dur time.Duration
		for i, l := range s.layers {
			if i > 0 {
				// Simulcast layers leave a little apart, as an encoder's
				// do: in the same instant, the SFU would see them in any
				// order, and a layer switch would fall on either side
				// (a derived, odd stagger in virtual time).
				time.Sleep(phase.LayerStagger.For(a.p.Virtual))
			}
			s.mu.Lock()
			if l.keyframe {
				l.player.SkipToKeyframe()
				l.keyframe = false
			}
			f := l.player.NextFrame()
			l.sent.add(f.Index)
			s.mu.Unlock()
			sample := f.Sample
			if a.sealer != nil {
				data, err := a.sealer.seal(l.clip.MimeType(), sample.Data)
				if err != nil {
					a.log.Warn("e2ee", "err", err)
					continue
				}
				sample.Data = data
			}
			if err := l.track.WriteSample(sample); err != nil {
				a.log.Debug("write sample", "remote", c.Remote, "rid", l.rid, "err", err)
			}
			if dur == 0 {
				dur = f.Sample.Duration
			}
		}
		s.mu.Lock()
		s.frames++
		s.mu.Unlock()
		next = next.Add(dur)
		timer.Reset(time.Until(next))
	}
}

// drainSender reads one encoding's RTCP (so the NACK responder and stats
// interceptors see it), counts keyframe requests and NACKs, and marks the
// layer for a keyframe on a PLI or FIR.
func (a *Agent) drainSender(s *Sender, l *sendLayer) {
	defer a.wg.Done()
	read := s.RTP.Read
	if l.rid != "" && l != s.layers[0] {
		read = func(b []byte) (int, interceptor.Attributes, error) { return s.RTP.ReadSimulcast(b, l.rid) }
	}
	buf := make([]byte, peer.ReceiveMTU)
	for {
		pkts, err := peer.ReadRTCP(read, buf)
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				s.mu.Lock()
				s.plis++
				if l.clip.Kind() == "video" {
					l.keyframe = true
				}
				s.mu.Unlock()
			case *rtcp.TransportLayerNack:
				s.mu.Lock()
				s.nacks++
				s.mu.Unlock()
			}
		}
	}
}

// trackOffset is a stable offset in [0.1 ms, 7.1 ms) from the
// participant's name and the track's kind, with a fractional microsecond
// part in virtual time.
func trackOffset(name, kind string, virtual bool) time.Duration {
	h := fnv.New32a()
	h.Write([]byte(name + "/" + kind))
	return phase.TrackStart.For(virtual) + time.Duration(h.Sum32()%7000)*time.Microsecond
}

// timestampBase is a stable initial RTP timestamp per participant, kind
// and RID: random-looking as RFC 3550 section 5.1 asks, the same on every
// run, and known to the measurement code through Sender.TimestampBase.
func timestampBase(name, kind, rid string) uint32 {
	h := fnv.New32a()
	h.Write([]byte("ts/" + name + "/" + kind + "/" + rid))
	return h.Sum32()
}
