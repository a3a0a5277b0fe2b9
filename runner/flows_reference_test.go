package runner

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/rtclab/rtclab/reports"
)

// TestFlowsReferenceRun: a scenario with a reference (RFC 8867 section
// 5.3) runs it first and sets each media flow against its twin. Against
// itself (same seed, virtual clock) the ratio is exactly 1 and the delay
// difference 0; against a reference at half the capacity the numbers are
// those of that reference run alone, recounted from its own report, and
// a flow whose bottleneck the reference does not have is not compared.
func TestFlowsReferenceRun(t *testing.T) {
	dir := t.TempDir()
	yaml := func(name, ref, rate string) string {
		s := "name: " + name + "\ntopology: flows\nduration: 12s\n"
		if ref != "" {
			s += "reference: " + ref + "\n"
		}
		return s + `participants:
  - {name: a, uplink: {rate: ` + rate + `, queue: 300ms}}
  - {name: b, downlink: {delay: 20ms}, uplink: {rate: 1Mbps, queue: 300ms}}
flows:
  - {name: video, kind: media, from: a, to: b}
  - {name: back, kind: media, from: b, to: a}
`
	}
	for name, body := range map[string]string{
		"self.yaml": yaml("self", "self-ref.yaml", "600kbps"), "self-ref.yaml": yaml("self-ref", "", "600kbps"),
		"half.yaml": yaml("half", "half-ref.yaml", "600kbps"),
		// Half the capacity, and b's uplink, the back flow's bottleneck,
		// not limited: only video is compared.
		"half-ref.yaml": "name: half-ref\ntopology: flows\nduration: 12s\nparticipants:\n  - {name: a, uplink: {rate: 300kbps, queue: 300ms}}\n  - {name: b, downlink: {delay: 20ms}}\nflows:\n  - {name: video, kind: media, from: a, to: b}\n  - {name: back, kind: media, from: b, to: a}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(file string) *reports.Report {
		t.Helper()
		path := filepath.Join(dir, file)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return runYAML(t, path, string(data))
	}
	flowOf := func(fs []reports.BandwidthFlow, name string) reports.BandwidthFlow {
		for _, f := range fs {
			if f.Name == name {
				return f
			}
		}
		t.Fatalf("no flow %s", name)
		return reports.BandwidthFlow{}
	}

	self := run("self.yaml")
	if self.Bandwidth.Reference == nil || self.Bandwidth.Reference.Scenario != "self-ref" {
		t.Fatalf("reference %+v", self.Bandwidth.Reference)
	}
	for _, name := range []string{"video", "back"} {
		f := flowOf(self.Bandwidth.Flows, name)
		if f.RateVsReference == nil || *f.RateVsReference != 1 || f.QueueDelayP95VsReferenceMS == nil || *f.QueueDelayP95VsReferenceMS != 0 {
			t.Errorf("%s against itself: rate ratio %v, p95 difference %v; want 1 and 0", name, val(f.RateVsReference), val(f.QueueDelayP95VsReferenceMS))
		}
	}

	half := run("half.yaml")
	alone := run("half-ref.yaml")
	v, ref := flowOf(half.Bandwidth.Flows, "video"), flowOf(alone.Bandwidth.Flows, "video")
	if want := v.RateKbps / ref.RateKbps; v.RateVsReference == nil || math.Abs(*v.RateVsReference-want) > 1e-4 || want < 1.1 {
		t.Errorf("video at 600 against 300 kbit/s: rate ratio %v, want %.4f (%.1f / %.1f kbit/s, the reference run alone), well above 1", val(v.RateVsReference), want, v.RateKbps, ref.RateKbps)
	}
	if want := *v.QueueDelayP95MS - *ref.QueueDelayP95MS; v.QueueDelayP95VsReferenceMS == nil || math.Abs(*v.QueueDelayP95VsReferenceMS-want) > 1e-3 {
		t.Errorf("video p95 difference %v, want %.3f", val(v.QueueDelayP95VsReferenceMS), want)
	}
	if b := flowOf(half.Bandwidth.Flows, "back"); b.RateVsReference != nil {
		t.Errorf("back compared (%v) though the reference has no bottleneck on its path", *b.RateVsReference)
	}
}
