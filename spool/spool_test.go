package spool

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"
)

// Records come back in order and whole, from memory and from the file; a
// long log holds at most keepInMemory+1 chunks on the heap, a short one
// never spills.
func TestLogSpillsAndReadsBack(t *testing.T) {
	tests := []struct {
		name      string
		records   int
		wantSpill bool
	}{
		{"empty", 0, false},
		{"short", 1000, false},
		{"long", 200_000, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l Log
			for i := range tt.records {
				b := l.Reserve(binary.MaxVarintLen64 + 1)
				b = binary.AppendUvarint(b, uint64(i))
				b = append(b, byte(i%251))
				l.Commit(b)
			}
			if got := l.OnDisk() > 0; got != tt.wantSpill {
				t.Errorf("spilled %v (%d bytes), want %v", got, l.OnDisk(), tt.wantSpill)
			}
			if l.InMemory() > (keepInMemory+1)*ChunkSize {
				t.Errorf("%d bytes in memory, more than %d chunks", l.InMemory(), keepInMemory+1)
			}
			next := 0
			err := l.Chunks(func(c []byte) {
				for len(c) > 0 {
					v, k := binary.Uvarint(c)
					if k <= 0 || len(c) < k+1 {
						t.Fatalf("record %d cut", next)
					}
					if v != uint64(next) || c[k] != byte(next%251) {
						t.Fatalf("record %d reads %d/%d", next, v, c[k])
					}
					c = c[k+1:]
					next++
				}
			})
			if err != nil || next != tt.records {
				t.Fatalf("read %d records (%v), want %d", next, err, tt.records)
			}
		})
	}
}

// The spill file is removed as soon as it is open: a crash leaves nothing.
func TestLogLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	var l Log
	for i := 0; l.OnDisk() == 0; i++ {
		l.Commit(append(l.Reserve(8), bytes.Repeat([]byte{byte(i)}, 8)...))
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("%d files left in the temporary directory", len(ents))
	}
}

// A log that cannot spill keeps everything in memory.
func TestLogWithoutTempDir(t *testing.T) {
	t.Setenv("TMPDIR", "/nonexistent/rtclab-spool")
	var l Log
	n := (keepInMemory + 3) * ChunkSize / 8
	for range n {
		l.Commit(append(l.Reserve(8), "12345678"...))
	}
	total := 0
	if err := l.Chunks(func(c []byte) { total += len(c) }); err != nil || total != 8*n || l.OnDisk() != 0 {
		t.Errorf("read %d bytes (%v), on disk %d; want %d in memory", total, err, l.OnDisk(), 8*n)
	}
}
