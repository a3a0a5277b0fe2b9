package scenarios

import "testing"

// BenchmarkParseBuiltins decodes and validates every built-in scenario.
func BenchmarkParseBuiltins(b *testing.B) {
	var data [][]byte
	for _, n := range BuiltinNames() {
		d, ok := BuiltinYAML(n)
		if !ok {
			b.Fatalf("no built-in %s", n)
		}
		data = append(data, d)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, d := range data {
			if _, err := Parse("x.yaml", d); err != nil {
				b.Fatal(err)
			}
		}
	}
}
