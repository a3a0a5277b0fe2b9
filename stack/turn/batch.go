package turn

import (
	"net"

	"golang.org/x/net/ipv4"
)

// batchConn reads a UDP socket's datagrams in batches (recvmmsg on Linux,
// up to len(msgs) per system call; one at a time elsewhere) and hands
// them to ReadFrom one by one. pion/turn reads each listener socket and
// each allocation's relay socket on one goroutine with one ReadFrom per
// datagram; under load a queue builds in the socket, and one system call
// and one wake-up of that goroutine then serve many datagrams, as
// coturn's relay threads do. Writes go straight to the socket.
//
// ReadFrom is called by one goroutine at a time (pion's read loop).
type batchConn struct {
	*net.UDPConn
	pc       *ipv4.PacketConn
	msgs     []ipv4.Message
	got, off int
}

// batchBuffer is the size of each datagram buffer: pion's own read buffer
// (its inboundMTU and rtpMTU) is 1600 bytes, so nothing longer reaches it
// whole anyway.
const batchBuffer = 1600

// Batch sizes: the listener sockets carry every client's traffic; a relay
// socket (one per allocation, 128 per address by serve's default quota)
// one peer's.
const (
	listenerBatch = 32
	relayBatch    = 8
)

func newBatchConn(c *net.UDPConn, n int) *batchConn {
	b := &batchConn{UDPConn: c, pc: ipv4.NewPacketConn(c), msgs: make([]ipv4.Message, n)}
	buf := make([]byte, n*batchBuffer)
	for i := range b.msgs {
		b.msgs[i].Buffers = [][]byte{buf[i*batchBuffer : (i+1)*batchBuffer]}
	}
	return b
}

// batched wraps pc when it is a UDP socket; any other PacketConn (vnet's)
// is returned as it is.
func batched(pc net.PacketConn, n int) net.PacketConn {
	if c, ok := pc.(*net.UDPConn); ok {
		return newBatchConn(c, n)
	}
	return pc
}

// ReadFrom returns the next datagram of the batch, reading a new batch
// when it is used up. A datagram longer than p is cut, as a UDP read cuts
// it.
func (b *batchConn) ReadFrom(p []byte) (int, net.Addr, error) {
	if b.off >= b.got {
		n, err := b.pc.ReadBatch(b.msgs, 0)
		if err != nil {
			return 0, nil, err
		}
		b.got, b.off = n, 0
		if n == 0 {
			return 0, nil, nil
		}
	}
	m := &b.msgs[b.off]
	b.off++
	return copy(p, m.Buffers[0][:m.N]), m.Addr, nil
}
