package verify

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/rtclab/rtclab/seqnum"
)

// tsharkKey counts packets per SSRC and direction.
type tsharkKey struct {
	ssrc uint32
	out  bool
}

// tsharkTime is how long tshark may take over a capture of size bytes:
// two minutes, and a minute more per 100 MB (a 30-minute call's SFU
// capture is 1 GB; tshark took over two minutes on it on a loaded
// machine).
func tsharkTime(size int64) time.Duration {
	return 2*time.Minute + time.Duration(size/(100<<20))*time.Minute
}

// runTshark runs tshark with args for at most limit and returns its
// standard output.
func runTshark(bin string, args []string, limit time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// parseTshark reads tshark's "-T fields -e ip.src -e rtp.ssrc -e rtp.seq"
// output (tab-separated, SSRC in hex) and counts packets per SSRC and
// direction (out: ip.src is self). A frame tshark decoded as several RTP
// packets lists them comma-separated; each counts.
func parseTshark(out []byte, self string) (map[tsharkKey]uint64, error) {
	n := map[tsharkKey]uint64{}
	// Over TCP, copies of one packet (retransmitted segments) count once,
	// by the stream's extended sequence number (RFC 3550 A.1: a call of
	// more than 65,536 packets reuses every 16-bit number).
	type overTCP struct {
		k   tsharkKey
		seq int64
	}
	seen := map[overTCP]bool{}
	unwrap := map[tsharkKey]*seqnum.Unwrapper{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for line := 1; sc.Scan(); line++ {
		f := strings.Split(sc.Text(), "\t")
		if len(f) < 2 || f[1] == "" {
			continue
		}
		var seqs []string
		tcp := len(f) >= 4 && f[3] != ""
		if len(f) >= 3 {
			seqs = strings.Split(f[2], ",")
		}
		for i, s := range strings.Split(f[1], ",") {
			v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 32)
			if err != nil {
				return nil, fmt.Errorf("tshark output line %d: SSRC %q: %w", line, s, err)
			}
			k := tsharkKey{uint32(v), f[0] == self}
			if tcp && i < len(seqs) {
				seq, err := strconv.ParseUint(seqs[i], 10, 16)
				if err != nil {
					return nil, fmt.Errorf("tshark output line %d: sequence number %q: %w", line, seqs[i], err)
				}
				u := unwrap[k]
				if u == nil {
					u = &seqnum.Unwrapper{}
					unwrap[k] = u
				}
				ext := overTCP{k, u.Unwrap(uint16(seq))}
				if seen[ext] {
					continue
				}
				seen[ext] = true
			}
			n[k]++
		}
	}
	return n, sc.Err()
}

// tsharkCheck has tshark decode every capture's RTP (its heuristic RTP
// dissector) and compares its packets per SSRC and direction with this
// package's own parser: two independent decoders of the same bytes. tshark
// failing on a capture (killed, out of time) loses that second opinion,
// not the recount: res.Tshark says where it failed.
func tsharkCheck(res *Result, caps map[string]*capture, hosts []string, opt Options) error {
	bin := opt.Tshark
	switch bin {
	case "-":
		res.Tshark = "not run (asked not to)"
		return nil
	case "":
		p, err := exec.LookPath("tshark")
		if err != nil {
			res.Tshark = "not installed: the captures were decoded by rtclab's own parser only"
			return nil
		}
		bin = p
	}
	var checked, failed []string
	for _, h := range hosts {
		c := caps[h]
		limit := tsharkTime(0)
		if st, err := os.Stat(c.path); err == nil {
			limit = tsharkTime(st.Size())
		}
		// TURN over TCP: tshark's sequence analysis would not hand a
		// retransmitted segment to the RTP dissector, though a segment
		// lost on the way to the receiver arrives only as one; with it off
		// every copy is decoded, and packets that came over TCP are
		// counted once per sequence number (TCP delivers each byte once).
		// An ICMP error quotes the datagram it refers to (RFC 792), which
		// tshark decodes too: that copy was never received as RTP, and
		// rtclab's parser, which reads UDP and TCP only, does not count it.
		base := []string{"-r", c.path, "-o", "rtp.heuristic_rtp:TRUE", "-o", "tcp.analyze_sequence_numbers:FALSE",
			"-Y", "rtp.ssrc && !icmp", "-T", "fields", "-e", "ip.src", "-e", "rtp.ssrc", "-e", "rtp.seq", "-e", "tcp.srcport"}
		out, err := runTshark(bin, base, limit)
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s (%v)", c.path, err))
			continue
		}
		how := "tshark's heuristic RTP decode"
		if n := bytes.Count(out, []byte("\n")); n < len(c.rtp) {
			// A port another dissector is registered for takes precedence
			// over the heuristic (ephemeral ports can hit one): decode the
			// host's RTP ports as RTP, as a Wireshark user would.
			ports := map[uint16]bool{}
			args := append([]string(nil), base...)
			for _, r := range c.rtp {
				if !ports[r.Port] {
					ports[r.Port] = true
					args = append(args, "-d", fmt.Sprintf("udp.port==%d,rtp", r.Port))
				}
			}
			if again, err := runTshark(bin, args, limit); err == nil && bytes.Count(again, []byte("\n")) > n {
				out, how = again, "tshark's RTP decode (decode-as on the host's ports; the heuristic missed packets)"
			}
		}
		theirs, err := parseTshark(out, c.self.String())
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s (%v)", c.path, err))
			continue
		}
		ours, padding := map[tsharkKey]uint64{}, map[tsharkKey]uint64{}
		for _, r := range c.rtp {
			ours[tsharkKey{r.SSRC, r.Out}]++
			if r.Padding {
				padding[tsharkKey{r.SSRC, r.Out}]++
			}
		}
		for k, n := range ours {
			dir := "received"
			if k.out {
				dir = "sent"
			}
			row := Row{Stream: h, Quantity: fmt.Sprintf("tshark RTP %s SSRC %#08x", dir, k.ssrc), Report: float64(theirs[k]),
				Low: float64(n), High: float64(n), Tolerance: float64(padding[k]),
				Why: how + " against rtclab's parser, packets of this SSRC in " + c.path + "; exact but for padding packets, which the heuristic may refuse (their padding length is encrypted)"}
			row.Agree = math.Abs(row.Report-row.Low) <= row.Tolerance
			res.Rows = append(res.Rows, row)
		}
		for k, n := range theirs {
			if _, ok := ours[k]; !ok {
				res.Rows = append(res.Rows, Row{Stream: h, Quantity: fmt.Sprintf("tshark RTP SSRC %#08x", k.ssrc), Report: float64(n),
					Why: "tshark decoded RTP packets of an SSRC rtclab's parser did not see"})
			}
		}
		checked = append(checked, h)
	}
	res.Tshark = fmt.Sprintf("%s decoded %s: packets per SSRC compared", bin, strings.Join(checked, ", "))
	if len(checked) == 0 {
		res.Tshark = bin + " decoded nothing"
	}
	if len(failed) > 0 {
		res.Tshark += "; it failed on " + strings.Join(failed, ", ") + ": the recount there rests on rtclab's own parser"
	}
	return nil
}
