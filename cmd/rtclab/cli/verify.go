package cli

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rtclab/rtclab/verify"
)

func newVerifyCmd(env *Env) *cobra.Command {
	var (
		pcapDir string
		tshark  string
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "verify DIR",
		Short: "Recount a finished run from its packet captures and compare with its report",
		Long: `Doubt a number in a report? verify counts the run again from what was on
the wire and prints, stream by stream, the report's number against the
recount, the tolerance, and where both come from.

DIR is a run's output directory (it holds report.json). The captures are
the ones 'rtclab run --pcap PCAPDIR' wrote: give --pcap PCAPDIR, or keep
them in DIR or DIR/pcap. Per stream it recounts: packets the publisher
put on the wire (packets_sent), distinct packets received, loss after
and before repair against what the SFU (or the peer) sent to the
receiver, RFC 3550 interarrival jitter from capture arrival times and RTP
timestamps, the received bitrate, and the receiver's NACK/PLI packets.
SRTP leaves RTP headers in clear; with the dtls-keys.log that --pcap
writes, the SRTP keys are derived (RFC 5764 4.2) and every packet is
decrypted, so a retransmission counts for the packet it repairs.
Without the key log, repairs are matched by timestamp and size and the
numbers that depend on them are given as a range. When tshark is installed it decodes the
same captures and its per-SSRC packet counts are compared too.

  rtclab run --out run1 --pcap run1/pcap quickstart
  rtclab verify run1

Exit codes: 0 the report agrees with the recount, 1 some number
disagrees (listed at the end), 2 the run cannot be recounted (no
report.json, no captures, a flows run, captures of another run).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			rep, err := verify.LoadReport(dir)
			if err != nil {
				return &UsageError{Err: err}
			}
			pd := pcapDir
			if pd == "" {
				pd = dir
				if _, err := os.Stat(filepath.Join(dir, "pcap", "sfu.pcap")); err == nil {
					pd = filepath.Join(dir, "pcap")
				} else if len(rep.Participants) > 0 {
					if _, err := os.Stat(filepath.Join(dir, "pcap", rep.Participants[0].Name+".pcap")); err == nil {
						pd = filepath.Join(dir, "pcap")
					}
				}
			}
			res, err := verify.Recount(rep, pd, verify.Options{Tshark: tshark})
			if err != nil {
				if errors.Is(err, verify.ErrInput) {
					return &UsageError{Err: err}
				}
				return err
			}
			if asJSON {
				enc := json.NewEncoder(env.Stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(res); err != nil {
					return err
				}
			} else if err := verify.WriteText(env.Stdout, res); err != nil {
				return err
			}
			if !res.Agree() {
				return &exitError{code: ExitFail}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&pcapDir, "pcap", "", "directory of the run's captures (HOST.pcap); default DIR/pcap, else DIR")
	cmd.Flags().StringVar(&tshark, "tshark", "", "tshark binary for the second decode; default from PATH, \"-\" to skip it")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the recount and every comparison as JSON")
	return cmd
}
