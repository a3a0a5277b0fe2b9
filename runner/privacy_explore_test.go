package runner

import (
	"os"
	"testing"
	"time"

	"github.com/rtclab/rtclab/reports"
)

func TestPrivacyExplore(t *testing.T) {
	for _, name := range []string{"quickstart", "quickstart-p2p", "udp-blocked"} {
		s := mustLoad(t, name)
		s.Duration.Duration = 5 * time.Second
		rep, err := runVirtual(t, s, Options{})
		if err != nil {
			t.Fatal(err)
		}
		r2 := *rep
		r2.Streams = nil
		_ = reports.WriteText(os.Stdout, &r2)
	}
}
