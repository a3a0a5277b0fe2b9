package peer

import (
	"strings"
	"testing"
)

func TestSendSimulcastOnly(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{
			"an answer to our simulcast, sending one plain stream back",
			"m=video 9 UDP/TLS/RTP/SAVPF 96\na=mid:1\na=rid:q recv\na=rid:h recv\na=rid:f recv\na=simulcast:recv q;h;f\na=ssrc:11 msid:bob video\na=msid:bob video\na=sendrecv\n",
			"m=video 9 UDP/TLS/RTP/SAVPF 96\na=mid:1\na=ssrc:11 msid:bob video\na=msid:bob video\na=sendrecv\n",
		},
		{
			"the remote's own simulcast is kept",
			"a=mid:0\na=rid:q send\na=rid:h send\na=simulcast:send q;h\n",
			"a=mid:0\na=rid:q send\na=rid:h send\na=simulcast:send q;h\n",
		},
		{
			"both directions: only the send half stays, restrictions and pauses kept",
			"a=rid:1 send pt=96;max-width=320\na=rid:q recv pt=96\na=rid:h recv\na=simulcast:recv q;~h send 1;~2\n",
			"a=rid:1 send pt=96;max-width=320\na=simulcast:send 1;~2\n",
		},
		{
			"send listed second, CRLF line ends",
			"a=mid:0\r\na=rid:q recv\r\na=simulcast:recv q send 1\r\n",
			"a=mid:0\r\na=simulcast:send 1\r\n",
		},
		{
			"no simulcast: untouched",
			"v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\n",
			"v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sendSimulcastOnly(tt.in); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", strings.ReplaceAll(got, "\r", `\r`), strings.ReplaceAll(tt.want, "\r", `\r`))
			}
		})
	}
}
