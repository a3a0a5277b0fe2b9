package scenarios

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseLink(t *testing.T) {
	for _, tc := range []struct {
		spec, trace string
		want        string // substring of the error, "" for none
	}{
		{spec: "rate: 300kbps, queue: 100ms, jitter: 20ms"},
		{spec: "{delay: 40ms, loss: 3%}"},
		{trace: "builtin:dip-2m-300k.mahi"},
		{spec: "rate: 3kbps", want: "rate: 3000 bit/s is outside 8kbps..100Gbps"},
		{spec: "loss: 200%", want: "loss: 200% is outside"},
		{spec: "speed: 1Mbps", want: `speed: unknown field "speed" (allowed: down, loss`},
		{spec: "rate: 1Mbps", trace: "builtin:none", want: "set rate or trace, not both"},
	} {
		imp, err := ParseLink("--link", tc.spec, tc.trace)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.spec, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalid)):
			t.Errorf("%q: err %v, want one containing %q that wraps ErrInvalid", tc.spec, err, tc.want)
		}
		if tc.spec == "rate: 300kbps, queue: 100ms, jitter: 20ms" && (imp.Rate != 300_000 || imp.QueueDelay != 100*time.Millisecond || imp.Jitter != 20*time.Millisecond) {
			t.Errorf("parsed %+v", imp)
		}
	}
}
