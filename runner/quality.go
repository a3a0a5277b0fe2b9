package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rtclab/rtclab"
	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/stack/agent"
)

// MediaCapture receives, at the end of a run, the media MeasureQuality
// needs: set Options.Media to a new MediaCapture.
type MediaCapture struct {
	// Streams are the received single-layer video streams.
	Streams []ReceivedVideo
}

// ReceivedVideo is one received video stream and what was sent on it.
type ReceivedVideo struct {
	// From and To name the publisher and the receiver.
	From, To string
	// Codec is the MIME type.
	Codec string
	// ClipFile is the source clip's path in rtclab.Clips.
	ClipFile string
	// TimestampBase is the sender's first RTP timestamp; FrameTicks the
	// RTP ticks per frame. Together they number the received frames.
	TimestampBase uint32
	FrameTicks    float64
	// Sent lists the clip frame sent as each sample.
	Sent []int
	// Frames are the frames received, with their data.
	Frames []agent.Frame
}

// capture fills c from the finished run: every video stream whose
// publisher sent one layer (the SFU forwards its timestamps unchanged, so
// each received frame can be matched to the sample it was).
func (r *run) capture(c *MediaCapture) {
	if r.sampler == nil {
		return
	}
	for _, st := range r.sampler.order {
		if st.rx.Kind != "video" {
			continue
		}
		for _, pub := range r.agents {
			if pub.p.Name != st.rx.From {
				continue
			}
			for _, conn := range pub.a.Conns() {
				if conn.Remote != "sfu" && conn.Remote != st.owner.p.Name {
					continue
				}
				for _, snd := range conn.Senders() {
					if snd.Clip.Kind() != "video" || len(snd.Layers()) != 1 {
						continue
					}
					frames, err := st.rx.Frames()
					r.readFailed(err)
					c.Streams = append(c.Streams, ReceivedVideo{
						From: st.rx.From, To: st.owner.p.Name, Codec: st.rx.Codec,
						ClipFile:      snd.Clip.Name(),
						TimestampBase: snd.TimestampBase(0),
						FrameTicks:    snd.Clip.Duration().Seconds() / float64(snd.Clip.Frames()) * float64(snd.Clip.ClockRate()),
						Sent:          snd.SentFrames(0),
						Frames:        frames,
					})
				}
			}
		}
	}
}

// ErrNoFFmpeg means MeasureQuality could not find ffmpeg or ffprobe.
var ErrNoFFmpeg = errors.New("ffmpeg not found")

// Quality is the picture quality of one received stream.
type Quality struct {
	// From and To name the stream.
	From, To string
	// Frames is the number of frames the sender sent from the first frame
	// shown to the last: each is compared with what the viewer had on
	// screen for it.
	Frames int
	// PSNR is the luma PSNR in dB of the frames' mean squared error and
	// SSIM the mean luma SSIM over those frames: a frame never shown is
	// compared with the frame still on screen (a freeze costs quality
	// where the picture moves).
	PSNR, SSIM float64
	// Shown is the number of frames shown; ShownPSNR and ShownSSIM compare
	// only those with their own source frame (transport damage that got
	// through to the decoder; 100 dB and 1 when every shown frame decoded
	// exactly).
	Shown                int
	ShownPSNR, ShownSSIM float64
}

// MeasureQuality decodes every captured stream with ffmpeg and compares
// each shown frame with the source clip frame it was sent as (luma PSNR
// and SSIM, analysis.PSNR and analysis.SSIM), then fills the streams'
// psnr_db and ssim in rep when rep is not nil. It runs real processes: call
// it outside a synctest bubble. dir holds the decoded files (a temporary
// directory when empty).
func MeasureQuality(ctx context.Context, c *MediaCapture, rep *reports.Report, dir string) ([]Quality, error) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoFFmpeg, err)
	}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "rtclab-quality-"); err != nil {
			return nil, fmt.Errorf("quality: %w", err)
		}
		defer os.RemoveAll(dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("quality: %w", err)
	}
	refs := map[string]*rawVideo{}
	var out []Quality
	for i, s := range c.Streams {
		ref := refs[s.ClipFile]
		if ref == nil {
			src := filepath.Join(dir, fmt.Sprintf("source-%d%s", i, filepath.Ext(s.ClipFile)))
			data, err := fs.ReadFile(rtclab.Clips, s.ClipFile)
			if err != nil {
				return out, fmt.Errorf("quality: %w", err)
			}
			if err := reports.WriteFileAtomic(src, data); err != nil {
				return out, fmt.Errorf("quality: %w", err)
			}
			if ref, err = decode(ctx, ffmpeg, src, 0, 0); err != nil {
				return out, err
			}
			refs[s.ClipFile] = ref
		}
		var shown []agent.Frame
		for _, f := range s.Frames {
			if f.Decodable && len(f.Data) > 0 {
				shown = append(shown, f)
			}
		}
		if len(shown) == 0 {
			continue
		}
		ext := ".ivf"
		if strings.EqualFold(s.Codec, "video/h264") {
			ext = ".h264"
		}
		rx := filepath.Join(dir, fmt.Sprintf("received-%s-%s%s", s.From, s.To, ext))
		var buf bytes.Buffer
		if err := agent.WriteFrames(&buf, s.Codec, shown, ref.width, ref.height); err != nil {
			return out, fmt.Errorf("quality %s->%s: %w", s.From, s.To, err)
		}
		if err := reports.WriteFileAtomic(rx, buf.Bytes()); err != nil {
			return out, fmt.Errorf("quality: %w", err)
		}
		got, err := decode(ctx, ffmpeg, rx, ref.width, ref.height)
		if err != nil {
			return out, err
		}
		q := measureStream(s, shown, got, ref)
		if q.Frames == 0 {
			continue
		}
		out = append(out, q)
		if rep != nil {
			for j := range rep.Streams {
				st := &rep.Streams[j]
				if st.From == s.From && st.To == s.To && st.Kind == "video" && st.Video != nil {
					p, m := round(q.PSNR, 2), round(q.SSIM, 4)
					st.Video.PSNRDB, st.Video.SSIM = &p, &m
				}
			}
		}
	}
	return out, nil
}

// measureStream compares the decoded shown frames (got, in the order of
// shown) with the reference clip frames they were sent as, and every sent
// frame with what was on screen for it.
func measureStream(s ReceivedVideo, shown []agent.Frame, got, ref *rawVideo) Quality {
	q := Quality{From: s.From, To: s.To}
	// sample number of each shown frame, from its RTP timestamp
	nums := make([]int, 0, len(shown))
	for k := 0; k < len(shown) && k < got.frames(); k++ {
		nums = append(nums, int(math.Round(float64(shown[k].Timestamp-s.TimestampBase)/s.FrameTicks)))
	}
	source := func(n int) (int, bool) {
		if n < 0 || n >= len(s.Sent) || s.Sent[n] >= ref.frames() {
			return 0, false
		}
		return s.Sent[n], true
	}
	var mseShown, mse float64
	for k, n := range nums {
		if src, ok := source(n); ok {
			mseShown += analysis.MSE(got.luma(k), ref.luma(src))
			q.ShownSSIM += analysis.SSIM(got.luma(k), ref.luma(src), ref.width, ref.height)
			q.Shown++
		}
	}
	if q.Shown > 0 {
		q.ShownPSNR = analysis.PSNRFromMSE(mseShown / float64(q.Shown))
		q.ShownSSIM /= float64(q.Shown)
	}
	if len(nums) == 0 {
		return q
	}
	// Every sent frame from the first shown to the last, against the
	// latest shown frame at or before it (playout in media time).
	k := 0
	for n := nums[0]; n <= nums[len(nums)-1]; n++ {
		for k+1 < len(nums) && nums[k+1] <= n {
			k++
		}
		src, ok := source(n)
		if !ok {
			continue
		}
		mse += analysis.MSE(got.luma(k), ref.luma(src))
		q.SSIM += analysis.SSIM(got.luma(k), ref.luma(src), ref.width, ref.height)
		q.Frames++
	}
	if q.Frames > 0 {
		q.PSNR = analysis.PSNRFromMSE(mse / float64(q.Frames))
		q.SSIM /= float64(q.Frames)
	}
	return q
}

// rawVideo is decoded 8-bit 4:2:0 video.
type rawVideo struct {
	width, height int
	data          []byte
}

func (v *rawVideo) frameSize() int { return v.width*v.height + 2*((v.width+1)/2)*((v.height+1)/2) }
func (v *rawVideo) frames() int    { return len(v.data) / v.frameSize() }
func (v *rawVideo) luma(i int) []byte {
	off := i * v.frameSize()
	return v.data[off : off+v.width*v.height]
}

// decode runs ffmpeg to turn file into raw yuv420p frames, one per frame
// in the file (no frame rate conversion). A zero size asks ffprobe for it.
func decode(ctx context.Context, ffmpeg, file string, width, height int) (*rawVideo, error) {
	if width == 0 {
		probe := filepath.Join(filepath.Dir(ffmpeg), "ffprobe")
		out, err := exec.CommandContext(ctx, probe, "-v", "error", "-select_streams", "v:0",
			"-show_entries", "stream=width,height", "-of", "csv=p=0", file).Output()
		if err != nil {
			return nil, fmt.Errorf("%w: ffprobe %s: %w", ErrNoFFmpeg, file, err)
		}
		parts := strings.Split(strings.TrimSpace(string(out)), ",")
		if len(parts) != 2 {
			return nil, fmt.Errorf("ffprobe %s: unexpected output %q", file, out)
		}
		if width, err = strconv.Atoi(parts[0]); err != nil {
			return nil, fmt.Errorf("ffprobe %s: %w", file, err)
		}
		if height, err = strconv.Atoi(parts[1]); err != nil {
			return nil, fmt.Errorf("ffprobe %s: %w", file, err)
		}
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin",
		"-i", file, "-fps_mode", "passthrough", "-vf", fmt.Sprintf("scale=%d:%d", width, height),
		"-pix_fmt", "yuv420p", "-f", "rawvideo", "-")
	cmd.Stderr = &stderr
	data, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("ffmpeg decode %s: %w: %s", file, err, stderr.String())
	}
	return &rawVideo{width: width, height: height, data: data}, nil
}
