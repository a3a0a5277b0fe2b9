package reports_test

import (
	"bytes"
	"encoding/xml"
	"testing"

	"github.com/rtclab/rtclab/reports"
)

// suite is what a CI system reads back from junit.xml.
type suite struct {
	Name     string `xml:"name,attr"`
	Tests    int    `xml:"tests,attr"`
	Failures int    `xml:"failures,attr"`
	Errors   int    `xml:"errors,attr"`
	Time     string `xml:"time,attr"`
	Cases    []struct {
		Name    string `xml:"name,attr"`
		Failure *struct {
			Message string `xml:"message,attr"`
		} `xml:"failure"`
		Error *struct {
			Message string `xml:"message,attr"`
		} `xml:"error"`
	} `xml:"testcase"`
}

func TestWriteJUnit(t *testing.T) {
	tests := []struct {
		name                         string
		r                            *reports.Report
		tests, failures, errors      int
		time, firstFailure, errorMsg string
	}{
		{"fail", fixture(), 5, 2, 0, "1.800", "measured 0, allowed == 1", ""},
		{"pass", passing(), 3, 0, 0, "1.800", "", ""},
		{"partial", partial(), 6, 2, 1, "0.740", "measured 0, allowed == 1", "interrupted by signal: SIGINT <ctrl-c> at 12.3s scenario time"},
		{"empty", &reports.Report{}, 0, 0, 0, "0.000", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := reports.WriteJUnit(&b, tt.r); err != nil {
				t.Fatal(err)
			}
			var s suite
			if err := xml.Unmarshal(b.Bytes(), &s); err != nil {
				t.Fatalf("junit.xml does not parse: %v\n%s", err, b.String())
			}
			if s.Name != tt.r.Scenario.Name || s.Tests != tt.tests || s.Failures != tt.failures || s.Errors != tt.errors || s.Time != tt.time {
				t.Errorf("suite %q tests=%d failures=%d errors=%d time=%s, want %q %d %d %d %s",
					s.Name, s.Tests, s.Failures, s.Errors, s.Time, tt.r.Scenario.Name, tt.tests, tt.failures, tt.errors, tt.time)
			}
			if len(s.Cases) != tt.tests {
				t.Fatalf("%d test cases, want %d", len(s.Cases), tt.tests)
			}
			var first, errMsg string
			for _, c := range s.Cases {
				if c.Failure != nil && first == "" {
					first = c.Failure.Message
				}
				if c.Error != nil {
					errMsg = c.Error.Message
				}
			}
			if first != tt.firstFailure || errMsg != tt.errorMsg {
				t.Errorf("first failure %q, error %q; want %q, %q", first, errMsg, tt.firstFailure, tt.errorMsg)
			}
		})
	}
}
