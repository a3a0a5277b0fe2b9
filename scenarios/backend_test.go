package scenarios

import (
	"strings"
	"testing"
)

func TestBackendErrors(t *testing.T) {
	for _, tt := range []struct {
		name, yaml string
		want       string
	}{
		{"backend typo", valid + "backend: kernal\n",
			`t.yaml:8: backend: unknown backend "kernal" (allowed: in-process, kernel); did you mean "kernel"?`},
		{"coturn in process", valid + "servers: {turn: coturn}\n",
			"t.yaml:8: servers.turn: coturn TURN needs backend: kernel"},
		{"turn kind typo", valid + "backend: kernel\nservers: {turn: cotrun}\n",
			`t.yaml:9: servers.turn: unknown TURN server "cotrun" (allowed: embedded, coturn, or {url: turn:IP:PORT, secret: ...}); did you mean "coturn"?`},
		{"url elsewhere", valid + "backend: kernel\nservers: {turn: {url: \"turn:192.0.2.1:3478\", secret: s}}\n",
			`t.yaml:9: servers.turn.url: "turn:192.0.2.1:3478": a scenario may only target this machine's loopback or the run's own namespaces (127.0.0.0/8, 198.51.100.0/24, 203.0.113.0/24), never another network`},
		{"url by name", valid + "backend: kernel\nservers: {turn: {url: \"turn:turn.example:3478\", secret: s}}\n",
			`is not an IPv4 address (names are not resolved)`},
		{"url without secret", valid + "backend: kernel\nservers: {turn: {url: \"turn:198.51.100.10:3478\"}}\n",
			"servers.turn.secret: is required"},
		{"rebind on a shared LAN on kernel", strings.Replace(valid, "    publish: [audio]", "    publish: [audio]\n    lan: home", 1) +
			"  - name: bob\n    nat: symmetric\n    lan: home\nbackend: kernel\ntimeline:\n  - {at: 2s, rebind: alice}\n",
			"timeline[0].rebind: alice shares LAN \"home\"'s NAT"},
		{"rebind of an open host on kernel", strings.Replace(valid, "nat: symmetric", "nat: open", 1) + "backend: kernel\ntimeline:\n  - {at: 2s, rebind: alice}\n",
			"t.yaml:10: timeline[0].rebind: alice has no NAT: on the kernel backend a rebind changes the mappings of the participant's NAT (give alice a nat:)"},
		{"restart coturn", valid + "backend: kernel\nservers: {turn: coturn}\ntimeline:\n  - {at: 2s, restart: turn}\n",
			"timeline[0].restart: restart: turn restarts the embedded TURN server only"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error\n  %v\nlacks\n  %s", err, tt.want)
			}
		})
	}
}

func TestBackendValid(t *testing.T) {
	for _, tt := range []struct {
		yaml, backend, turn string
	}{
		{valid, BackendInProcess, TURNEmbedded},
		{valid + "backend: kernel\n", BackendKernel, TURNEmbedded},
		{valid + "backend: kernel\ntimeline:\n  - {at: 2s, rebind: alice}\n", BackendKernel, TURNEmbedded},
		{strings.Replace(valid, "    publish: [audio]", "    publish: [audio]\n    lan: home\n    mdns: true", 1) + "  - name: bob\n    nat: symmetric\n    lan: home\nbackend: kernel\n", BackendKernel, TURNEmbedded},
		{strings.Replace(strings.Replace(valid, "nat: symmetric", "nat: full-cone", 1), "    publish: [audio]", "    publish: [audio]\n    lan: home", 1) + "  - name: bob\n    nat: full-cone\n    lan: home\nbackend: kernel\n", BackendKernel, TURNEmbedded},
		{valid + "backend: kernel\nservers: {turn: coturn}\n", BackendKernel, TURNCoturn},
		{valid + "backend: kernel\nservers: {turn: {url: \"turn:198.51.100.10:3478?transport=udp\", secret: s}}\n", BackendKernel, TURNExternal},
		{valid + "backend: kernel\nservers: {turn: {url: \"turn:127.0.0.1:3478\", secret: s}}\n", BackendKernel, TURNExternal},
	} {
		s, err := Parse("t.yaml", []byte(tt.yaml))
		if err != nil {
			t.Fatal(err)
		}
		if s.Backend != tt.backend || s.TURNKind() != tt.turn {
			t.Errorf("backend %q turn %q, want %q %q", s.Backend, s.TURNKind(), tt.backend, tt.turn)
		}
	}
}
