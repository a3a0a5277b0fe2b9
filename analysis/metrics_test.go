package analysis

import (
	"os"
	"strings"
	"testing"
)

// docs/scenarios.md's metric table is a copy of the one table; keep it in
// step (regenerate it from MetricTable(false)).
func TestDocsMetricTable(t *testing.T) {
	readme, err := os.ReadFile("../docs/scenarios.md")
	if err != nil {
		t.Skip("no docs/scenarios.md:", err)
	}
	if !strings.Contains(string(readme), MetricTable(false)) {
		t.Errorf("docs/scenarios.md's metric table differs from analysis.Metrics; paste:\n%s", MetricTable(false))
	}
}

func TestMetricTableUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range Metrics {
		k := m.Name + "/" + string(m.Scope)
		if flowsScope(m.Scope) {
			k = m.Name + "/flows"
		} else {
			k = m.Name + "/call"
		}
		if seen[k] {
			t.Errorf("metric %s twice in one family", m.Name)
		}
		seen[k] = true
		if m.Meaning == "" || m.Computation == "" || m.Unit == "" {
			t.Errorf("metric %s: empty meaning, computation or unit", m.Name)
		}
	}
}
