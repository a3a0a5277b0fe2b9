package phase_test

import (
	"fmt"

	"github.com/rtclab/rtclab/phase"
)

func Example() {
	for _, s := range phase.All() {
		fmt.Printf("%-24s %v\n", s.Name, s.Value())
	}
	// Output:
	// nack-interval            100.731833ms
	// flow-nack-interval       100.158631ms
	// twcc-interval            100.756337ms
	// peer-twcc-interval       100.070639ms
	// rtcp-sender-report-interval 1.000813199s
	// rtcp-receiver-report-interval 1.000670031s
	// pli-every                300.845173ms
	// sfu-allocate-every       200.059359ms
	// sfu-track-setup          1.000099ms
	// sfu-renegotiate-delay    50.000223ms
	// simulcast-layer-stagger  284.825µs
	// track-start              100.627µs
	// tcp-stack-latency        37.637µs
	// sample-offset            331ns
	// join-stagger             23.111µs
	// remote-candidate-delay   171ns
	// mdns-query-interval      1.000744321s
	// mdns-resolved-candidate-delay 38.393µs
	// socket-stagger           165ns
	// resend-stagger           10.409µs
	// signaling-latency        441ns
	// matrix-offerer-delay     7.498597ms
	// matrix-answerer-delay    11.398601ms
}
