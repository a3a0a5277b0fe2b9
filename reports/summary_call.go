package reports

import (
	"fmt"
	"math"
)

// callHighlights are a call scenario's headline numbers for the multi-run
// index: who connected, the worst loss after repair, the lowest video
// bitrate, the freezes and the lowest audio MOS, each naming its stream.
func callHighlights(r *Report) []string {
	out := []string{}
	if len(r.Participants) > 0 {
		n := 0
		for _, p := range r.Participants {
			if p.Connected {
				n++
			}
		}
		out = append(out, fmt.Sprintf("%d of %d participants connected to the end", n, len(r.Participants)))
	}
	var (
		worstLoss         = -1.0
		worstLossOf       string
		lowKbps           = math.Inf(1)
		lowKbpsOf         string
		freezes           int
		freezeMS          float64
		lowMOS            = math.Inf(1)
		lowMOSOf          string
		videos, audioSeen int
	)
	for _, s := range r.Streams {
		name := s.From + "->" + s.To + " " + s.Kind
		if s.LossFraction > worstLoss {
			worstLoss, worstLossOf = s.LossFraction, name
		}
		if s.Kind == "video" {
			videos++
			if s.Has("bitrate_kbps") && s.BitrateKbps < lowKbps {
				lowKbps, lowKbpsOf = s.BitrateKbps, name
			}
			if v := s.Video; v != nil {
				freezes += v.FreezeCount
				freezeMS += v.FreezeMS
			}
		}
		if a := s.Audio; a != nil {
			audioSeen++
			if a.MOS < lowMOS {
				lowMOS, lowMOSOf = a.MOS, name
			}
		}
	}
	if worstLoss >= 0 {
		out = append(out, fmt.Sprintf("worst loss after repair %s %% (%s)", fixed(100*worstLoss, 2), worstLossOf))
	}
	if videos > 0 {
		out = append(out, fmt.Sprintf("lowest video bitrate %s kbit/s (%s)", fixed(lowKbps, 0), lowKbpsOf))
		out = append(out, fmt.Sprintf("%d video freezes, %s s in all", freezes, fixed(freezeMS/1000, 1)))
	}
	if audioSeen > 0 {
		out = append(out, fmt.Sprintf("lowest audio MOS %s (%s)", fixed(lowMOS, 2), lowMOSOf))
	}
	return out
}
