package cli

import (
	"testing"

	"github.com/rtclab/rtclab/reports"
)

func TestDescribeBuild(t *testing.T) {
	tests := []struct {
		b    reports.ToolBuild
		want string
	}{
		{reports.ToolBuild{Version: "v1.2.0"}, "v1.2.0"},
		{reports.ToolBuild{Version: "(devel)", Revision: "e47ec6dd93e74788948396ceaf0b1d5a0b888943", Time: "2026-11-30T07:26:40Z"},
			"(devel) (rev e47ec6dd93e7, 2026-11-30T07:26:40Z)"},
		{reports.ToolBuild{Version: "v0.0.0-20261130072640-e47ec6dd93e7+dirty", Revision: "e47ec6d", Modified: true},
			"v0.0.0-20261130072640-e47ec6dd93e7+dirty (rev e47ec6d, modified)"},
	}
	for _, tt := range tests {
		if got := describeBuild(tt.b); got != tt.want {
			t.Errorf("describeBuild(%+v) = %q, want %q", tt.b, got, tt.want)
		}
	}
	// A version given at link time (-X main.version) wins over the
	// module's; the Go release is always known.
	if b := build("v9.9.9"); b.Version != "v9.9.9" || b.Go == "" {
		t.Errorf("build(v9.9.9) = %+v", b)
	}
}
