package turn

import (
	"net"
	"runtime"
	"testing"

	"github.com/pion/transport/v3/stdnet"
	"github.com/pion/transport/v3/vnet"
)

// TestListenUDPReusePort binds several sockets to one loopback port and
// reads back the buffers the kernel granted: the old listener had one
// socket at the kernel's default (about 208 KiB).
func TestListenUDPReusePort(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("SO_REUSEPORT and SO_RCVBUFFORCE: Linux")
	}
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	const buf = 1 << 20
	pcs, info, err := listenUDP(n, "127.0.0.1:0", 3, buf)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, pc := range pcs {
			_ = pc.Close()
		}
	}()
	if len(pcs) != 3 || info.Count != 3 {
		t.Fatalf("%d sockets, info %+v, want 3", len(pcs), info)
	}
	port := pcs[0].LocalAddr().(*net.UDPAddr).Port
	for _, pc := range pcs[1:] {
		if p := pc.LocalAddr().(*net.UDPAddr).Port; p != port {
			t.Errorf("socket on port %d, want %d", p, port)
		}
	}
	// Linux reports twice what was set; without CAP_NET_ADMIN it caps at
	// net.core.rmem_max, so only require more than its usual default.
	if info.Recv <= 212992 || info.Send <= 212992 {
		t.Errorf("buffers %+v: no more than the kernel's default", info)
	}
	t.Logf("%s", info)
}

func TestListenUDPVnetIsOneSocket(t *testing.T) {
	n, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"198.51.100.3"}})
	if err != nil {
		t.Fatal(err)
	}
	router, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "198.51.100.0/24", LoggerFactory: quietLoggerFactory()})
	if err != nil {
		t.Fatal(err)
	}
	if err := router.AddNet(n); err != nil {
		t.Fatal(err)
	}
	pcs, info, err := listenUDP(n, "198.51.100.3:3478", 4, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer pcs[0].Close()
	if len(pcs) != 1 || info != (Sockets{Count: 1}) {
		t.Errorf("%d sockets, info %+v: vnet has no socket options", len(pcs), info)
	}
}
