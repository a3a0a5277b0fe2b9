package compare_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/rtclab/rtclab/compare"
	"github.com/rtclab/rtclab/internal/golden"
)

// TestGolden pins the text and HTML of a real comparison: this build's
// quickstart against the same with 5 % loss on bob's downlink (reports
// with their series left out; testdata/quickstart-*.json).
func TestGolden(t *testing.T) {
	old, err := compare.Load(filepath.Join("testdata", "quickstart-3pct.json"))
	if err != nil {
		t.Fatal(err)
	}
	next, err := compare.Load(filepath.Join("testdata", "quickstart-5pct.json"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := compare.Runs(old, next)
	if err != nil {
		t.Fatal(err)
	}
	res.Old, res.New = "base", "worse"
	var text, html bytes.Buffer
	if err := compare.WriteText(&text, res); err != nil {
		t.Fatal(err)
	}
	if err := compare.WriteHTML(&html, res); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "golden", "compare.txt.golden"), text.Bytes())
	golden.Check(t, filepath.Join("testdata", "golden", "compare.html.golden"), html.Bytes())
}
