package sfu

import (
	"testing"
	"time"
)

func TestMunger(t *testing.T) {
	t0 := time.Unix(1000, 0)
	type pkt struct {
		pad       int // padding packets inserted before this one
		seq       uint16
		ts        uint32
		at        time.Duration
		wantSeq   uint16
		wantTS    uint32
		wantDrop  bool
		switching bool
	}
	tests := []struct {
		name string
		pkts []pkt
	}{
		{"first layer passes through", []pkt{
			{seq: 100, ts: 9000, switching: true, wantSeq: 100, wantTS: 9000},
			{seq: 101, ts: 9000, wantSeq: 101, wantTS: 9000},
			{seq: 102, ts: 12000, at: 33 * time.Millisecond, wantSeq: 102, wantTS: 12000},
		}},
		{"switch continues numbering and time", []pkt{
			{seq: 100, ts: 9000, switching: true, wantSeq: 100, wantTS: 9000},
			{seq: 101, ts: 12000, at: 33 * time.Millisecond, wantSeq: 101, wantTS: 12000},
			// new layer, unrelated bases, 33.3 ms later
			{seq: 5000, ts: 777, at: 66*time.Millisecond + 333*time.Microsecond, switching: true, wantSeq: 102, wantTS: 12000 + 2999},
			{seq: 5001, ts: 777, at: 67 * time.Millisecond, wantSeq: 103, wantTS: 14999},
			{seq: 5003, ts: 3777, at: 100 * time.Millisecond, wantSeq: 105, wantTS: 17999},
			// a retransmission of the gap maps one to one
			{seq: 5002, ts: 777, at: 150 * time.Millisecond, wantSeq: 104, wantTS: 14999},
			// a packet of the new layer from before the switch is dropped
			{seq: 4999, ts: 0, at: 160 * time.Millisecond, wantDrop: true},
		}},
		{"wrap around on switch", []pkt{
			{seq: 65534, ts: 4294967000, switching: true, wantSeq: 65534, wantTS: 4294967000},
			{seq: 65535, ts: 4294967000, wantSeq: 65535, wantTS: 4294967000},
			{seq: 10, ts: 50, at: time.Millisecond / 90, switching: true, wantSeq: 0, wantTS: 4294967001},
			{seq: 11, ts: 50, wantSeq: 1, wantTS: 4294967001},
		}},
		{"padding moves later packets up, not earlier ones", []pkt{
			{seq: 10, ts: 100, switching: true, wantSeq: 10, wantTS: 100},
			{seq: 11, ts: 100, wantSeq: 11, wantTS: 100},
			// two padding packets take 12 and 13 while input 12 is late
			{seq: 13, ts: 3100, pad: 2, wantSeq: 15, wantTS: 3100},
			// the late 12 is numbered after the padding: still unique
			{seq: 12, ts: 100, wantSeq: 14, wantTS: 100},
			{seq: 14, ts: 3100, wantSeq: 16, wantTS: 3100},
		}},
		{"padding keeps earlier packets' numbers", []pkt{
			{seq: 10, ts: 100, switching: true, wantSeq: 10, wantTS: 100},
			{seq: 12, ts: 100, wantSeq: 12, wantTS: 100},
			{seq: 13, ts: 3100, pad: 1, wantSeq: 14, wantTS: 3100},
			// 11 (before the padding point) keeps its number
			{seq: 11, ts: 100, wantSeq: 11, wantTS: 100},
		}},
		{"same instant switch still advances time", []pkt{
			{seq: 1, ts: 100, switching: true, wantSeq: 1, wantTS: 100},
			{seq: 900, ts: 5, switching: true, wantSeq: 2, wantTS: 101},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := munger{clockRate: 90000}
			for i, p := range tt.pkts {
				at := t0.Add(p.at)
				for range p.pad {
					m.pad()
				}
				if p.switching {
					m.switchTo(p.seq, p.ts, at)
				}
				seq, ts, ok := m.rewrite(p.seq, p.ts, at)
				if ok == p.wantDrop {
					t.Fatalf("packet %d: ok = %v, want drop %v", i, ok, p.wantDrop)
				}
				if ok && (seq != p.wantSeq || ts != p.wantTS) {
					t.Errorf("packet %d: got seq %d ts %d, want %d %d", i, seq, ts, p.wantSeq, p.wantTS)
				}
			}
		})
	}
}
