package runner

import (
	"math"
	"testing"

	"github.com/rtclab/rtclab/reports"
)

// layer_min counts from the first move up, or from the start when the
// first layer was already the top one (with coalesced offers a
// subscriber on a clean link starts there).
func TestLayerMin(t *testing.T) {
	layers := []string{"q", "h", "f"}
	tests := []struct {
		name string
		to   []string
		want float64
	}{
		{"q then f", []string{"q", "f"}, 2},
		{"q, f, down to h", []string{"q", "f", "h"}, 1},
		{"starts on f", []string{"f"}, 2},
		{"starts on f, drops to q", []string{"f", "q", "f"}, 0},
		{"starts on h, never up", []string{"h"}, math.NaN()},
		{"starts on h, drops before going up", []string{"h", "q", "f"}, 2},
		{"stays on q", []string{"q"}, math.NaN()},
		{"nothing received", nil, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &reports.VideoStream{Layers: layers}
			for _, to := range tt.to {
				v.LayerSwitches = append(v.LayerSwitches, reports.LayerSwitch{To: to})
			}
			got := layerMin(v)
			if got != tt.want && !(math.IsNaN(got) && math.IsNaN(tt.want)) {
				t.Errorf("layerMin(%v) = %v, want %v", tt.to, got, tt.want)
			}
		})
	}
	// Not simulcast: one layer is not "the top" to start on.
	if got := layerMin(&reports.VideoStream{Layers: []string{""}, LayerSwitches: []reports.LayerSwitch{{To: ""}}}); !math.IsNaN(got) {
		t.Errorf("one layer: %v, want NaN", got)
	}
}
