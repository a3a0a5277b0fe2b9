package agent

import (
	"encoding/binary"
	"time"
)

// frameStore keeps a receiver's frame log for the whole call, compact: a
// long call reassembles a frame per audio packet and about 30 video
// frames a second, which as Frames (72 bytes each, and as much again in a
// slice's spare capacity) grew an hour's call by 34 MB. Each frame is
// stored as varint differences from the one before (about 8 bytes), in
// chunks that are never copied; frames that keep their data (recording,
// Params.RecordMedia) are kept whole. The frames of the last
// maxShownWindow stay decoded for ShownWithin.
type frameStore struct {
	chunks [][]byte
	n      int
	first  time.Time
	prev   Frame
	// record: frames keep their data, and whole holds every frame.
	record bool
	whole  []Frame
	// recent are the frames that became complete within maxShownWindow
	// of the newest one.
	recent []Frame
}

// maxShownWindow is the longest window ShownWithin looks back over.
const maxShownWindow = 10 * time.Second

// frameChunk is the size of each chunk of encoded frames.
const frameChunk = 32 << 10

// maxFrameRecord bounds one encoded frame: flags and four varints.
const maxFrameRecord = 1 + 4*binary.MaxVarintLen64

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
	if s.record {
		s.whole = append(s.whole, fr)
		s.n++
		return
	}
	if len(s.chunks) == 0 || cap(s.chunks[len(s.chunks)-1])-len(s.chunks[len(s.chunks)-1]) < maxFrameRecord {
		s.chunks = append(s.chunks, make([]byte, 0, frameChunk))
	}
	if s.n == 0 {
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
	b := s.chunks[len(s.chunks)-1]
	b = append(b, flags)
	b = binary.AppendVarint(b, int64(fr.At.Sub(s.prev.At)))
	b = binary.AppendVarint(b, int64(int32(fr.Timestamp-s.prev.Timestamp)))
	b = binary.AppendVarint(b, int64(fr.Size))
	b = binary.AppendVarint(b, int64(fr.LostBefore))
	s.chunks[len(s.chunks)-1] = b
	s.prev = fr
	s.n++
}

// all returns every frame, in order, as a new slice.
func (s *frameStore) all() []Frame {
	if s.record {
		return append([]Frame(nil), s.whole...)
	}
	if s.n == 0 {
		return nil
	}
	out := make([]Frame, 0, s.n)
	var prev Frame
	var elapsed time.Duration
	for _, b := range s.chunks {
		for len(b) > 0 {
			flags := b[0]
			b = b[1:]
			var v [4]int64
			for i := range v {
				x, k := binary.Varint(b)
				if k <= 0 {
					return out // cannot happen: add wrote it
				}
				v[i], b = x, b[k:]
			}
			elapsed += time.Duration(v[0])
			fr := Frame{
				At:         s.first.Add(elapsed),
				Timestamp:  prev.Timestamp + uint32(v[1]),
				Keyframe:   flags&frameKey != 0,
				Decodable:  flags&frameDecodable != 0,
				Size:       int(v[2]),
				LostBefore: int(v[3]),
			}
			out = append(out, fr)
			prev = fr
		}
	}
	return out
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
