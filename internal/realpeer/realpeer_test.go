package realpeer

import (
	"fmt"
	"testing"
)

// fakeT records what the helper asks of a test instead of ending it.
type fakeT struct {
	testing.TB
	skipped, failed string
}

func (f *fakeT) Helper()                   {}
func (f *fakeT) Skip(args ...any)          { f.skipped = fmt.Sprint(args...) }
func (f *fakeT) Fatalf(s string, a ...any) { f.failed = fmt.Sprintf(s, a...) }

func TestBinary(t *testing.T) {
	tests := []struct {
		name, env      string
		skip, fail, ok bool
	}{
		{name: "go", env: "1", ok: true},
		{name: "rtclab-no-such-binary", env: "", skip: true},
		{name: "rtclab-no-such-binary", env: "0", skip: true},
		{name: "rtclab-no-such-binary", env: "1", fail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.env, func(t *testing.T) {
			t.Setenv(RequireEnv, tt.env)
			f := &fakeT{TB: t}
			p := Binary(f, tt.name)
			if (f.skipped != "") != tt.skip || (f.failed != "") != tt.fail || (p != "") != tt.ok {
				t.Errorf("path %q skipped %q failed %q", p, f.skipped, f.failed)
			}
		})
	}
}
