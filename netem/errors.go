package netem

import "errors"

var (
	// ErrUnknownNAT is returned for a NAT value that is not one of NATs.
	ErrUnknownNAT = errors.New("unknown NAT behaviour")
	// ErrConfig is wrapped by every other configuration error of New.
	ErrConfig = errors.New("netem config")
	// ErrUnsupported is wrapped when a scenario asks for a behaviour the
	// emulator does not have; it is refused rather than approximated.
	ErrUnsupported = errors.New("not supported by the emulator")
	// ErrClosed is returned by I/O on a closed connection or network.
	ErrClosed = errors.New("netem: closed")
)
