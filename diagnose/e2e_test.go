package diagnose_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/pion/transport/v3/stdnet"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/internal/leakcheck"
	"github.com/rtclab/rtclab/probes/pathprobe"
)

// TestServeAndDiagnoseLoopback runs serve on 127.0.0.1 + 127.0.0.2 and the
// whole diagnosis against it, in process.
func TestServeAndDiagnoseLoopback(t *testing.T) {
	leakcheck.Check(t)
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := diagnose.StartServer(diagnose.ServerConfig{
		Net: n, IP: "127.0.0.1", AltIP: "127.0.0.2", Secret: "test-secret", AllowPrivatePeers: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + srv.Describe())
	info, err := diagnose.FetchServer(context.Background(), nil, srv.Info().HTTP)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := diagnose.NewPlan(diagnose.Inputs{
		Target: srv.Info().HTTP, STUN: info.STUN, TURN: info.TURN,
		Username: info.Username, Password: info.Password, Peer: info.HTTP,
	})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{}}
	start := time.Now()
	res, err := diagnose.Run(context.Background(), plan, diagnose.Options{
		TLSConfig: &tls.Config{RootCAs: info.CertPool()}, IncludeLoopback: true, HTTPClient: client,
		LocalIPs: []net.IP{net.IPv4(127, 0, 0, 1)},
	})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := diagnose.WriteText(&out, res); err != nil {
		t.Fatal(err)
	}
	t.Logf("diagnosis took %s\n%s", elapsed.Round(time.Millisecond), out.String())
	if res.NAT == nil || res.NAT.Type != "open-internet" {
		t.Errorf("NAT %+v, want open internet", res.NAT)
	}
	for _, tr := range res.TURN {
		if !tr.OK {
			t.Errorf("TURN %s failed: %s", tr.URL, tr.Error)
		}
	}
	for _, p := range res.Paths {
		if !p.OK && p.Kind != pathprobe.Srflx {
			t.Errorf("path %s failed: %s", p.Kind, p.Reason)
		}
	}
	if res.BestPath != pathprobe.Host || res.Bandwidth == nil || res.Audio == nil || res.Video == nil {
		t.Errorf("best %q bandwidth %v audio %v video %v", res.BestPath, res.Bandwidth, res.Audio, res.Video)
	}
	if len(res.Quality) != 2 {
		t.Errorf("quality over %d paths, want best and relay", len(res.Quality))
	}
	client.CloseIdleConnections()
	if err := srv.Close(); err != nil {
		t.Error(err)
	}
}
