package flow

import "errors"

// ErrParams is wrapped by every error about a flow's parameters.
var ErrParams = errors.New("invalid flow parameters")
