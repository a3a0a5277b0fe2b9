package reports

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"math"
	"sort"
	"strconv"
	"strings"
)

// CodecResult aggregates the video streams of one codec: what the codec
// negotiation matrix and the per-codec table show.
type CodecResult struct {
	// Codec is the MIME type, e.g. "video/VP9".
	Codec string
	// Streams is the number of received streams of the codec.
	Streams int
	// Refused is the number of tracks of the codec the SFU could not give
	// a subscriber (no common codec).
	Refused int
	// FramesShown and FramesReceived add up the streams' frames.
	FramesShown, FramesReceived int
	// FPS is the mean of the streams' frame rates.
	FPS float64
	// Freezes and FreezeMS add up the streams' freezes.
	Freezes  int
	FreezeMS float64
	// LossFraction is the mean loss after repair of the streams that
	// expected packets (a negotiated stream that never started has no
	// loss to average); NaN when none did.
	LossFraction float64
	// lossStreams is how many streams LossFraction averages.
	lossStreams int
	// BitrateKbps is the mean received bitrate.
	BitrateKbps float64
}

// CodecResults groups r's video streams and negotiations by codec, in
// codec order.
func CodecResults(r *Report) []CodecResult {
	by := map[string]*CodecResult{}
	get := func(codec string) *CodecResult {
		c := by[codec]
		if c == nil {
			c = &CodecResult{Codec: codec}
			by[codec] = c
		}
		return c
	}
	for _, s := range r.Streams {
		if s.Kind != "video" || s.Video == nil {
			continue
		}
		c := get(s.Codec)
		c.Streams++
		c.FramesShown += s.Video.FramesShown
		c.FramesReceived += s.Video.FramesReceived
		c.FPS += s.Video.FPS
		c.Freezes += s.Video.FreezeCount
		c.FreezeMS += s.Video.FreezeMS
		if s.PacketsExpected > 0 || s.PacketsReceived > 0 { // as lossPercent
			c.LossFraction += s.LossFraction
			c.lossStreams++
		}
		c.BitrateKbps += s.BitrateKbps
	}
	for _, n := range r.Negotiations {
		if n.Kind == "video" && !n.OK {
			get(n.Codec).Refused++
		}
	}
	out := make([]CodecResult, 0, len(by))
	for _, c := range by {
		if c.Streams > 0 {
			k := float64(c.Streams)
			c.FPS /= k
			c.BitrateKbps /= k
		}
		if c.lossStreams > 0 {
			c.LossFraction /= float64(c.lossStreams)
		} else {
			c.LossFraction = math.NaN()
		}
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Codec < out[j].Codec })
	return out
}

// hasMedia reports whether r carries frame-level measurements.
func hasMedia(r *Report) bool {
	for _, s := range r.Streams {
		if s.Video != nil || s.Audio != nil {
			return true
		}
	}
	return len(r.Negotiations) > 0
}

// writeMedia writes what viewers saw: a video table (frames, freezes,
// layers, quality), an audio table (concealment, MOS), the per-codec
// table and every refused negotiation. Nothing for a report without
// frame-level measurements.
func writeMedia(b *bytes.Buffer, r *Report) {
	if !hasMedia(r) {
		return
	}
	var v table
	v.row("STREAM", "CODEC", "SHOWN/RECV", "FPS", "FREEZES", "FREEZE MS", "TTFF MS", "KF MS", "REPAIRED", "LAYER", "SWITCHES", "PSNR", "SSIM")
	nv := 0
	for _, s := range r.Streams {
		x := s.Video
		if x == nil {
			continue
		}
		nv++
		v.row(streamPath(s), shortCodec(s.Codec), fmt.Sprintf("%d/%d", x.FramesShown, x.FramesReceived),
			fixed(x.FPS, 1), strconv.Itoa(x.FreezeCount), fixed(x.FreezeMS, 0), optional(x.TimeToFirstFrameMS, 0),
			optional(x.KeyframeLatencyMS, 0), strconv.FormatInt(x.PacketsRepaired, 10), orNone(x.Layer),
			strconv.Itoa(max(len(x.LayerSwitches)-1, 0)), optional(x.PSNRDB, 2), optional(x.SSIM, 4))
	}
	if nv > 0 {
		b.WriteString("\nVideo (what the viewer saw)\n")
		v.writeTo(b)
	}
	var a table
	a.row("STREAM", "LOST", "LATE", "CONCEALED GAPS", "LONGEST GAP MS", "DELAY MS", "R", "MOS")
	na := 0
	for _, s := range r.Streams {
		x := s.Audio
		if x == nil {
			continue
		}
		na++
		a.row(streamPath(s), strconv.FormatUint(x.PacketsLost, 10), strconv.FormatUint(x.LatePackets, 10), strconv.Itoa(x.ConcealmentEvents),
			fixed(x.LongestGapMS, 0), fixed(x.MouthToEarMS, 0), fixed(x.R, 1), fixed(x.MOS, 2))
	}
	if na > 0 {
		b.WriteString("\nAudio (what the listener heard; MOS from the E-model, ITU-T G.107)\n")
		a.writeTo(b)
	}
	codecs := CodecResults(r)
	if len(codecs) > 1 || (len(codecs) == 1 && codecs[0].Refused > 0) {
		var c table
		c.row("CODEC", "STREAMS", "REFUSED", "FRAMES SHOWN", "MEAN FPS", "FREEZES", "FREEZE MS", "LOSS %", "KBPS")
		for _, x := range codecs {
			c.row(shortCodec(x.Codec), strconv.Itoa(x.Streams), strconv.Itoa(x.Refused), strconv.Itoa(x.FramesShown),
				fixed(x.FPS, 1), strconv.Itoa(x.Freezes), fixed(x.FreezeMS, 0), codecLoss(x.LossFraction), fixed(x.BitrateKbps, 0))
		}
		b.WriteString("\nCodecs\n")
		c.writeTo(b)
	}
	refused := 0
	for _, n := range r.Negotiations {
		if !n.OK {
			if refused == 0 {
				b.WriteString("\nNot negotiated\n")
			}
			refused++
			fmt.Fprintf(b, "  %s->%s %s: %s\n", n.Publisher, n.Subscriber, n.Kind, n.Reason)
		}
	}
}

// mediaHTML renders the same tables as writeMedia as HTML sections, or
// nothing for a report without frame-level measurements. Every value is
// escaped here, so the result is safe to mark as HTML.
func mediaHTML(r *Report) template.HTML {
	if !hasMedia(r) {
		return ""
	}
	var b strings.Builder
	tableHTML := func(title, note string, text int, head []string, rows [][]string) {
		htmlTable(&b, title, note, text, head, rows)
	}
	var video, audio, codecs, refused [][]string
	for _, s := range r.Streams {
		if x := s.Video; x != nil {
			video = append(video, []string{s.From, s.To, shortCodec(s.Codec), fmt.Sprintf("%d / %d", x.FramesShown, x.FramesReceived),
				fixed(x.FPS, 1), strconv.Itoa(x.FreezeCount), fixed(x.FreezeMS, 0), optional(x.TimeToFirstFrameMS, 0),
				optional(x.KeyframeLatencyMS, 0), strconv.FormatInt(x.PacketsRepaired, 10), orNone(x.Layer),
				strconv.Itoa(max(len(x.LayerSwitches)-1, 0)), optional(x.PSNRDB, 2), optional(x.SSIM, 4)})
		}
		if x := s.Audio; x != nil {
			audio = append(audio, []string{s.From, s.To, strconv.FormatUint(x.PacketsLost, 10), strconv.FormatUint(x.LatePackets, 10), strconv.Itoa(x.ConcealmentEvents),
				fixed(x.LongestGapMS, 0), fixed(x.MouthToEarMS, 0), fixed(x.R, 1), fixed(x.MOS, 2)})
		}
	}
	for _, x := range CodecResults(r) {
		codecs = append(codecs, []string{shortCodec(x.Codec), strconv.Itoa(x.Streams), strconv.Itoa(x.Refused), strconv.Itoa(x.FramesShown),
			fixed(x.FPS, 1), strconv.Itoa(x.Freezes), fixed(x.FreezeMS, 0), codecLoss(x.LossFraction), fixed(x.BitrateKbps, 0)})
	}
	for _, n := range r.Negotiations {
		if !n.OK {
			refused = append(refused, []string{n.Publisher, n.Subscriber, n.Kind, shortCodec(n.Codec), n.Reason})
		}
	}
	tableHTML("What the viewer saw", "Frames reassembled at the receiver; a frame is shown when it decodes. A freeze is a gap of at least max(3 × the mean gap, mean + 150 ms), as libwebrtc counts it.",
		3, []string{"From", "To", "Codec", "Shown / recv", "FPS", "Freezes", "Freeze ms", "First frame ms", "KF wait ms", "Repaired", "Layer", "Switches", "PSNR dB", "SSIM"}, video)
	tableHTML("What the listener heard", "Lost: never arrived by the end of the call (each run a concealed gap); late: reordered, held by the jitter buffer. MOS from the E-model (ITU-T G.107) with the stream's mouth-to-ear delay (measured network delay, 2 × jitter, codec), jitter and loss after repair.",
		2, []string{"From", "To", "Lost", "Late", "Concealed gaps", "Longest gap ms", "Delay ms", "R", "MOS"}, audio)
	if len(codecs) > 1 || len(refused) > 0 {
		tableHTML("Per codec", "", 1, []string{"Codec", "Streams", "Refused", "Frames shown", "Mean FPS", "Freezes", "Freeze ms", "Loss %", "kbit/s"}, codecs)
	}
	tableHTML("Not negotiated", "", 5, []string{"Publisher", "Subscriber", "Kind", "Codec", "Why"}, refused)
	return template.HTML(b.String()) //nolint:gosec // every value escaped above
}

// htmlTable writes a section with a title, an optional note and a table
// of rows, every value escaped; text is the number of leading text
// columns, the rest are numbers. Nothing is written without rows.
func htmlTable(b *strings.Builder, title, note string, text int, head []string, rows [][]string) {
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(b, "\n<section>\n<h2>%s</h2>\n", html.EscapeString(title))
	if note != "" {
		fmt.Fprintf(b, "<p>%s</p>\n", html.EscapeString(note))
	}
	b.WriteString("<div class=\"scroll\"><table>\n<thead><tr>")
	for i, h := range head {
		class := ""
		if i >= text {
			class = " class=\"num\""
		}
		fmt.Fprintf(b, "<th%s>%s</th>", class, html.EscapeString(h))
	}
	b.WriteString("</tr></thead>\n<tbody>\n")
	for _, row := range rows {
		b.WriteString("<tr>")
		for i, c := range row {
			class := ""
			if i >= text {
				class = " class=\"num\""
			}
			fmt.Fprintf(b, "<td%s>%s</td>", class, html.EscapeString(c))
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody>\n</table></div>\n</section>")
}

// codecLoss is a codec's mean loss, or none when none of its streams
// expected a packet (0/0 is no loss figure, as in the stream table).
func codecLoss(f float64) string {
	if math.IsNaN(f) {
		return none
	}
	return percent(f)
}
