package reports_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/reports"
)

// exampleReport is a two-participant peer-to-peer run.
func exampleReport() *reports.Report {
	rtt := 41.5
	ttc := 388.0
	return &reports.Report{
		Schema:      reports.Schema,
		Tool:        "rtclab dev",
		Scenario:    reports.ScenarioInfo{Name: "p2p-cone", Topology: "p2p", Clock: "virtual", Seed: 7, DurationS: 30},
		StartedAt:   "2026-03-14T09:26:53Z",
		WallSeconds: 1.8,
		Verdict:     analysis.Fail,
		Participants: []reports.Participant{
			{Name: "alice", NAT: "full-cone", Connected: true, ConnectedFraction: 0.987, TimeToConnectMS: &ttc, Peer: "bob",
				SelectedPair: &reports.CandidatePair{Local: "srflx", Remote: "srflx", Protocol: "udp"}},
			{Name: "bob", NAT: "full-cone", Connected: true, ConnectedFraction: 0.987, TimeToConnectMS: &ttc, Peer: "alice",
				SelectedPair: &reports.CandidatePair{Local: "srflx", Remote: "srflx", Protocol: "udp"}},
		},
		Streams: []reports.Stream{
			{From: "alice", To: "bob", Kind: "video", Codec: "video/VP8", PacketsSent: 3000, PacketsReceived: 2940,
				LossFraction: 0.02, RawLossFraction: 0.035, JitterMS: 2.4, RTTMS: &rtt, BitrateKbps: 1180, NACKCount: 55, PLICount: 1},
		},
		Checks: []analysis.Check{
			analysis.Evaluate("bob connected", 1, analysis.Bound{Min: ptr(1)}),
			analysis.Evaluate("bob loss_fraction (alice->bob video)", 0.02, analysis.Bound{Max: ptr(0.01)}),
		},
		Series: []analysis.Series{
			{Name: "alice->bob video", Metric: "bitrate_kbps", Unit: "kbps", Points: []analysis.Point{{T: 0.1, V: 900}, {T: 0.2, V: 1180}}},
			{Name: "alice->bob video", Metric: "loss_fraction", Unit: "fraction", Points: []analysis.Point{{T: 0.1, V: 0.02}}},
		},
	}
}

func ExampleWriteText() {
	if err := reports.WriteText(os.Stdout, exampleReport()); err != nil {
		log.Fatal(err)
	}
	// Output:
	// FAIL p2p-cone (virtual clock, 30s scenario in 1.8s wall)
	//
	// Participants
	//   NAME   NAT        CONNECTED  PRESENT %  TTC MS  PATH
	//   alice  full-cone  yes        98.7       388     srflx -> srflx (udp)
	//   bob    full-cone  yes        98.7       388     srflx -> srflx (udp)
	//
	// Streams
	//   STREAM      KIND   CODEC  RECV/SENT  LOSS %  RAW %  JITTER MS  RTT MS  KBPS  NACK  PLI
	//   alice->bob  video  VP8    2940/3000  2.00    3.50   2.4        41.5    1180  55    1
	//
	// Checks (1 passed, 1 failed)
	//   ✓ bob connected                         1     >= 1
	//   ✗ bob loss_fraction (alice->bob video)  0.02  <= 0.01  measured 0.02, allowed <= 0.01
}

func ExamplePlots() {
	plots, err := reports.Plots(exampleReport())
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range plots {
		fmt.Printf("%s: %s\n", p.File, p.Title)
	}
	// Output:
	// bitrate.png: Received bitrate per stream
	// loss.png: Loss after repair, 1 s windows (LOSS % of the table)
}

func ExampleWriteJUnit() {
	r := exampleReport()
	r.Checks = r.Checks[1:]
	if err := reports.WriteJUnit(os.Stdout, r); err != nil {
		log.Fatal(err)
	}
	// Output:
	// <?xml version="1.0" encoding="UTF-8"?>
	// <testsuite name="p2p-cone" tests="1" failures="1" errors="0" time="1.800" timestamp="2026-03-14T09:26:53Z">
	//   <properties>
	//     <property name="file" value=""></property>
	//     <property name="topology" value="p2p"></property>
	//     <property name="clock" value="virtual"></property>
	//     <property name="seed" value="7"></property>
	//     <property name="duration_s" value="30"></property>
	//     <property name="tool" value="rtclab dev"></property>
	//   </properties>
	//   <testcase name="bob loss_fraction (alice-&gt;bob video)" classname="p2p-cone">
	//     <failure message="measured 0.02, allowed &lt;= 0.01" type="check">value 0.02, threshold &lt;= 0.01, verdict fail</failure>
	//   </testcase>
	// </testsuite>
}

func ExampleWrite() {
	dir, err := os.MkdirTemp("", "rtclab-report")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	files, err := reports.Write(dir, exampleReport())
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range files {
		fmt.Println(filepath.Base(f))
	}
	// Output:
	// report.json
	// bitrate.png
	// loss.png
	// report.html
	// junit.xml
}
