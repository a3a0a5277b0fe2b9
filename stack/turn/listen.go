package turn

import (
	"context"
	"fmt"
	"net"
	"runtime"

	"github.com/pion/transport/v3"
	"github.com/pion/transport/v3/stdnet"
	pionturn "github.com/pion/turn/v4"
)

// DefaultSocketBuffer is the receive and send buffer asked of the kernel
// for each UDP listening socket on the real network. The kernel's default
// (about 208 KiB) overflows under load: 100 turnutils_uclient pairs
// sending 1000-byte messages every millisecond lost 19-29 % of them as
// receive-buffer errors on a single socket; coturn asks for 4 MiB too.
const DefaultSocketBuffer = 4 << 20

// Sockets says how the UDP listener was set up on the real network, as the
// kernel granted it.
type Sockets struct {
	// Count is the number of UDP sockets bound to the listen address
	// (SO_REUSEPORT: the kernel spreads clients over them by address
	// hash, each read by its own goroutine, like coturn's relay threads).
	Count int
	// Asked is the buffer size asked for (SO_RCVBUFFORCE/SO_SNDBUFFORCE
	// when the process may, else SO_RCVBUF/SO_SNDBUF).
	Asked int
	// Recv and Send are what getsockopt reports for the first socket.
	// Linux reports twice the usable size (the rest is its bookkeeping,
	// socket(7)) and caps it at net.core.rmem_max/wmem_max without
	// CAP_NET_ADMIN.
	Recv, Send int
}

// String is e.g. "2 UDP sockets (SO_REUSEPORT), buffers asked 4 MiB, granted receive 8 MiB send 8 MiB".
func (s Sockets) String() string {
	if s.Count == 0 {
		return "no UDP listener"
	}
	plural := "socket"
	if s.Count > 1 {
		plural = "sockets (SO_REUSEPORT)"
	}
	if s.Asked == 0 {
		return fmt.Sprintf("%d UDP %s", s.Count, plural)
	}
	return fmt.Sprintf("%d UDP %s, buffers asked %s, kernel reports receive %s send %s",
		s.Count, plural, mib(s.Asked), mib(s.Recv), mib(s.Send))
}

func mib(n int) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

// listenUDP binds the UDP listening sockets for addr. On the real network
// (stdnet) it binds count sockets to one address with SO_REUSEPORT and
// asks for buf-byte buffers; count 0 means one per CPU, buf 0 means
// DefaultSocketBuffer. On any other transport.Net (vnet) there are no
// socket options: one socket.
func listenUDP(n transport.Net, addr string, count, buf int) ([]net.PacketConn, Sockets, error) {
	if _, real := n.(*stdnet.Net); !real {
		pc, err := n.ListenPacket("udp4", addr)
		if err != nil {
			return nil, Sockets{}, err
		}
		return []net.PacketConn{pc}, Sockets{Count: 1}, nil
	}
	if count <= 0 {
		count = runtime.NumCPU()
	}
	if !reusePort {
		count = 1
	}
	if buf <= 0 {
		buf = DefaultSocketBuffer
	}
	lc := net.ListenConfig{Control: socketControl(count > 1, buf)}
	var pcs []net.PacketConn
	for i := range count {
		pc, err := lc.ListenPacket(context.Background(), "udp4", addr)
		if err != nil {
			for _, p := range pcs {
				_ = p.Close()
			}
			return nil, Sockets{}, fmt.Errorf("socket %d of %d: %w", i+1, count, err)
		}
		if i == 0 {
			addr = pc.LocalAddr().String() // port 0: the others join the port the first got
		}
		pcs = append(pcs, pc)
	}
	info := Sockets{Count: count, Asked: buf}
	info.Recv, info.Send = socketBuffers(pcs[0])
	return pcs, info, nil
}

// RelayBuffer is the receive and send buffer asked for each relay socket
// (one per allocation) on the real network: with uclient's client-to-client
// load every relay socket receives the other client's 1000 messages a
// second. Smaller than DefaultSocketBuffer because there is one per
// allocation (128 allocations per address by serve's default quota).
const RelayBuffer = 1 << 20

// bufferedRelays gives every relay socket RelayBuffer-byte buffers.
type bufferedRelays struct {
	pionturn.RelayAddressGenerator
}

// AllocatePacketConn opens the relay socket and sizes its buffers. A size
// the kernel refuses leaves the default: not an error.
func (b bufferedRelays) AllocatePacketConn(network string, port int) (net.PacketConn, net.Addr, error) {
	pc, addr, err := b.RelayAddressGenerator.AllocatePacketConn(network, port)
	if err == nil {
		setConnBuffers(pc, RelayBuffer)
	}
	return pc, addr, err
}
