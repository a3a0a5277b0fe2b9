package analysis

import (
	"testing"
	"time"
)

func TestRecover(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := func(v int) time.Duration { return time.Duration(v) * time.Millisecond }
	// every returns arrivals every step from a to b (ms, b excluded).
	every := func(step, a, b int) []Packet {
		var out []Packet
		for x := a; x < b; x += step {
			out = append(out, Packet{At: t0.Add(ms(x))})
		}
		return out
	}
	cat := func(parts ...[]Packet) []Packet {
		var out []Packet
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	w := FaultWindow{Fault: t0.Add(ms(5000)), Window: ms(1500), End: t0.Add(ms(10000))}
	tests := []struct {
		name     string
		arrivals []Packet
		w        FaultWindow
		want     Interruption
	}{
		{"not interrupted: the next packet", every(20, 0, 10000), w, Interruption{Recovered: true, Recovery: ms(20)}},
		{"cut at the fault, back 3 s later", cat(every(20, 0, 5000), every(20, 8000, 10000)), w,
			Interruption{Recovered: true, Recovery: ms(3000), Gap: ms(3000)}},
		{"packets in flight after the fault, then cut", cat(every(20, 0, 5040), every(20, 6000, 10000)), w,
			Interruption{Recovered: true, Recovery: ms(1000), Gap: ms(980)}},
		{"outage to the end: never recovered", every(20, 0, 5000), w, Interruption{Gap: ms(5000)}},
		{"nothing ever arrived", nil, w, Interruption{Gap: ms(5000)}},
		{"a silence after the window is not the fault's", cat(every(20, 0, 7000), every(20, 8000, 10000)), w,
			Interruption{Recovered: true, Recovery: ms(20)}},
		{"a silence before the fault counts from the fault", cat(every(20, 0, 4000), every(20, 5300, 10000)), w,
			Interruption{Recovered: true, Recovery: ms(300), Gap: ms(300)}},
		{"reordered arrivals", cat(every(20, 8000, 10000), every(20, 0, 5000)), w,
			Interruption{Recovered: true, Recovery: ms(3000), Gap: ms(3000)}},
		{"padding does not end a silence", cat(every(20, 0, 5000), []Packet{{At: t0.Add(ms(6000)), Padding: true}}, every(20, 8000, 10000)), w,
			Interruption{Recovered: true, Recovery: ms(3000), Gap: ms(3000)}},
		{"a short hiccup is no interruption", cat(every(20, 0, 5000), every(20, 5150, 10000)), w, Interruption{Recovered: true, Recovery: ms(150)}},
		{"the call ends right after the fault", every(20, 0, 5010), FaultWindow{Fault: t0.Add(ms(5000)), Window: ms(1500), End: t0.Add(ms(5050))},
			Interruption{Recovered: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Recover(tt.arrivals, tt.w); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
