package reports_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/reports"
)

func renderHTML(t *testing.T, r *reports.Report, plots []reports.Plot) string {
	t.Helper()
	var b bytes.Buffer
	if err := reports.WriteHTML(&b, r, plots); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The page must open offline and from an archive: nothing may be loaded
// from anywhere, and there is no script.
func TestHTMLSelfContained(t *testing.T) {
	r := fixture()
	plots, err := reports.Plots(r)
	if err != nil {
		t.Fatal(err)
	}
	page := renderHTML(t, r, plots)
	external := regexp.MustCompile(`(?i)(src|href|action|poster)\s*=\s*["']?\s*(https?:|//)|url\(\s*["']?\s*(https?:|//)|@import`)
	if m := external.FindString(page); m != "" {
		t.Errorf("page references an external resource: %q", m)
	}
	for _, bad := range []string{"<script", "<link", "<iframe"} {
		if strings.Contains(strings.ToLower(page), bad) {
			t.Errorf("page contains %s", bad)
		}
	}
	if n := strings.Count(page, `src="data:image/png;base64,`); n != len(plots) {
		t.Errorf("page inlines %d images, want %d", n, len(plots))
	}
}

func TestHTMLVerdictFirst(t *testing.T) {
	tests := []struct {
		name    string
		r       *reports.Report
		want    string
		partial bool
	}{
		{"pass", passing(), `<header class="verdict pass">`, false},
		{"fail", fixture(), `<header class="verdict fail">`, false},
		{"partial", partial(), `<header class="verdict fail">`, true},
		{"no verdict", &reports.Report{}, `<header class="verdict unknown">`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := renderHTML(t, tt.r, nil)
			body := page[strings.Index(page, "<body>"):]
			if !strings.HasPrefix(strings.TrimSpace(strings.TrimPrefix(body, "<body>\n<main>")), tt.want) {
				t.Errorf("page body does not start with %s:\n%.300s", tt.want, body)
			}
			banner := `<div class="partial" role="alert">`
			if got := strings.Contains(page, banner); got != tt.partial {
				t.Errorf("partial banner shown = %v, want %v", got, tt.partial)
			}
			if tt.partial {
				if !strings.Contains(page, "numbers cover only the part that ran") {
					t.Error("partial banner lacks its explanation")
				}
				if !strings.Contains(page, "SIGINT &lt;ctrl-c&gt;") {
					t.Error("partial banner lacks the escaped error")
				}
			}
		})
	}
}

func TestHTMLEscapes(t *testing.T) {
	r := fixture()
	r.Scenario.Name = `<script>alert("x")</script>`
	r.Checks = append(r.Checks, analysis.Check{Name: `<img src=x onerror=alert(1)>`, Verdict: analysis.Fail})
	page := renderHTML(t, r, nil)
	for _, bad := range []string{"<script>", "<img src=x"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains unescaped %q", bad)
		}
	}
}

func TestHTMLFailedRowsHighlighted(t *testing.T) {
	page := renderHTML(t, fixture(), nil)
	if got := strings.Count(page, `<tr class="failed">`); got != 2 {
		t.Errorf("%d highlighted check rows, want 2", got)
	}
}

func TestWriteHTMLNil(t *testing.T) {
	if err := reports.WriteHTML(&bytes.Buffer{}, nil, nil); err == nil {
		t.Error("WriteHTML(nil report) did not fail")
	}
}

// A kernel run's report says which network it ran on; an in-process one
// has no such field.
func TestHTMLNamesKernelBackend(t *testing.T) {
	r := passing()
	if strings.Contains(renderHTML(t, r, nil), "backend (network namespaces)") {
		t.Error("an in-process report names a backend")
	}
	r.Scenario.Clock, r.Scenario.Backend = "real", "kernel"
	if !strings.Contains(renderHTML(t, r, nil), "<dt>Network</dt><dd>kernel backend (network namespaces)</dd>") {
		t.Error("a kernel report does not say so")
	}
}
