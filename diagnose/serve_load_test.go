package diagnose_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/transport/v3/stdnet"
	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/internal/leakcheck"
	"github.com/rtclab/rtclab/probes/nat"
	"github.com/rtclab/rtclab/probes/pathprobe"
	"github.com/rtclab/rtclab/probes/turnprobe"
	"github.com/rtclab/rtclab/stack/testpeer"
)

// loadServe is serve as the load tests run it: limits off except the test
// peer's (32 calls, each cut after 3 s instead of 60 s).
func loadServe(t testing.TB) *diagnose.Server {
	t.Helper()
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := diagnose.StartServer(diagnose.ServerConfig{
		Net: n, IP: "127.0.0.1", Secret: "load", TLSPort: -1, PeerMaxDuration: 3 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// concurrently runs f(i) for i in [0, n) at once and waits.
func concurrently(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i)
		}()
	}
	wg.Wait()
}

// waitFor polls cond until it holds or d passes (the server frees things
// on its own timers: the test peer's cap, TURN's deallocation).
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

func heapAfterGC() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// offerOnLoopback is a pion client's offer (data channel, candidates on
// loopback), from a client closed at cleanup.
func offerOnLoopback(t testing.TB) (*webrtc.PeerConnection, webrtc.SessionDescription) {
	se := webrtc.SettingEngine{}
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Error(err)
		return nil, webrtc.SessionDescription{}
	}
	if _, err := pc.CreateDataChannel("echo", nil); err != nil {
		t.Error(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Error(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Error(err)
	}
	<-gathered
	return pc, *pc.LocalDescription()
}

// malformedSTUN is n datagrams that look like STUN to a first glance
// (RFC 8489 section 5: the magic cookie) but are not, and plain noise.
func malformedSTUN(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		b := make([]byte, 20+i%200)
		_, _ = rand.Read(b)
		switch i % 4 {
		case 0: // a STUN header whose length runs past the datagram
			b[0], b[1], b[2], b[3] = 0x00, 0x01, 0xff, 0xff
			copy(b[4:8], []byte{0x21, 0x12, 0xa4, 0x42})
		case 1: // an Allocate with garbage attributes
			b[0], b[1] = 0x00, 0x03
			b[2], b[3] = byte((len(b)-20)>>8), byte(len(b)-20)
			copy(b[4:8], []byte{0x21, 0x12, 0xa4, 0x42})
		case 2: // a ChannelData header with a wrong length
			b[0], b[1], b[2], b[3] = 0x40, 0x00, 0xff, 0xff
		}
		out[i] = b
	}
	return out
}

// TestServeUnderLoad puts on serve, on loopback: 200 concurrent config
// fetches, 200 concurrent TURN allocations, 100 concurrent test-peer
// offers and 40,000 malformed STUN datagrams; it checks serve answers
// each as it should (offers past one address's share of the slots get 429 or 503, never 400),
// still answers afterwards, and gives back what the load took:
// allocations, calls (the test peer's cap), goroutines and heap.
// Throughput and memory are in BenchmarkServe*.
func TestServeUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load on loopback")
	}
	leakcheck.Check(t)
	srv := loadServe(t)
	info := srv.Info()
	n, _ := stdnet.NewNet()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 200}}
	defer client.CloseIdleConnections()
	baseHeap, baseG := heapAfterGC(), runtime.NumGoroutine()

	// 200 diagnose clients fetch the config at once.
	var creds diagnose.ServerInfo
	var credsOnce sync.Once
	concurrently(200, func(i int) {
		got, err := diagnose.FetchServer(context.Background(), client, info.HTTP)
		if err != nil {
			t.Errorf("config %d: %v", i, err)
			return
		}
		credsOnce.Do(func() { creds = got })
	})
	if t.Failed() {
		t.FailNow()
	}

	// ... and allocate on TURN over UDP.
	turnURL := ""
	for _, u := range creds.TURN {
		if strings.HasSuffix(u, "transport=udp") {
			turnURL = u
		}
	}
	concurrently(200, func(i int) {
		res, err := turnprobe.Allocate(context.Background(), turnprobe.Params{
			Net: n, URL: turnURL, Username: creds.Username, Password: creds.Password, Timeout: 10 * time.Second,
		})
		if err != nil || !res.OK {
			t.Errorf("allocation %d: %v %s", i, err, res.Error)
		}
	})
	if !waitFor(10*time.Second, func() bool { return srv.TURNAllocations() == 0 }) {
		t.Errorf("%d TURN allocations left after every client released its own", srv.TURNAllocations())
	}

	// 100 offers at once from one address: it holds at most
	// testpeer.DefaultPerCaller calls (429 past them), the peer's slots
	// stay for others (issue #13); the rest is the server's state.
	signal := pathprobe.HTTPSignal(client, info.HTTP)
	var mu sync.Mutex
	var ok, busy int
	var pcs []*webrtc.PeerConnection
	concurrently(100, func(i int) {
		pc, offer := offerOnLoopback(t)
		if pc == nil {
			return
		}
		mu.Lock()
		pcs = append(pcs, pc)
		mu.Unlock()
		_, err := signal(context.Background(), offer)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			ok++
		case errors.Is(err, pathprobe.ErrServerBusy):
			busy++
		default:
			t.Errorf("offer %d: %v (want an answer, or 503 when full)", i, err)
		}
	})
	t.Logf("offers: %d answered, %d busy (429 or 503)", ok, busy)
	if ok != testpeer.DefaultPerCaller || ok+busy != 100 {
		t.Errorf("%d answered and %d busy of 100 offers from one address; want %d answered (one caller's share), the rest busy", ok, busy, testpeer.DefaultPerCaller)
	}
	for _, pc := range pcs {
		_ = pc.Close()
	}

	// Malformed STUN at the TURN port and at the RFC 5780 responder.
	stunAddr := strings.TrimPrefix(info.STUN, "stun:")
	turnAddr := strings.TrimSuffix(strings.TrimPrefix(turnURL, "turn:"), "?transport=udp")
	junk := malformedSTUN(20000)
	for _, addr := range []string{turnAddr, stunAddr} {
		c, err := net.Dial("udp4", addr)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range junk {
			_, _ = c.Write(b)
		}
		_ = c.Close()
	}

	// It still answers STUN, TURN and HTTP.
	res, err := nat.Discover(context.Background(), nat.Params{Net: n, Server: stunAddr})
	if err != nil || !res.Reachable {
		t.Errorf("STUN after the load: %+v %v", res, err)
	}
	tr, err := turnprobe.Allocate(context.Background(), turnprobe.Params{Net: n, URL: turnURL, Username: creds.Username, Password: creds.Password})
	if err != nil || !tr.OK {
		t.Errorf("TURN after the load: %+v %v", tr, err)
	}
	if _, err := diagnose.FetchServer(context.Background(), client, info.HTTP); err != nil {
		t.Errorf("config after the load: %v", err)
	}

	// Everything given back: the calls by the test peer's cap, the rest
	// by their clients.
	if !waitFor(10*time.Second, func() bool { return srv.Peers() == 0 && srv.TURNAllocations() == 0 }) {
		t.Errorf("%d calls and %d allocations left", srv.Peers(), srv.TURNAllocations())
	}
	client.CloseIdleConnections()
	if !waitFor(10*time.Second, func() bool { return runtime.NumGoroutine() <= baseG+5 }) {
		t.Errorf("%d goroutines after the load, %d before", runtime.NumGoroutine(), baseG)
	}
	heap := heapAfterGC()
	t.Logf("heap %.1f MB before the load, %.1f MB after; goroutines %d before, %d after",
		float64(baseHeap)/1e6, float64(heap)/1e6, baseG, runtime.NumGoroutine())
	if heap > baseHeap+16<<20 {
		t.Errorf("heap %.1f MB after the load, %.1f MB before: not given back", float64(heap)/1e6, float64(baseHeap)/1e6)
	}
}
