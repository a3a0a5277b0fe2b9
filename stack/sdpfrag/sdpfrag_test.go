package sdpfrag

import (
	"reflect"
	"strings"
	"testing"
)

const restart = "a=ice-options:trickle ice2\r\na=group:BUNDLE 0 1\r\na=ice-ufrag:EsAw\r\na=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n" +
	"a=candidate:1387637174 1 udp 2122260223 10.0.0.1 61764 typ host generation 0 ufrag EsAw\r\n" +
	"a=candidate:3471623853 1 udp 1686052607 198.51.100.7 61764 typ srflx raddr 10.0.0.1 rport 61764\r\n" +
	"a=end-of-candidates\r\n"

func TestParse(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     Frag
		err      string
	}{
		{name: "restart (RFC 9725 section 4.3.1's shape)", in: restart, want: Frag{
			Ufrag: "EsAw", Pwd: "bP+XJMM09aR8AiX1jdukzR6Y", Options: "trickle ice2", Group: "BUNDLE 0 1",
			Media: []Media{{MLine: "audio 9 UDP/TLS/RTP/SAVPF 111", Mid: "0", End: true, Candidates: []string{
				"1387637174 1 udp 2122260223 10.0.0.1 61764 typ host generation 0 ufrag EsAw",
				"3471623853 1 udp 1686052607 198.51.100.7 61764 typ srflx raddr 10.0.0.1 rport 61764"}}}}},
		{name: "LF line ends, media-level credentials", in: "m=video 9 UDP/TLS/RTP/SAVPF 96\na=mid:v\na=ice-ufrag:u\na=ice-pwd:p\na=end-of-candidates\n",
			want: Frag{Ufrag: "u", Pwd: "p", Media: []Media{{MLine: "video 9 UDP/TLS/RTP/SAVPF 96", Mid: "v", End: true}}}},
		{name: "credentials only", in: "a=ice-ufrag:u\r\na=ice-pwd:p\r\n", want: Frag{Ufrag: "u", Pwd: "p"}},
		{name: "empty", in: "\r\n", err: "empty fragment"},
		{name: "not SDP", in: "hello", err: `line 1: "hello" is not an SDP line`},
		{name: "other line type", in: "a=ice-ufrag:u\r\nc=IN IP4 10.0.0.1\r\n", err: "line 2: \"c=IN IP4 10.0.0.1\": a fragment holds only a= and m= lines"},
		{name: "not ICE", in: "m=audio 9 RTP/AVP 0\r\na=mid:0\r\na=rtpmap:0 PCMU/8000\r\n", err: "line 3: a=rtpmap is not an ICE attribute"},
		{name: "candidate at session level", in: "a=candidate:1 1 udp 1 10.0.0.1 1 typ host\r\n", err: "line 1: a=candidate before any m= line"},
		{name: "short candidate", in: "m=audio 9 RTP/AVP 0\r\na=mid:0\r\na=candidate:1 1 udp\r\n", err: "line 3: candidate \"1 1 udp\" wants foundation"},
		{name: "no mid", in: "m=audio 9 RTP/AVP 0\r\na=end-of-candidates\r\n", err: "m= section 1 (audio 9 RTP/AVP 0) has no a=mid"},
		{name: "two mids", in: "m=audio 9 RTP/AVP 0\r\na=mid:0\r\na=mid:1\r\n", err: "line 3: a second a=mid"},
		{name: "short m line", in: "m=audio\r\n", err: "line 1: m=\"audio\" wants media, port and protocol"},
		{name: "two ufrags", in: "a=ice-ufrag:a\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\na=ice-ufrag:b\r\n", err: `line 4: ice-ufrag "b" differs from "a"`},
		{name: "empty pwd", in: "a=ice-pwd\r\n", err: "line 1: empty ice-pwd"},
		{name: "too large", in: strings.Repeat("a=ice-options:x\r\n", MaxSize/10), err: "more than 65536"},
	} {
		got, err := Parse([]byte(c.in))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want an error saying %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %+v, %v; want %+v", c.name, got, err, c.want)
		}
		if back, err := Parse([]byte(got.Marshal())); err != nil || !reflect.DeepEqual(back, got) {
			t.Errorf("%s: Marshal does not read back: %+v, %v", c.name, back, err)
		}
	}
}

// FuzzParse: Parse never panics, and what it accepts Marshal writes back
// to the same fragment.
func FuzzParse(f *testing.F) {
	f.Add([]byte(restart))
	f.Add([]byte("a=ice-ufrag:u\na=ice-pwd:p\n"))
	f.Add([]byte("m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=end-of-candidates\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := Parse(b)
		if err != nil {
			return
		}
		back, err := Parse([]byte(fr.Marshal()))
		if err != nil || !reflect.DeepEqual(back, fr) {
			t.Fatalf("%q: parsed %+v, marshalled back %+v, %v", b, fr, back, err)
		}
	})
}

func TestFromSDP(t *testing.T) {
	sdp := "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\na=ice-options:trickle\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=ice-ufrag:u1\r\na=ice-pwd:p1\r\na=rtpmap:111 opus/48000/2\r\n" +
		"a=candidate:1 1 udp 2130706431 10.0.0.1 5000 typ host\r\na=end-of-candidates\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=ice-ufrag:u1\r\na=ice-pwd:p1\r\na=candidate:1 1 udp 2130706431 10.0.0.1 5000 typ host\r\n"
	f, err := FromSDP(sdp)
	want := Frag{Ufrag: "u1", Pwd: "p1", Options: "trickle", Group: "BUNDLE 0 1", Media: []Media{{
		MLine: "audio 9 UDP/TLS/RTP/SAVPF 111", Mid: "0", End: true, Candidates: []string{"1 1 udp 2130706431 10.0.0.1 5000 typ host"}}}}
	if err != nil || !reflect.DeepEqual(f, want) {
		t.Fatalf("FromSDP: %+v, %v; want %+v", f, err, want)
	}
	got := WithCredentials(sdp, Frag{Ufrag: "u2", Pwd: "p2"})
	if strings.Contains(got, "candidate") || strings.Count(got, "a=ice-ufrag:u2") != 2 || strings.Count(got, "a=ice-pwd:p2") != 2 ||
		!strings.Contains(got, "a=rtpmap:111 opus/48000/2") || strings.Contains(got, "u1") {
		t.Errorf("WithCredentials:\n%s", got)
	}
	if _, err := FromSDP("v=0\r\n"); err != ErrNoICE {
		t.Errorf("no credentials: %v", err)
	}
}
