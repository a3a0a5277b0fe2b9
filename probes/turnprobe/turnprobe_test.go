package turnprobe_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/pion/stun/v3"
	"github.com/pion/transport/v3/stdnet"

	"github.com/rtclab/rtclab/probes/turnprobe"
	rtcturn "github.com/rtclab/rtclab/stack/turn"

	"github.com/rtclab/rtclab/internal/leakcheck"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want turnprobe.Failure
	}{
		{nil, ""},
		{fmt.Errorf("allocate: %w", &stun.TurnError{ErrorCodeAttr: stun.ErrorCodeAttribute{Code: stun.CodeUnauthorized}}), turnprobe.FailAuth},
		{fmt.Errorf("allocate: %w", &stun.TurnError{ErrorCodeAttr: stun.ErrorCodeAttribute{Code: 486}}), turnprobe.FailOther},
		{fmt.Errorf("connect: %w", syscall.ECONNREFUSED), turnprobe.FailRefused},
		{fmt.Errorf("connect: %w", context.DeadlineExceeded), turnprobe.FailTimeout},
		{errors.New("all retransmissions failed for abc"), turnprobe.FailTimeout},
		{fmt.Errorf("resolve: %w", &net.DNSError{Err: "no such host", Name: "x"}), turnprobe.FailDNS},
		{fmt.Errorf("tls handshake: %w", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}), turnprobe.FailTLS},
		{errors.New("something odd"), turnprobe.FailOther},
	}
	for _, tt := range tests {
		if got := turnprobe.Classify(tt.err); got != tt.want {
			t.Errorf("Classify(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestParseURL(t *testing.T) {
	for raw, want := range map[string]turnprobe.Transport{
		"turn:example.com":                    turnprobe.UDP,
		"turn:example.com:3478?transport=tcp": turnprobe.TCP,
		"turns:example.com:443":               turnprobe.TLS,
	} {
		if _, got, err := turnprobe.ParseURL(raw); err != nil || got != want {
			t.Errorf("ParseURL(%q) = %s, %v; want %s", raw, got, err, want)
		}
	}
	for _, bad := range []string{"stun:example.com", "http://x", "turns:example.com?transport=udp", ""} {
		if _, _, err := turnprobe.ParseURL(bad); !errors.Is(err, turnprobe.ErrURL) {
			t.Errorf("ParseURL(%q) error %v, want ErrURL", bad, err)
		}
	}
}

func TestAllocateLoopback(t *testing.T) {
	leakcheck.Check(t)
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg, pool, _, err := rtcturn.SelfSigned([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := rtcturn.New(rtcturn.Config{
		Net: n, RelayIP: net.IPv4(127, 0, 0, 1), Secret: "s3cret",
		UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0", TLSAddr: "127.0.0.1:0", TLSConfig: tlsCfg,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	user, pass, err := rtcturn.Credentials("s3cret", "probe", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	closed := closedTCPPort(t)
	udp, tcp, tls_ := srv.Addr("udp").String(), srv.Addr("tcp").String(), srv.Addr("tls").String()
	tests := []struct {
		name    string
		url     string
		pass    string
		tlsCfg  *tls.Config
		want    turnprobe.Failure
		timeout time.Duration
	}{
		{"udp", "turn:" + udp, pass, nil, "", 0},
		{"tcp", "turn:" + tcp + "?transport=tcp", pass, nil, "", 0},
		{"tls", "turns:" + tls_, pass, &tls.Config{RootCAs: pool}, "", 0},
		{"udp bad password", "turn:" + udp, "wrong", nil, turnprobe.FailAuth, 0},
		{"tcp bad password", "turn:" + tcp + "?transport=tcp", "wrong", nil, turnprobe.FailAuth, 0},
		{"tls untrusted", "turns:" + tls_, pass, nil, turnprobe.FailTLS, 0},
		{"tls to a plain TCP port", "turns:" + tcp, pass, &tls.Config{InsecureSkipVerify: true}, turnprobe.FailTLS, time.Second},
		{"tcp refused", "turn:" + closed + "?transport=tcp", pass, nil, turnprobe.FailRefused, 0},
		{"udp timeout", "turn:" + closed, pass, nil, turnprobe.FailTimeout, 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := turnprobe.Allocate(context.Background(), turnprobe.Params{
				Net: n, URL: tt.url, Username: user, Password: tt.pass, TLSConfig: tt.tlsCfg, Timeout: tt.timeout,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v", res)
			if res.Failure != tt.want || res.OK != (tt.want == "") {
				t.Errorf("got %+v, want failure %q", res, tt.want)
			}
		})
	}
}

func closedTCPPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
