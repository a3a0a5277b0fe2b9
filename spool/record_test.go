package spool

import (
	"math"
	"testing"
)

// Records give back what Append wrote, extremes included, across chunks
// and the spill file.
func TestRecordsRoundTrip(t *testing.T) {
	var l Log
	want := []Record{{Flags: 0xff, V: [4]int64{math.MinInt64, math.MaxInt64, 0, -1}}}
	for i := range 100_000 { // several chunks, so the log spills
		want = append(want, Record{Flags: byte(i), V: [4]int64{int64(i), -int64(i), int64(i) << 20, 1}})
	}
	for _, r := range want {
		l.Append(r)
	}
	var got []Record
	if err := l.Records(func(r Record) { got = append(got, r) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("read back %d records, wrote %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("record %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if l.OnDisk() == 0 {
		t.Error("100,000 records did not spill")
	}
}
