package reproduce

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/rtclab/rtclab/diagnose"
)

// ErrInvalid wraps every refusal of ReadResult.
var ErrInvalid = errors.New("reproduce: not a diagnose result")

// MaxInput bounds what ReadResult reads (a full result is about 60 KiB).
const MaxInput = 16 << 20

// ReadResult reads one rtclab.diagnose/v1 result: the output of rtclab
// diagnose --json, or a result as the history's API returns it
// (GET /api/v1/results/{id}: the result under "result").
func ReadResult(data []byte) (diagnose.Result, error) {
	var res diagnose.Result
	if len(data) > MaxInput {
		return res, fmt.Errorf("%w: %d bytes, at most %d", ErrInvalid, len(data), MaxInput)
	}
	var probe struct {
		Schema string          `json:"schema"`
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return res, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if probe.Schema == "" && len(probe.Result) > 0 && bytes.HasPrefix(bytes.TrimSpace(probe.Result), []byte("{")) {
		data = probe.Result // a history record
	}
	if err := json.Unmarshal(data, &res); err != nil {
		return res, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if res.Schema != diagnose.Schema {
		return res, fmt.Errorf("%w: schema %q, want %q (rtclab diagnose --json writes it)", ErrInvalid, res.Schema, diagnose.Schema)
	}
	return res, nil
}
