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
	lan        *lanGroup // the LAN segment it is on; nil: alone
	wg         sync.WaitGroup
}

// start pumps packets both ways until close.
func (w *wire) start() {
	w.wg.Add(2)
	go func() {
		defer w.wg.Done()
		// The host sends: recorded when sent, as in the in-process capture.
		pump(w.host, w.up, w.capture, w.send)
	}()
	go func() {
		defer w.wg.Done()
		pump(w.peer, w.down, nil, w.deliver)
	}()
}

// send is where a packet the host sent leaves its uplink: into its NAT's
// (or the core's) namespace or, for a multicast datagram on a LAN, to the
// segment's other hosts through their downlinks (lanGroup.fanout).
func (w *wire) send(p []byte) {
	if w.lan != nil && len(p) >= 20 && p[16]&0xf0 == 0xe0 {
		w.lan.fanout(w, p)
		return
	}
	_, _ = w.peer.Write(p)
}

// deliver hands a packet that came through the host's downlink to the
// host, recorded once there.
func (w *wire) deliver(p []byte) {
	if w.capture != nil {
		w.capture.IP(time.Now(), p)
	}
	_, _ = w.host.Write(p)
}

// pump reads packets from in and offers each to the link, which hands it
// to out when it comes through.
func pump(in *os.File, l *netem.Link, sent *netem.Capture, out func([]byte)) {
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
		l.SendIP(pkt, out)
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
