package agent

import (
	"fmt"
	"time"

	"github.com/rtclab/rtclab/spool"
)

// frameStore keeps a receiver's frame log for the whole call, compact: a
// long call reassembles a frame per audio packet and about 30 video
// frames a second, which as Frames (72 bytes each, and as much again in a
// slice's spare capacity) grew an hour's call by 34 MB. Each frame is
// stored as varint differences from the one before (about 8 bytes) in a
// spool.Log, which moves a long log to a temporary file; frames that keep
// their data (recording, Params.RecordMedia) are kept whole. The frames
// of the last maxShownWindow stay decoded for ShownWithin.
type frameStore struct {
	log   spool.Log
	n     int
	first time.Time
	prev  Frame
	// record: frames keep their data, and whole holds every frame.
	record bool
	whole  []Frame
	// recent are the frames that became complete within maxShownWindow
	// of the newest one (and up to as much again before).
	recent []Frame
}

// maxShownWindow is the longest window ShownWithin looks back over.
const maxShownWindow = 10 * time.Second

// flag bits of an encoded frame.
const (
	frameKey = 1 << iota
	frameDecodable
)

func (s *frameStore) add(fr Frame) {
	s.recent = append(s.recent, fr)
	if old := s.recent[0]; fr.At.Sub(old.At) >= 2*maxShownWindow {
		// Drop the frames older than the window, at most every
		// maxShownWindow: the copy is amortised.
		i := 0
		for i < len(s.recent) && fr.At.Sub(s.recent[i].At) >= maxShownWindow {
			i++
		}
		s.recent = append(s.recent[:0], s.recent[i:]...)
	}
	s.n++
	if s.record {
		s.whole = append(s.whole, fr)
		return
	}
	if s.n == 1 {
		s.first = fr.At
		s.prev = Frame{At: fr.At}
	}
	var flags byte
	if fr.Keyframe {
		flags |= frameKey
	}
	if fr.Decodable {
		flags |= frameDecodable
	}
	s.log.Append(spool.Record{Flags: flags, V: [4]int64{
		int64(fr.At.Sub(s.prev.At)), int64(int32(fr.Timestamp - s.prev.Timestamp)), int64(fr.Size), int64(fr.LostBefore),
	}})
	s.prev = fr
}

// all returns every frame, in order, as a new slice (nil when there is
// none). An error means a spilled part could not be read back.
func (s *frameStore) all() ([]Frame, error) {
	if s.n == 0 {
		return nil, nil
	}
	if s.record {
		return append([]Frame(nil), s.whole...), nil
	}
	out := make([]Frame, 0, s.n)
	var prev Frame
	var elapsed time.Duration
	err := s.log.Records(func(r spool.Record) {
		v := r.V
		elapsed += time.Duration(v[0])
		fr := Frame{
			At:         s.first.Add(elapsed),
			Timestamp:  prev.Timestamp + uint32(v[1]),
			Keyframe:   r.Flags&frameKey != 0,
			Decodable:  r.Flags&frameDecodable != 0,
			Size:       int(v[2]),
			LostBefore: int(v[3]),
		}
		out = append(out, fr)
		prev = fr
	})
	if err == nil && len(out) != s.n {
		err = fmt.Errorf("frame log: %d of %d frames read back", len(out), s.n)
	}
	return out, err
}

// frameRuns is a list of clip frame indexes kept as runs of consecutive
// ones: a sender sends its clip's frames in order, skipping ahead only to
// answer a keyframe request and starting over at the clip's end, so an
// hour's list of a frame per sample (5 MB as ints) is a few runs.
type frameRuns struct {
	runs []frameRun
	n    int
}

// frameRun is the indexes first, first+1, ..., first+len-1.
type frameRun struct{ first, len int }

func (r *frameRuns) add(i int) {
	if k := len(r.runs) - 1; k >= 0 && r.runs[k].first+r.runs[k].len == i {
		r.runs[k].len++
	} else {
		r.runs = append(r.runs, frameRun{i, 1})
	}
	r.n++
}

// all returns every index added, in order, as a new slice.
func (r *frameRuns) all() []int {
	if r.n == 0 {
		return nil
	}
	out := make([]int, 0, r.n)
	for _, run := range r.runs {
		for i := range run.len {
			out = append(out, run.first+i)
		}
	}
	return out
}
