package pathprobe

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// TestBinMbps: a download bin's rate, and no rate for a bin too short to
// divide by: the last bin of a transfer ended 0.4 µs after the one
// before, and its rate, divided by 0 whole microseconds, was NaN, which
// made the diagnosis's JSON unwritable.
func TestBinMbps(t *testing.T) {
	tests := []struct {
		name  string
		bytes int64
		d     time.Duration
		want  float64
		ok    bool
	}{
		{"100 ms bin", 125_000, 100 * time.Millisecond, 10, true},
		{"1 ms bin", 1_250, time.Millisecond, 10, true},
		{"empty 400 ns bin", 0, 400 * time.Nanosecond, 0, false},
		{"400 ns bin with bytes", 1_200, 400 * time.Nanosecond, 0, false},
		{"zero", 0, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := binMbps(tt.bytes, tt.d)
			if ok != tt.ok || got != tt.want {
				t.Errorf("binMbps(%d, %v) = %v, %v; want %v, %v", tt.bytes, tt.d, got, ok, tt.want, tt.ok)
			}
			if math.IsNaN(got) || math.IsInf(got, 0) {
				t.Errorf("not finite: %v", got)
			}
			if _, err := json.Marshal(Rate{Mbps: got}); err != nil {
				t.Errorf("JSON: %v", err)
			}
		})
	}
}
