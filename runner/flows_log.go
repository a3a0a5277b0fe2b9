package runner

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/stack/flow"
)

// RTPLogHeader is the first line of every RFC 8868 log file rtclab
// writes: the columns of RFC 8868 section 3.1, tab-separated.
const RTPLogHeader = "# unix_time_s\tpayload_type\tssrc\tseq\trtp_timestamp\tmarker\tpayload_size"

// packetLogger is a flow that keeps RFC 8868 packet records.
type packetLogger interface {
	PacketLog() (sent, received []flow.PacketRecord)
}

// writeRTPLogs writes, for every media and audio flow, FLOW.send.tsv and
// FLOW.recv.tsv into dir: one line per packet in the per-packet format of
// RFC 8868 section 3.1, so tools that read that format (ns-3's rmcat
// scripts, plotting scripts) can read a run.
func (r *flowRun) writeRTPLogs(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("rtp log directory: %w", err)
	}
	var errs []error
	for _, st := range r.flows {
		if !st.isMedia() {
			continue
		}
		errs = append(errs,
			writeRTPLog(filepath.Join(dir, st.in.ID+".send.tsv"), st.sentLog),
			writeRTPLog(filepath.Join(dir, st.in.ID+".recv.tsv"), st.recvLog))
	}
	return errors.Join(errs...)
}

func writeRTPLog(path string, recs []flow.PacketRecord) error {
	f, err := reports.CreateFile(path) // renamed when whole
	if err != nil {
		return fmt.Errorf("rtp log: %w", err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, RTPLogHeader)
	for _, p := range recs {
		marker := 0
		if p.Marker {
			marker = 1
		}
		fmt.Fprintf(w, "%d.%06d\t%d\t%d\t%d\t%d\t%d\t%d\n", p.At.Unix(), p.At.Nanosecond()/1000, p.PayloadType, p.SSRC, p.Seq, p.Timestamp, marker, p.PayloadSize)
	}
	if err := w.Flush(); err != nil {
		_ = f.Abort()
		return fmt.Errorf("rtp log %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("rtp log: %w", err)
	}
	return nil
}
