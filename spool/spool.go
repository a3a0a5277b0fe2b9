package spool

import (
	"fmt"
	"os"
	"slices"
)

// ChunkSize is the size of each chunk: records never straddle two, and a
// log holds at most keepInMemory+1 in memory.
const ChunkSize = 64 << 10

// keepInMemory is how many full chunks a log keeps before it spills:
// short logs (a 30 s call's) never touch the disk.
const keepInMemory = 2

// Log is an append-only sequence of records (byte strings, normally
// much shorter than ChunkSize). The zero value is an empty log. Not safe for
// concurrent use: its owner locks.
type Log struct {
	mem  [][]byte // full chunks not spilled, then the one being filled
	file *os.File
	// spilled are the lengths of the chunks in file, in order.
	spilled []int
	size    int64
	failed  bool // spilling failed once: keep everything in memory
}

// Reserve returns room for a record of up to n bytes at the end of the
// log: append the record to the returned slice and pass it to Commit.
func (l *Log) Reserve(n int) []byte {
	if k := len(l.mem) - 1; k >= 0 && cap(l.mem[k])-len(l.mem[k]) >= n {
		return l.mem[k]
	}
	l.spill()
	l.mem = append(l.mem, make([]byte, 0, max(n, ChunkSize)))
	return l.mem[len(l.mem)-1]
}

// Commit takes the slice Reserve returned with one record appended.
func (l *Log) Commit(b []byte) { l.mem[len(l.mem)-1] = b }

// spill writes the full chunks to the file when there are more than
// keepInMemory of them.
func (l *Log) spill() {
	if l.failed || len(l.mem) <= keepInMemory {
		return
	}
	if l.file == nil {
		f, err := os.CreateTemp("", "rtclab-spool-*")
		if err != nil {
			l.failed = true
			return
		}
		_ = os.Remove(f.Name()) // the open file keeps its data
		l.file = f
	}
	for _, c := range l.mem {
		if _, err := l.file.WriteAt(c, l.size); err != nil {
			l.failed = true
			return // the chunks not written stay in memory
		}
		l.size += int64(len(c))
		l.spilled = append(l.spilled, len(c))
		l.mem = l.mem[1:]
	}
	l.mem = nil
}

// View is a read-only copy of a Log as it was when View was called,
// sharing its chunks and file: what is appended to the Log later is not
// in it. Only View itself needs the owner's lock; reading the View does
// not (chunks once written never change: the Log appends past the bytes
// a View holds, and spills whole chunks at offsets past its file part).
type View struct {
	mem     [][]byte
	file    *os.File
	spilled []int
}

// View returns the log as it is now, to be read later without its lock.
func (l *Log) View() View {
	v := View{file: l.file, spilled: slices.Clip(l.spilled), mem: make([][]byte, len(l.mem))}
	for i, c := range l.mem {
		v.mem[i] = slices.Clip(c)
	}
	return v
}

// Chunks calls f with every chunk in order, spilled ones read back into
// one reused buffer (f must not keep it); each chunk holds whole records.
func (l *Log) Chunks(f func(chunk []byte)) error {
	return View{mem: l.mem, file: l.file, spilled: l.spilled}.Chunks(f)
}

// Chunks calls f with every chunk of the view in order, as Log.Chunks.
func (v View) Chunks(f func(chunk []byte)) error {
	var buf []byte
	var off int64
	for _, n := range v.spilled {
		if cap(buf) < n {
			buf = make([]byte, max(n, ChunkSize))
		}
		if _, err := v.file.ReadAt(buf[:n], off); err != nil {
			return fmt.Errorf("spool: read back %d bytes at %d: %w", n, off, err)
		}
		off += int64(n)
		f(buf[:n])
	}
	for _, c := range v.mem {
		f(c)
	}
	return nil
}

// InMemory is the bytes the log holds on the heap (its chunks' capacity);
// OnDisk the bytes it spilled.
func (l *Log) InMemory() int {
	n := 0
	for _, c := range l.mem {
		n += cap(c)
	}
	return n
}

// OnDisk is the bytes written to the log's file.
func (l *Log) OnDisk() int64 { return l.size }
