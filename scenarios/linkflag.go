package scenarios

import (
	"errors"
	"strings"

	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/yamldecode"
)

// ParseLink reads one direction of a link written on a command line: the
// fields of a scenario's uplink or downlink, without a schedule, as a
// YAML flow mapping with or without its braces, e.g.
// "rate: 300kbps, queue: 100ms, jitter: 20ms". source names the flag in
// errors ("--link"); trace, when not empty, is a trace file (or
// builtin:NAME) that replaces any rate. Every problem is returned,
// joined, each naming source, line and field, and wrapping ErrInvalid.
func ParseLink(source, spec, trace string) (netem.Impairment, error) {
	spec = strings.TrimSpace(spec)
	if !strings.HasPrefix(spec, "{") {
		spec = "{" + spec + "}"
	}
	root, err := yamldecode.Parse([]byte(spec))
	if err != nil {
		return netem.Impairment{}, fileErrors(source, err)
	}
	var ch LinkChange
	if err := yamldecode.Decode(root, &ch); err != nil {
		return netem.Impairment{}, fileErrors(source, err)
	}
	if trace != "" {
		ch.Trace = &trace
	}
	var errs []error
	c := linkCtx{s: &Scenario{File: source}, bad: func(msg string, path ...any) {
		errs = append(errs, &Error{File: source, Line: yamldecode.LineOf(root, path...), Field: fieldPath(path), Msg: msg})
	}}
	imp := ch.resolve(c, netem.Impairment{})
	return imp, errors.Join(errs...)
}
