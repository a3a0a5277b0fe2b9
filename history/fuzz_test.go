package history

import (
	"encoding/json"
	"errors"
	"os"
	"testing"
)

// FuzzParseResult feeds arbitrary bodies to what POST and PUT
// /api/v1/results do before storing (a customer's browser writes them):
// ParseResult must never panic, refuse with ErrInvalid, and whatever it
// accepts must be stored as one JSON object that reads back as a result
// carrying the server's observed address, not the client's.
func FuzzParseResult(f *testing.F) {
	if data, err := os.ReadFile("../diagnose/testdata/loopback.json"); err == nil {
		f.Add(data)
	}
	f.Add([]byte(`{"schema":"rtclab.diagnose/v1","partial":true,"client":{"kind":"browser","observed_address":"6.6.6.6"},"browser":{"x":[1,2]}}`))
	f.Add([]byte(`{"schema":"rtclab.diagnose/v1","verdict":{"level":"good"},"client":null}`))
	f.Add([]byte(`{"schema":"rtclab.diagnose/v1","verdict":{"level":"good"}} {}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, stored, err := ParseResult(body, "192.0.2.1")
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("refusal does not wrap ErrInvalid: %v", err)
			}
			return
		}
		rec := Record{Body: stored}
		res, err := rec.Result()
		if err != nil {
			t.Fatalf("stored JSON does not read back: %v\n%s", err, stored)
		}
		if res.Client == nil || res.Client.ObservedAddress != "192.0.2.1" {
			t.Fatalf("observed address %+v", res.Client)
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(stored, &obj) != nil {
			t.Fatalf("stored JSON is not an object: %s", stored)
		}
	})
}
