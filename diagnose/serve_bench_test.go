package diagnose_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/transport/v3/stdnet"
	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/probes/pathprobe"
	"github.com/rtclab/rtclab/probes/turnprobe"
	"github.com/rtclab/rtclab/stack/testpeer"
)

// Throughput and memory of serve on loopback (client and server in one
// process, so each number is a floor). `go test -run '^$' -bench
// BenchmarkServe ./diagnose`.

func perSecond(b *testing.B, unit string) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
}

// BenchmarkServeConfig: GET /rtclab/v1/config from parallel clients.
func BenchmarkServeConfig(b *testing.B) {
	srv := loadServe(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := diagnose.FetchServer(context.Background(), client, srv.Info().HTTP); err != nil {
				b.Error(err)
				return
			}
		}
	})
	perSecond(b, "req/s")
}

// BenchmarkServeTURNAllocate: allocate and release over UDP from parallel
// clients, each on its own socket.
func BenchmarkServeTURNAllocate(b *testing.B) {
	srv := loadServe(b)
	info, err := diagnose.FetchServer(context.Background(), nil, srv.Info().HTTP)
	if err != nil {
		b.Fatal(err)
	}
	n, _ := stdnet.NewNet()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := turnprobe.Allocate(context.Background(), turnprobe.Params{
				Net: n, URL: info.TURN[0], Username: info.Username, Password: info.Password, Timeout: 10 * time.Second,
			})
			if err != nil || !res.OK {
				b.Errorf("%v %s", err, res.Error)
				return
			}
		}
	})
	perSecond(b, "allocs/s")
}

// BenchmarkServeOffer: the test peer answers one offer at a time (one
// client offer, reused: each is a new call for the peer).
func BenchmarkServeOffer(b *testing.B) {
	n, _ := stdnet.NewNet()
	srv, err := diagnose.StartServer(diagnose.ServerConfig{
		Net: n, IP: "127.0.0.1", Secret: "load", TURNPort: -1, TLSPort: -1,
		MaxPeers: 1 << 20, PeersPerCaller: 1 << 20, PeerMaxDuration: time.Second,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	pc, offer := offerOnLoopback(b)
	defer pc.Close()
	signal := pathprobe.HTTPSignal(nil, srv.Info().HTTP)
	b.ResetTimer()
	for range b.N {
		if _, err := signal(context.Background(), offer); err != nil {
			b.Fatal(err)
		}
	}
	perSecond(b, "offers/s")
}

// BenchmarkServeBigOffers: 32 offers of 3,000 m-lines (940 KB) at once,
// as took serve from 36 MB to 1.77 GB before offers were bounded; reports
// the peak of the live heap while they are refused.
func BenchmarkServeBigOffers(b *testing.B) {
	srv := loadServe(b)
	body := bigOffer(3000)
	url := srv.Info().HTTP + testpeer.OfferPath
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	defer client.CloseIdleConnections()
	peak, stop := heapPeak()
	b.ResetTimer()
	for range b.N {
		var wg sync.WaitGroup
		for range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := client.Post(url, "application/json", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusRequestEntityTooLarge {
					b.Errorf("status %s, want 413", resp.Status)
				}
			}()
		}
		wg.Wait()
	}
	b.StopTimer()
	stop()
	perSecond(b, "rounds/s")
	b.ReportMetric(float64(*peak)/1e6, "peak-heap-MB")
}

func bigOffer(mlines int) []byte {
	var sdp strings.Builder
	sdp.WriteString("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n")
	for i := range mlines {
		fmt.Fprintf(&sdp, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:%d\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"+
			"a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n"+
			"a=setup:actpass\r\na=sendrecv\r\na=rtpmap:111 opus/48000/2\r\n", i)
	}
	data, _ := json.Marshal(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp.String()})
	return data
}

// heapPeak samples the live heap (runtime/metrics) every millisecond
// until stop, keeping the largest.
func heapPeak() (peak *uint64, stop func()) {
	peak = new(uint64)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			*peak = max(*peak, s[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return peak, func() { close(done); wg.Wait() }
}
