package diagnose

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

// bodyTransport answers every request with one status and body, so the
// client side of `rtclab diagnose --server` can be fed anything.
type bodyTransport struct {
	status int
	body   []byte
}

func (b bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: b.status, Status: http.StatusText(b.status), Request: r,
		Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(b.body)),
	}, nil
}

// FuzzServerConfig feeds arbitrary server configs (the JSON a server
// answers on ConfigPath) to what `rtclab diagnose --server` does with
// them: FetchServer, NewPlan with the URLs it names, CertPool. Nothing may
// panic; a refused config names the server, an unusable plan wraps
// ErrPlan.
func FuzzServerConfig(f *testing.F) {
	for _, seed := range []string{
		`{"schema":"rtclab.serve/v1","stun":"stun:192.0.2.1:3478","rfc5780":true,"turn":["turn:192.0.2.1:3478?transport=udp","turns:192.0.2.1:5349?transport=tcp"],"username":"1:u","password":"p","ttl_s":3600,"offer":"/offer","http":"http://192.0.2.1:8080"}`,
		`{"schema":"rtclab.serve/v1","stun":"nonsense","turn":["x"]}`,
		`{"schema":"rtclab.serve/v1","tls_cert_pem":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}`,
		`{"schema":"other"}`,
		`[]`,
	} {
		f.Add(200, []byte(seed))
	}
	f.Add(404, []byte("not found"))
	const server = "http://rtclab.test"
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			return // not an HTTP status line net/http would deliver
		}
		client := &http.Client{Transport: bodyTransport{status: status, body: body}}
		info, err := FetchServer(context.Background(), client, server)
		if err != nil {
			if !strings.Contains(err.Error(), server) {
				t.Fatalf("error does not name the server: %v", err)
			}
			return
		}
		info.CertPool()
		in := Inputs{STUN: info.STUN, TURN: info.TURN, Username: info.Username, Password: info.Password, Peer: server, Target: server}
		if _, err := NewPlan(in); err != nil && !errors.Is(err, ErrPlan) {
			t.Fatalf("plan error does not wrap ErrPlan: %v", err)
		}
	})
}

// FuzzGrade feeds arbitrary bodies to what serve's GradePath does with
// a result the browser page posts: DecodeResult, then Grade. Nothing may
// panic, and grading a graded result changes nothing.
func FuzzGrade(f *testing.F) {
	if data, err := os.ReadFile("testdata/loopback.json"); err == nil {
		f.Add(data)
	}
	for _, seed := range []string{
		`{"schema":"rtclab.diagnose/v1","turn":[{"url":"turn:192.0.2.1:3478?transport=udp","transport":"udp","failure":"timeout"}],"paths":[{"kind":"host","server_busy":true}]}`,
		`{"schema":"rtclab.diagnose/v1","quality":[{"path":"host","ping":{"sent":3,"received":2,"rtt_ms":-1}}],"bandwidth":{"path":"host","up":{"mbps":1e308}}}`,
		`{"schema":"rtclab.diagnose/v1","unknown":1}`,
		`{"schema":"rtclab.diagnose/v2"}`,
		`{"schema":"rtclab.diagnose/v1"} {}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := DecodeResult(bytes.NewReader(body))
		if err != nil {
			return
		}
		Grade(&res)
		var once, twice bytes.Buffer
		if err := WriteJSON(&once, res); err != nil {
			return // e.g. a value JSON cannot carry
		}
		Grade(&res)
		_ = WriteJSON(&twice, res)
		if once.String() != twice.String() {
			t.Fatalf("grading twice changed the result:\n%s\n%s", once.String(), twice.String())
		}
	})
}

// FuzzRankBody feeds arbitrary bodies to RankPath's parser: nothing
// panics, a refusal is an error, and a ranking has one place per result,
// best first by compareRanked.
func FuzzRankBody(f *testing.F) {
	for _, s := range []string{
		`{"results":[{"schema":"rtclab.diagnose/v1","target":"http://a:1","best_path":"host","paths":[{"kind":"host","ok":true}]},{"schema":"rtclab.diagnose/v1","target":"http://b:1"}]}`,
		`{"results":[]}`,
		`{"results":[{"schema":"rtclab.diagnose/v2"}]}`,
		`{"results":[{"schema":"rtclab.diagnose/v1","quality":[{"path":"host","ping":{"sent":10,"received":5,"rtt_ms":40}}]}]}`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := RankBody(body)
		if err != nil {
			return
		}
		if len(c.Servers) == 0 || len(c.Servers) > MaxRankServers || c.Servers[0].Rank != 1 {
			t.Fatalf("ranking of %d: %+v", len(c.Servers), c.Servers)
		}
		for i := 1; i < len(c.Servers); i++ {
			if compareRanked(c.Servers[i-1], c.Servers[i]) > 0 {
				t.Fatalf("%s ranked before a better %s", c.Servers[i-1].Server, c.Servers[i].Server)
			}
		}
	})
}
