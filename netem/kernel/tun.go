package kernel

import (
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rtclab/rtclab/netem"
)

// openTUN creates the TUN device dev (IFF_TUN, no packet information:
// each read is one IP packet) inside namespace ns and returns it.
func openTUN(ns, dev string) (*os.File, error) {
	var f *os.File
	err := inNamespace(ns, func() error {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if err != nil {
			return fmt.Errorf("open /dev/net/tun: %w", err)
		}
		ifr, err := unix.NewIfreq(dev)
		if err != nil {
			unix.Close(fd)
			return err
		}
		ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
		if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
			unix.Close(fd)
			return fmt.Errorf("TUNSETIFF %s: %w", dev, err)
		}
		// Non-blocking: os.File then reads through Go's poller, and
		// Close ends a pending Read.
		f = os.NewFile(uintptr(fd), dev)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tun %s in %s: %w", dev, ns, err)
	}
	return f, nil
}

// wire is one host's access link in the kernel: the TUN device in the
// host's namespace, the one in the namespace of what it is connected to
// (its NAT, or the core), and the two directions of netem.Link between.
type wire struct {
	host, peer *os.File
	up, down   *netem.Link
	capture    *netem.Capture
	wg         sync.WaitGroup
}

// start pumps packets both ways until close.
func (w *wire) start() {
	w.wg.Add(2)
	go func() {
		defer w.wg.Done()
		// The host sends: recorded when sent, as in the in-process capture.
		pump(w.host, w.up, func(p []byte) { _, _ = w.peer.Write(p) }, w.capture, nil)
	}()
	go func() {
		defer w.wg.Done()
		// The host receives: recorded once through the downlink.
		pump(w.peer, w.down, func(p []byte) { _, _ = w.host.Write(p) }, nil, w.capture)
	}()
}

// pump reads packets from in and offers each to the link, which writes it
// out when it comes through.
func pump(in *os.File, l *netem.Link, out func([]byte), sent, received *netem.Capture) {
	buf := make([]byte, 65536)
	for {
		n, err := in.Read(buf)
		if err != nil {
			return // closed (wire.close), or the device is gone
		}
		pkt := append([]byte(nil), buf[:n]...)
		if sent != nil {
			sent.IP(time.Now(), pkt)
		}
		l.SendIP(pkt, func(p []byte) {
			if received != nil {
				received.IP(time.Now(), p)
			}
			out(p)
		})
	}
}

// close stops both pumps and both links.
func (w *wire) close() {
	_ = w.host.Close()
	_ = w.peer.Close()
	w.wg.Wait()
	w.up.Close()
	w.down.Close()
}
