package peer_test

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/phase"
	"github.com/rtclab/rtclab/stack/peer"
)

// TestVirtualOnlyInVirtualTime: the values that keep virtual-time events
// apart reach the stack only when Params.Virtual is set. Measured on the
// wire: the gap between two RTCP sender reports a receives, and the
// certificate's key. In real time pion's defaults stay: reports every
// second exactly, an ECDSA certificate; in virtual time phase's derived
// interval and the fixed-size Ed25519 certificate (virtual.go).
func TestVirtualOnlyInVirtualTime(t *testing.T) {
	for _, tt := range []struct {
		virtual bool
		gap     time.Duration
		key     x509.PublicKeyAlgorithm
	}{
		{false, time.Second, x509.ECDSA},
		{true, phase.SenderReportInterval.Value(), x509.Ed25519},
	} {
		t.Run(map[bool]string{false: "real", true: "virtual"}[tt.virtual], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n, err := netem.New(netem.Config{Seed: 1, Hosts: []netem.HostConfig{
					{Name: "a"}, {Name: "b", Downlink: netem.Impairment{Delay: 10 * time.Millisecond}},
				}})
				if err != nil {
					t.Fatal(err)
				}
				defer n.Close()
				ha, _ := n.Host("a")
				hb, _ := n.Host("b")
				a, err := peer.New(peer.Params{Net: ha.Net, Virtual: tt.virtual})
				if err != nil {
					t.Fatal(err)
				}
				defer a.Close()
				b, err := peer.New(peer.Params{Net: hb.Net, Virtual: tt.virtual})
				if err != nil {
					t.Fatal(err)
				}
				defer b.Close()
				if got := keyOf(t, a); got != tt.key {
					t.Errorf("certificate key %v, want %v", got, tt.key)
				}

				track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "a")
				if err != nil {
					t.Fatal(err)
				}
				sender, err := a.AddTrack(track)
				if err != nil {
					t.Fatal(err)
				}
				go drainRTCP(sender.Read)
				reports := make(chan time.Time, 16)
				b.OnTrack(func(tr *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
					go func() {
						for {
							pkts, _, err := r.ReadRTCP()
							if err != nil {
								return
							}
							for _, p := range pkts {
								if _, ok := p.(*rtcp.SenderReport); ok {
									reports <- time.Now()
								}
							}
						}
					}()
					for {
						if _, _, err := tr.ReadRTP(); err != nil {
							return
						}
					}
				})
				connect(t, a, b)
				for i := range 200 { // 4 s of 20 ms audio
					_ = track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i * 960)}, Payload: []byte{0xfc, 1, 2}})
					time.Sleep(20 * time.Millisecond)
				}
				var at []time.Time
				for len(reports) > 0 {
					at = append(at, <-reports)
				}
				if len(at) < 3 {
					t.Fatalf("b received %d sender reports in 4 s", len(at))
				}
				for i := 1; i < len(at); i++ {
					if gap := at[i].Sub(at[i-1]); gap != tt.gap {
						t.Errorf("sender reports %d and %d %v apart, want %v", i-1, i, gap, tt.gap)
					}
				}
			})
		})
	}
}

// keyOf is the public key algorithm of pc's DTLS certificate.
func keyOf(t *testing.T, pc *peer.PC) x509.PublicKeyAlgorithm {
	t.Helper()
	certs := pc.GetConfiguration().Certificates
	if len(certs) == 0 {
		t.Fatal("no certificate")
	}
	p, err := certs[0].PEM()
	if err != nil {
		t.Fatal(err)
	}
	for rest := []byte(p); ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			t.Fatalf("no certificate in %q", strings.SplitN(p, "\n", 2)[0])
		}
		if blk.Type == "CERTIFICATE" {
			// pion base64-encodes the DER once more inside the block.
			der, err := base64.StdEncoding.DecodeString(string(blk.Bytes))
			if err != nil {
				t.Fatal(err)
			}
			c, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			return c.PublicKeyAlgorithm
		}
	}
}
