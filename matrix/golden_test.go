package matrix

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/rtclab/rtclab/internal/golden"
)

// TestGolden pins the matrix page (house style, verdict first) and its
// text for the hand-made sample: expected, known-deviation and
// unexpected cells. The heatmap PNG is left out (its bytes may differ
// between platforms; heatmap tests cover it).
func TestGolden(t *testing.T) {
	var html, text bytes.Buffer
	if err := WriteHTML(&html, sample(), nil); err != nil {
		t.Fatal(err)
	}
	if err := WriteText(&text, sample()); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "golden", "matrix.html.golden"), html.Bytes())
	golden.Check(t, filepath.Join("testdata", "golden", "matrix.txt.golden"), text.Bytes())
}
