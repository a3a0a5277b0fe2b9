package turn

import (
	"bytes"
	"fmt"
	"net"
	"testing"
	"time"
)

// A batchConn hands out every datagram queued on its socket, in order,
// with its sender, across batches; a datagram longer than the caller's
// buffer is cut as a UDP read cuts it; a deadline ends a read.
func TestBatchConnReadsEveryDatagram(t *testing.T) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pc := batched(c, 4)
	if _, ok := pc.(*batchConn); !ok {
		t.Fatalf("a UDP socket is not batched: %T", pc)
	}
	tx, err := net.DialUDP("udp4", nil, c.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	const n = 11 // three batches of 4, the last short
	for i := range n {
		if _, err := fmt.Fprintf(tx, "datagram %02d", i); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 1600)
	for i := range n {
		_ = pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		k, from, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if want := fmt.Sprintf("datagram %02d", i); string(buf[:k]) != want {
			t.Fatalf("got %q, want %q", buf[:k], want)
		}
		if from.String() != tx.LocalAddr().String() {
			t.Fatalf("from %v, want %v", from, tx.LocalAddr())
		}
	}
	if _, err := tx.Write(bytes.Repeat([]byte("x"), 100)); err != nil {
		t.Fatal(err)
	}
	if k, _, err := pc.ReadFrom(buf[:10]); err != nil || k != 10 {
		t.Fatalf("a 100-byte datagram into 10 bytes: %d, %v", k, err)
	}
	_ = pc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, _, err := pc.ReadFrom(buf); err == nil {
		t.Fatal("a read past its deadline returned no error")
	}
}
