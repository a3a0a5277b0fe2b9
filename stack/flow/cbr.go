package flow

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/pion/transport/v3"
)

// Endpoints are the two sockets of a cross-traffic flow.
type Endpoints struct {
	// SendNet and RecvNet are the hosts' network stacks (required).
	SendNet, RecvNet transport.Net
	// SendAddr and RecvAddr are "ip:port" on those hosts (required).
	SendAddr, RecvAddr string
	// SSRC tags the flow's packets. Cross-traffic packets carry an
	// RTP-shaped header (RFC 3550 section 5.1) so the emulated network
	// keys their fates by flow and sequence number, like media.
	SSRC uint32
}

// Payload types of cross-traffic packets (dynamic range, RFC 3551).
const (
	ptCBR    = 100
	ptTCP    = 101
	ptTCPAck = 102
)

// header is the 12-byte RTP-shaped header plus an 8-byte sequence number
// and the 8-byte send time in nanoseconds.
const headerLen = 28

// Size of TCP-like data segments: a 1200-byte UDP payload.
const segment = 1200

// MTUPayload is the UDP payload of a packet that fills a 1500-byte path
// MTU (20 bytes of IPv4 and 8 of UDP header): the default size of
// background UDP (RFC 8868 section 5.3, "typically set to the path MTU
// size, the default value can be 1500 bytes").
const MTUPayload = 1500 - 28

func marshal(buf []byte, pt byte, ssrc uint32, seq uint64, sent time.Time) {
	buf[0] = 0x80
	buf[1] = pt
	binary.BigEndian.PutUint16(buf[2:], uint16(seq))
	binary.BigEndian.PutUint32(buf[4:], 0)
	binary.BigEndian.PutUint32(buf[8:], ssrc)
	binary.BigEndian.PutUint64(buf[12:], seq)
	binary.BigEndian.PutUint64(buf[20:], uint64(sent.UnixNano()))
}

func unmarshal(buf []byte) (pt byte, seq uint64, sent time.Time, ok bool) {
	if len(buf) < headerLen || buf[0] != 0x80 {
		return 0, 0, time.Time{}, false
	}
	return buf[1], binary.BigEndian.Uint64(buf[12:]), time.Unix(0, int64(binary.BigEndian.Uint64(buf[20:]))), true
}

// sockets opens both ends of a flow.
func (e Endpoints) open() (send, recv net.PacketConn, raddr net.Addr, err error) {
	if e.SendNet == nil || e.RecvNet == nil {
		return nil, nil, nil, fmt.Errorf("%w: SendNet and RecvNet are required", ErrParams)
	}
	if send, err = e.SendNet.ListenPacket("udp4", e.SendAddr); err != nil {
		return nil, nil, nil, fmt.Errorf("listen %s: %w", e.SendAddr, err)
	}
	if recv, err = e.RecvNet.ListenPacket("udp4", e.RecvAddr); err != nil {
		_ = send.Close()
		return nil, nil, nil, fmt.Errorf("listen %s: %w", e.RecvAddr, err)
	}
	if raddr, err = e.SendNet.ResolveUDPAddr("udp4", e.RecvAddr); err != nil {
		_ = send.Close()
		_ = recv.Close()
		return nil, nil, nil, fmt.Errorf("resolve %s: %w", e.RecvAddr, err)
	}
	return send, recv, raddr, nil
}

// CBR is constant-bitrate UDP: background traffic (RFC 8868 section
// 5.3) or an audio source (RFC 8867 section 4.3: CBR, 20 kbit/s).
type CBR struct {
	name       string
	rate       int
	size       int
	ssrc       uint32
	send, recv net.PacketConn
	raddr      net.Addr
	meter      meter
	plog       *packetLog
	wg         sync.WaitGroup
}

// rtpHeader is the size of the RTP header of a CBR packet: the rest is
// its payload in the RFC 8868 log.
const rtpHeader = 12

// LogPackets makes the flow keep a record of every packet (RFC 8868
// section 3.1), read with PacketLog. Call it before Run.
func (c *CBR) LogPackets() { c.plog.enable() }

// PacketLog returns the records of every packet sent and received so
// far; nil unless LogPackets was called.
func (c *CBR) PacketLog() (sent, received []PacketRecord) { return c.plog.records() }

func (c *CBR) record(sent bool, at time.Time, seq uint64, n int) {
	c.plog.add(sent, PacketRecord{At: at, PayloadType: ptCBR, SSRC: c.ssrc, Seq: uint16(seq), PayloadSize: n - rtpHeader})
}

// cbrTick is how often the CBR source sends what its rate allows.
const cbrTick = 5 * time.Millisecond

// NewCBR opens the sockets of a CBR flow of rate bit/s in packets of
// size bytes of UDP payload (MTUPayload when 0) and starts its receiver.
func NewCBR(name string, e Endpoints, rate, size int) (*CBR, error) {
	if size == 0 {
		size = MTUPayload
	}
	if rate <= 0 || size < headerLen || size > MTUPayload {
		return nil, fmt.Errorf("cbr %s: %w: rate %d, packet size %d (allowed %d..%d)", name, ErrParams, rate, size, headerLen, MTUPayload)
	}
	send, recv, raddr, err := e.open()
	if err != nil {
		return nil, fmt.Errorf("cbr %s: %w", name, err)
	}
	c := &CBR{name: name, rate: rate, size: size, ssrc: e.SSRC, send: send, recv: recv, raddr: raddr, plog: &packetLog{}}
	c.meter.setEstimate(rate)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		buf := make([]byte, 2048)
		for {
			n, _, err := recv.ReadFrom(buf)
			if err != nil {
				return
			}
			if pt, seq, sent, ok := unmarshal(buf[:n]); ok && pt == ptCBR {
				now := time.Now()
				c.meter.received(n, sent, now, true)
				c.record(false, now, seq, n)
			}
		}
	}()
	return c, nil
}

// Run sends from start until stop or until ctx ends: every 5 ms the
// packets the rate has paid for.
func (c *CBR) Run(ctx context.Context, start, stop time.Time) error {
	timer := time.NewTimer(time.Until(start))
	defer timer.Stop()
	buf := make([]byte, c.size)
	var credit float64
	var seq uint64
	perTick := float64(c.rate) / 8 * cbrTick.Seconds()
	for k := 1; ; k++ {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		now := time.Now()
		if !now.Before(stop) {
			return nil
		}
		timer.Reset(time.Until(start.Add(time.Duration(k) * cbrTick)))
		for credit += perTick; credit >= float64(c.size); credit -= float64(c.size) {
			marshal(buf, ptCBR, c.ssrc, seq, now)
			seq++
			if _, err := c.send.WriteTo(buf, c.raddr); err != nil {
				if errors.Is(err, net.ErrClosed) {
					return nil
				}
				return fmt.Errorf("cbr %s: %w", c.name, err)
			}
			c.meter.sent(c.size)
			c.record(true, now, seq-1, c.size)
		}
	}
}

// Counters returns what the flow measured so far.
func (c *CBR) Counters() Counters { return c.meter.counters() }

// TakeDelays returns the one-way delays measured since the last call.
func (c *CBR) TakeDelays() []Delay { return c.meter.takeDelays() }

// Close closes both sockets and waits for the receiver.
func (c *CBR) Close() error {
	err := errors.Join(c.send.Close(), c.recv.Close())
	c.wg.Wait()
	if err != nil {
		return fmt.Errorf("cbr %s close: %w", c.name, err)
	}
	return nil
}
