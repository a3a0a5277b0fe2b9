package reports

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/rtclab/rtclab/analysis"
)

// junitSuite is a JUnit <testsuite>, in the dialect CI systems (Jenkins,
// GitLab, GitHub annotations) read.
type junitSuite struct {
	XMLName    xml.Name        `xml:"testsuite"`
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr,omitempty"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	// Skipped marks a known failure: reported, not failing the build.
	Skipped *junitSkip `xml:"skipped,omitempty"`
}

type junitSkip struct {
	Message string `xml:"message,attr"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes r as JUnit XML: one <testsuite> named after the
// scenario, timed by the run's wall seconds, with one <testcase> per check
// and a <failure> for each failed one. A partial run gets one more test
// case, "run completed", with an <error> saying why it stopped, so CI does
// not mistake an interrupted run whose checks passed for a success.
func WriteJUnit(w io.Writer, r *Report) error {
	if r == nil {
		return errors.New("write junit: nil report")
	}
	s := junitSuite{
		Name:      r.Scenario.Name,
		Time:      strconv.FormatFloat(r.WallSeconds, 'f', 3, 64),
		Timestamp: r.StartedAt,
		Properties: []junitProperty{
			{"file", r.Scenario.File},
			{"topology", r.Scenario.Topology},
			{"clock", r.Scenario.Clock},
			{"seed", strconv.FormatInt(r.Scenario.Seed, 10)},
			{"duration_s", strconv.FormatFloat(r.Scenario.DurationS, 'f', -1, 64)},
			{"tool", r.Tool},
		},
	}
	for _, c := range r.Checks {
		tc := junitCase{Name: c.Name, ClassName: r.Scenario.Name}
		if c.Failed() {
			msg := c.Reason
			if msg == "" {
				msg = "check failed"
			}
			tc.Failure = &junitProblem{
				Message: msg,
				Type:    "check",
				Text:    fmt.Sprintf("value %s, threshold %s, verdict %s", checkValue(c.Value), c.Threshold, c.Verdict),
			}
			s.Failures++
		}
		if c.Verdict == analysis.KnownFailure && c.Known != nil {
			tc.Skipped = &junitSkip{Message: fmt.Sprintf("known failure (%s): %s; value %s, threshold %s", c.Known.Link, c.Known.Reason, checkValue(c.Value), c.Threshold)}
			s.Skipped++
		}
		s.Cases = append(s.Cases, tc)
	}
	if r.Partial {
		msg := r.Error
		if msg == "" {
			msg = "run interrupted"
		}
		s.Cases = append(s.Cases, junitCase{
			Name:      "run completed",
			ClassName: r.Scenario.Name,
			Error:     &junitProblem{Message: msg, Type: "partial", Text: partialNote(r)},
		})
		s.Errors++
	}
	s.Tests = len(s.Cases)

	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	return nil
}
