package reports

import (
	"math"
	"testing"
)

func TestFormatters(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"seconds whole", seconds(30), "30s"},
		{"seconds short", seconds(1.8), "1.8s"},
		{"seconds two decimals", seconds(0.256), "0.26s"},
		{"seconds tens", seconds(12.34), "12.3s"},
		{"seconds hundreds", seconds(612.345), "612s"},
		{"seconds NaN", seconds(math.NaN()), "?s"},
		{"clock zero", clockTime(0), "0:00.000"},
		{"clock ms", clockTime(0.6554), "0:00.655"},
		{"clock minutes", clockTime(75.5), "1:15.500"},
		{"clock hours", clockTime(3725.25), "1:02:05.250"},
		{"clock negative", clockTime(-1.5), "-0:01.500"},
		{"value integer", value(1203), "1203"},
		{"value large", value(1203.46), "1203"},
		{"value mid", value(48.126), "48.13"},
		{"value small", value(0.04312), "0.0431"},
		{"value NaN", value(math.NaN()), none},
		{"percent", percent(0.0617), "6.17"},
		{"optional nil", optional(nil, 1), none},
		{"pair nil", pairText(nil), none},
		{"pair", pairText(&CandidatePair{Local: "srflx", Remote: "relay", Protocol: "udp"}), "srflx -> relay (udp)"},
		{"codec", shortCodec("video/VP8"), "VP8"},
		{"plural one", plural(1, "check"), "1 check"},
		{"plural many", plural(0, "event"), "0 events"},
		{"legend drops metric word", legendName("bitrate alice->bob video", "bitrate_kbps"), "alice->bob video"},
		{"legend keeps lone word", legendName("bitrate ", "bitrate_kbps"), "bitrate "},
		{"legend other metric", legendName("rtt alice<->sfu", "bitrate_kbps"), "rtt alice<->sfu"},
		{"legend empty", legendName("", "rtt_ms"), "(unnamed)"},
		{"legend long", legendName("participant-number-one->participant-number-two video", "x"), "participant-numbe…t-number-two video"},
		{"file safe", fileName("../a b/C"), "___a_b_c"},
		{"file empty", fileName(""), "metric"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}
