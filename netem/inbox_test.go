package netem

import "testing"

func dgram(i int) datagram {
	b := []byte{byte(i), byte(i >> 8)}
	return datagram{buf: &b}
}

func dgramNo(d datagram) int { return int(d.data()[0]) | int(d.data()[1])<<8 }

// TestInboxFIFOAndBound: datagrams come out in the order they went in,
// across the ring's growth and wrap-around, and the inbox refuses the
// (recvQueue+1)-th as a full socket buffer does.
func TestInboxFIFOAndBound(t *testing.T) {
	for _, tc := range []struct {
		name       string
		pushes     int
		popEvery   int // pop one after every popEvery pushes (0: never)
		wantStored int
	}{
		{"few", 5, 0, 5},
		{"grows", 100, 0, 100},
		{"wraps while growing", 1000, 3, 1000 - 333},
		{"full", recvQueue + 10, 0, recvQueue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newInbox()
			next, refused := 0, 0
			for i := range tc.pushes {
				if !b.push(dgram(i)) {
					refused++
				}
				if tc.popEvery > 0 && (i+1)%tc.popEvery == 0 {
					d, ok := b.pop()
					if !ok || dgramNo(d) != next {
						t.Fatalf("pop after push %d: got %d (%v), want %d", i, dgramNo(d), ok, next)
					}
					next++
				}
			}
			if got := b.n; got != tc.wantStored {
				t.Fatalf("holds %d, want %d", got, tc.wantStored)
			}
			if want := max(0, tc.pushes-recvQueue-next); tc.popEvery == 0 && refused != want {
				t.Fatalf("refused %d, want %d", refused, want)
			}
			for {
				d, ok := b.pop()
				if !ok {
					break
				}
				if dgramNo(d)&0xffff != next&0xffff {
					t.Fatalf("got %d, want %d", dgramNo(d), next)
				}
				next++
			}
			if next != tc.pushes-refused {
				t.Fatalf("popped %d, want %d", next, tc.pushes-refused)
			}
		})
	}
}

// TestInboxWakesEveryReader: two datagrams arrive while two readers are
// between finding the inbox empty and waiting, so the second push finds
// the token already there; the reader that takes the token and the first
// datagram must leave a token for the other, or that one sleeps with a
// datagram waiting.
func TestInboxWakesEveryReader(t *testing.T) {
	b := newInbox()
	b.push(dgram(1))
	b.push(dgram(2))
	<-b.ready // reader A wakes
	if d, ok := b.pop(); !ok || dgramNo(d) != 1 {
		t.Fatalf("reader A got %v %v", d, ok)
	}
	select {
	case <-b.ready: // reader B wakes
	default:
		t.Fatal("a datagram is waiting and no reader would wake for it")
	}
	if d, ok := b.pop(); !ok || dgramNo(d) != 2 {
		t.Fatalf("reader B got %v %v", d, ok)
	}
}
