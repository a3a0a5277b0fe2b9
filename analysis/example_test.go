package analysis_test

import (
	"fmt"

	"github.com/rtclab/rtclab/analysis"
)

func ExampleEvaluate() {
	lo, hi := 0.01, 0.06
	allowed := analysis.Bound{Min: &lo, Max: &hi}
	ok := analysis.Evaluate("loss_fraction alice->bob audio", 0.0296, allowed)
	bad := analysis.Evaluate("loss_fraction alice->bob video", 0.081, allowed)
	fmt.Println(ok.Verdict, ok.Threshold)
	fmt.Println(bad.Verdict, bad.Reason)
	fmt.Println(analysis.OverallVerdict([]analysis.Check{ok, bad}))
	// Output:
	// pass 0.01 .. 0.06
	// fail measured 0.081, allowed 0.01 .. 0.06
	// fail
}

func ExamplePercentile() {
	rtts := []float64{40, 41, 40, 95, 42}
	fmt.Println(analysis.Percentile(rtts, 50), analysis.Mean(rtts))
	// Output: 41 51.6
}
