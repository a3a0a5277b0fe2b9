package reproduce

import (
	"errors"
	"os"
	"testing"

	"github.com/rtclab/rtclab/scenarios"
)

// FuzzReadResult feeds arbitrary bytes to what `rtclab reproduce FILE`
// does with them: ReadResult must never panic and refuse with ErrInvalid;
// every result it accepts must make a scenario the scenario language
// accepts (a result is outside input: a customer's browser wrote it).
func FuzzReadResult(f *testing.F) {
	for _, p := range []string{"../diagnose/testdata/loopback.json", "testdata/udp-blocked.json"} {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"schema":"rtclab.diagnose/v1","target":"a\nb: c","best_path":"relay-tcp","turn":[{"transport":"tcp","ok":true}],"quality":[{"path":"relay-tcp","ping":{"rtt_ms":1e308,"loss_pct":-1,"jitter_ms":7}}]}`))
	f.Add([]byte(`{"result":{"schema":"rtclab.diagnose/v1","nat":{"reachable":true,"type":"firewall","filtering":"address-dependent"}}}`))
	f.Add([]byte(`{"schema":"rtclab.diagnose/v1","bandwidth":{"up":{"mbps":1e30},"down":{"mbps":-3},"window_cap_kbps":-1}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ReadResult(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		y := Scenario(res, Source{From: "fuzz"})
		if _, err := scenarios.Parse("fuzz.yaml", y); err != nil {
			t.Fatalf("an accepted result made an invalid scenario: %v\n%s", err, y)
		}
	})
}
