package reports

import (
	"bytes"
	"fmt"
)

// connectedText is "yes", "no", or when and why it dropped.
func connectedText(p Participant) string {
	if p.Dropped != nil {
		return fmt.Sprintf("no: dropped at %.1fs (%s)", p.Dropped.AtS, p.Dropped.Reason)
	}
	return yesNo(p.Connected)
}

// writeRoomSummary replaces the per-stream tables of a large room (more
// than maxLines streams) with one line per participant: what it received
// from everyone else. Every stream stays in report.json.
func writeRoomSummary(b *bytes.Buffer, r *Report) {
	fmt.Fprintf(b, "\nReceived, per participant (%d streams; each one is in report.json)\n", len(r.Streams))
	var t table
	t.row("NAME", "STREAMS", "EMPTY", "RECV/SENT", "LOSS %", "VIDEO KBPS (MIN)", "FREEZES", "FREEZE MS")
	for _, p := range r.Participants {
		var n, empty int
		var recv, sent uint64
		sentKnown := true
		var lost float64
		var freezes int
		var freezeMS float64
		minKbps := -1.0
		for _, s := range r.Streams {
			if s.To != p.Name {
				continue
			}
			n++
			if s.PacketsReceived == 0 {
				empty++
			}
			recv, sent = recv+s.PacketsReceived, sent+s.PacketsSent
			sentKnown = sentKnown && s.Has("packets_sent")
			lost += s.LossFraction * float64(s.PacketsReceived) / max(1-s.LossFraction, 1e-9)
			if s.Kind == "video" {
				if s.Has("bitrate_kbps") && (minKbps < 0 || s.BitrateKbps < minKbps) {
					minKbps = s.BitrateKbps
				}
				if s.Video != nil {
					freezes += s.Video.FreezeCount
					freezeMS += s.Video.FreezeMS
				}
			}
		}
		loss := none
		if expected := float64(recv) + lost; expected > 0 {
			loss = percent(lost / expected)
		}
		kbps := none
		if minKbps >= 0 {
			kbps = fixed(minKbps, 0)
		}
		sentText := none // a stream's sent count is missing: a sum without it would be too low
		if sentKnown {
			sentText = fmt.Sprint(sent)
		}
		t.row(p.Name, fmt.Sprint(n), fmt.Sprint(empty), fmt.Sprintf("%d/%s", recv, sentText), loss, kbps, fmt.Sprint(freezes), fixed(freezeMS, 0))
	}
	t.writeTo(b)
}
