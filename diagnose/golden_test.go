package diagnose_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/internal/golden"
)

// TestGoldenHTML pins the HTML and text of a real diagnosis (rtclab serve
// and diagnose on loopback, this build; version and start time fixed).
// The charts' PNG bytes are left out of the golden file (they may differ
// between platforms and library versions; the page around them may not).
func TestGoldenHTML(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "loopback.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res diagnose.Result
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	var html, text bytes.Buffer
	if err := diagnose.WriteHTML(&html, res); err != nil {
		t.Fatal(err)
	}
	if err := diagnose.WriteText(&text, res); err != nil {
		t.Fatal(err)
	}
	page := pngData.ReplaceAll(html.Bytes(), []byte("data:image/png;base64,PNG"))
	golden.Check(t, filepath.Join("testdata", "golden", "loopback.html.golden"), page)
	golden.Check(t, filepath.Join("testdata", "golden", "loopback.txt.golden"), text.Bytes())
	for _, bad := range []string{"159473.00", "7475.0 ms", "font-family:serif"} {
		if bytes.Contains(html.Bytes(), []byte(bad)) {
			t.Errorf("the page shows %q", bad)
		}
	}
}

var pngData = regexp.MustCompile(`data:image/png;base64,[^"]+`)
