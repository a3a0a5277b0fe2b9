package spool

import "encoding/binary"

// A Record is what the compact logs of a call store per entry (a packet,
// a frame): a byte of flags and four signed integers, normally the
// differences from the entry before, which varints (encoding/binary)
// keep to a few bytes each.
type Record struct {
	Flags byte
	V     [4]int64
}

// maxRecord bounds one encoded Record.
const maxRecord = 1 + 4*binary.MaxVarintLen64

// Append adds r at the end of the log.
func (l *Log) Append(r Record) {
	b := l.Reserve(maxRecord)
	b = append(b, r.Flags)
	for _, v := range r.V {
		b = binary.AppendVarint(b, v)
	}
	l.Commit(b)
}

// Records calls f with every Record appended, in order. An error means a
// spilled part could not be read back; a record cut short (which Append
// never writes) ends its chunk.
func (l *Log) Records(f func(Record)) error {
	return records(l.Chunks, f)
}

// Records calls f with every Record of the view, in order, as Log.Records.
func (v View) Records(f func(Record)) error {
	return records(v.Chunks, f)
}

func records(chunks func(func([]byte)) error, f func(Record)) error {
	return chunks(func(b []byte) {
		for len(b) > 0 {
			r := Record{Flags: b[0]}
			b = b[1:]
			for i := range r.V {
				x, k := binary.Varint(b)
				if k <= 0 {
					return
				}
				r.V[i], b = x, b[k:]
			}
			f(r)
		}
	})
}
