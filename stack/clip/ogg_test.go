package clip

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestOpusSamples(t *testing.T) {
	// TOC byte: config (5 bits) | stereo (1 bit) | frame count code (2 bits).
	toc := func(config, code byte) byte { return config<<3 | code }
	tests := []struct {
		name    string
		packet  []byte
		samples int
		err     bool
	}{
		{"SILK NB 10 ms", []byte{toc(0, 0)}, 480, false},
		{"SILK MB 20 ms", []byte{toc(5, 0)}, 960, false},
		{"SILK WB 40 ms", []byte{toc(10, 0)}, 1920, false},
		{"SILK WB 60 ms", []byte{toc(11, 0)}, 2880, false},
		{"Hybrid SWB 10 ms", []byte{toc(12, 0)}, 480, false},
		{"Hybrid FB 20 ms", []byte{toc(15, 0)}, 960, false},
		{"CELT NB 2.5 ms", []byte{toc(16, 0)}, 120, false},
		{"CELT WB 5 ms", []byte{toc(21, 0)}, 240, false},
		{"CELT SWB 10 ms", []byte{toc(26, 0)}, 480, false},
		{"CELT FB 20 ms", []byte{toc(31, 0)}, 960, false},
		{"CELT FB 20 ms stereo", []byte{toc(31, 0) | 0x04}, 960, false},
		{"code 1: two equal frames", []byte{toc(31, 1), 0, 0}, 1920, false},
		{"code 2: two frames", []byte{toc(1, 2), 1, 0, 0}, 1920, false},
		{"code 1: 2 x 60 ms = 120 ms", []byte{toc(3, 1)}, 5760, false},
		{"code 3: three 20 ms frames", []byte{toc(31, 3), 3}, 2880, false},
		{"code 3: 48 x 2.5 ms = 120 ms", []byte{toc(16, 3), 48}, 5760, false},
		{"code 3: VBR and padding flags ignored", []byte{toc(31, 3), 0xc0 | 2}, 1920, false},
		{"code 3: 7 x 20 ms over 120 ms", []byte{toc(31, 3), 7}, 0, true},
		{"code 3: zero frames", []byte{toc(31, 3), 0}, 0, true},
		{"code 3: no count byte", []byte{toc(31, 3)}, 0, true},
		{"empty packet", nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := opusSamples(tt.packet)
			if tt.err {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("opusSamples = %d, %v; want ErrMalformed", got, err)
				}
				return
			}
			if err != nil || got != tt.samples {
				t.Fatalf("opusSamples = %d, %v; want %d", got, err, tt.samples)
			}
		})
	}
}

func TestLoadOggOpus(t *testing.T) {
	const serial = 0x1234
	head := opusHead()
	tags := opusTags(0)
	p20 := func(fill byte, n int) []byte { // a CELT FB 20 ms packet of n bytes
		return append([]byte{31 << 3}, bytes.Repeat([]byte{fill}, n-1)...)
	}
	p10 := []byte{26 << 3, 1, 2, 3} // CELT SWB 10 ms
	headers := func() []oggPage {
		return []oggPage{
			{flags: oggFlagBOS, packets: [][]byte{head}},
			{packets: [][]byte{tags}},
		}
	}
	// A 600-byte packet split over two pages: lacing 255, 255 on the
	// first page, then 90 on the continued page.
	big := p20(7, 600)

	tests := []struct {
		name      string
		pages     []oggPage
		wantSizes []int           // packet sizes, when loading must succeed
		wantDur   []time.Duration // packet durations in ms
		wantData  map[int][]byte  // the contents of some packets, by index
		wantErr   error
	}{
		{
			name: "several packets per page and one spanning pages",
			pages: append(headers(),
				oggPage{granule: 960 * 3, packets: [][]byte{p20(1, 10), p20(2, 255), p20(3, 20)}},
				oggPage{granule: oggNoGranule, packets: [][]byte{big[:510]}, open: true},
				oggPage{flags: oggFlagContinued, granule: 960*4 + 480, packets: [][]byte{big[510:], p10}},
				oggPage{flags: oggFlagEOS, granule: 960*5 + 480, packets: [][]byte{p20(4, 30)}},
			),
			wantSizes: []int{10, 255, 20, 600, 4, 30},
			wantDur:   []time.Duration{20, 20, 20, 20, 10, 20},
			wantData:  map[int][]byte{3: big, 4: p10},
		},
		{
			name: "OpusTags over two pages, start offset, end trimming",
			pages: []oggPage{
				{flags: oggFlagBOS, packets: [][]byte{head}},
				{packets: [][]byte{opusTags(400)[:255]}, open: true},
				{flags: oggFlagContinued, packets: [][]byte{opusTags(400)[255:]}},
				{granule: 1000 + 960*2, packets: [][]byte{p20(1, 10), p20(2, 10)}},
				{flags: oggFlagEOS, granule: 1000 + 960*2 + 100, packets: [][]byte{p20(3, 10)}},
			},
			wantSizes: []int{10, 10, 10},
			wantDur:   []time.Duration{20, 20, 20},
		},
		{
			name: "continued flag without an open packet",
			pages: append(headers(),
				oggPage{flags: oggFlagContinued, granule: 960, packets: [][]byte{p20(1, 10)}}),
			wantErr: ErrMalformed,
		},
		{
			name: "open packet without the continued flag",
			pages: append(headers(),
				oggPage{granule: oggNoGranule, packets: [][]byte{big[:510]}, open: true},
				oggPage{granule: 960, packets: [][]byte{big[510:]}}),
			wantErr: ErrMalformed,
		},
		{
			name: "last page ends inside a packet",
			pages: append(headers(),
				oggPage{granule: oggNoGranule, packets: [][]byte{big[:510]}, open: true}),
			wantErr: ErrMalformed,
		},
		{
			name: "granule position disagrees with the TOC durations",
			pages: append(headers(),
				oggPage{granule: 960, packets: [][]byte{p20(1, 10)}},
				oggPage{granule: 960 + 480, packets: [][]byte{p20(1, 10)}},
				oggPage{flags: oggFlagEOS, granule: 960 * 3, packets: [][]byte{p20(1, 10)}}),
			wantErr: ErrMalformed,
		},
		{
			name: "first audio page granule below its samples",
			pages: append(headers(),
				oggPage{granule: 900, packets: [][]byte{p20(1, 10)}},
				oggPage{flags: oggFlagEOS, granule: 1860, packets: [][]byte{p20(1, 10)}}),
			wantErr: ErrMalformed,
		},
		{
			name: "OpusHead shares the first page",
			pages: []oggPage{
				{flags: oggFlagBOS, packets: [][]byte{head, tags}},
				{granule: 960, packets: [][]byte{p20(1, 10)}},
			},
			wantErr: ErrMalformed,
		},
		{
			name: "audio on the OpusTags page",
			pages: []oggPage{
				{flags: oggFlagBOS, packets: [][]byte{head}},
				{granule: 960, packets: [][]byte{tags, p20(1, 10)}},
			},
			wantErr: ErrMalformed,
		},
		{
			name: "first page is not OpusHead",
			pages: []oggPage{
				{flags: oggFlagBOS, packets: [][]byte{tags}},
				{granule: 960, packets: [][]byte{p20(1, 10)}},
			},
			wantErr: ErrMalformed,
		},
		{
			name:    "OpusTags missing",
			pages:   []oggPage{{flags: oggFlagBOS, packets: [][]byte{head}}},
			wantErr: ErrMalformed,
		},
		{
			name: "second logical stream",
			pages: append(headers(),
				oggPage{serial: serial + 1, granule: 960, packets: [][]byte{p20(1, 10)}}),
			wantErr: ErrUnsupported,
		},
		{
			name: "invalid TOC",
			pages: append(headers(),
				oggPage{granule: 960, packets: [][]byte{{31<<3 | 3, 0}}}),
			wantErr: ErrMalformed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var file []byte
			for i, p := range tt.pages {
				if p.serial == 0 {
					p.serial = serial
				}
				file = append(file, p.encode(t, uint32(i))...)
			}
			c, err := loadOggOpus(file)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("loadOggOpus error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("loadOggOpus: %v", err)
			}
			var sizes []int
			var durs []time.Duration
			for _, f := range c.frames {
				sizes = append(sizes, len(f.Sample.Data))
				durs = append(durs, f.Sample.Duration/time.Millisecond)
			}
			if !slices.Equal(sizes, tt.wantSizes) || !slices.Equal(durs, tt.wantDur) {
				t.Errorf("packets of %v bytes lasting %v ms, want %v bytes lasting %v ms",
					sizes, durs, tt.wantSizes, tt.wantDur)
			}
			for i, want := range tt.wantData {
				if i >= len(c.frames) || !bytes.Equal(c.frames[i].Sample.Data, want) {
					t.Errorf("packet %d differs from the one written", i)
				}
			}
		})
	}
}

// oggPage describes one test page. Each packet is laced whole, except that
// with open set the last one is laced as unfinished: its size must then be
// a multiple of 255 (RFC 3533 section 6).
type oggPage struct {
	flags   byte
	granule uint64
	serial  uint32
	packets [][]byte
	open    bool
}

func (p oggPage) encode(t *testing.T, seq uint32) []byte {
	t.Helper()
	var lacing, body []byte
	for i, pkt := range p.packets {
		n := len(pkt)
		for ; n >= 255; n -= 255 {
			lacing = append(lacing, 255)
		}
		if p.open && i == len(p.packets)-1 {
			if n != 0 {
				t.Fatalf("open packet of %d bytes is not a multiple of 255", len(pkt))
			}
		} else {
			lacing = append(lacing, byte(n))
		}
		body = append(body, pkt...)
	}
	if len(lacing) > 255 {
		t.Fatalf("page needs %d lacing values", len(lacing))
	}
	page := []byte("OggS\x00")
	page = append(page, p.flags)
	page = binary.LittleEndian.AppendUint64(page, p.granule)
	page = binary.LittleEndian.AppendUint32(page, p.serial)
	page = binary.LittleEndian.AppendUint32(page, seq)
	page = binary.LittleEndian.AppendUint32(page, 0) // CRC, filled in below
	page = append(page, byte(len(lacing)))
	page = append(page, lacing...)
	page = append(page, body...)
	binary.LittleEndian.PutUint32(page[22:], oggCRC(page))
	return page
}

// oggCRC is the Ogg page checksum: CRC-32 with polynomial 0x04c11db7, no
// reflection, initial value 0 (RFC 3533 section 6).
func oggCRC(b []byte) uint32 {
	var crc uint32
	for _, v := range b {
		crc ^= uint32(v) << 24
		for range 8 {
			if crc&0x80000000 != 0 {
				crc = crc<<1 ^ 0x04c11db7
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// opusHead is a mono identification header, channel mapping family 0
// (RFC 7845 section 5.1).
func opusHead() []byte {
	b := []byte("OpusHead")
	b = append(b, 1, 1)                                    // version, channels
	b = binary.LittleEndian.AppendUint16(b, 312)           // pre-skip
	b = binary.LittleEndian.AppendUint32(b, opusClockRate) // input sample rate
	b = binary.LittleEndian.AppendUint16(b, 0)             // output gain
	return append(b, 0)                                    // mapping family
}

// opusTags is a comment header with one comment padded to at least size
// bytes (RFC 7845 section 5.2).
func opusTags(size int) []byte {
	vendor := "rtclab-test"
	comment := "TITLE=test"
	if pad := size - (8 + 4 + len(vendor) + 4 + 4 + len(comment)); pad > 0 {
		comment += string(bytes.Repeat([]byte{'x'}, pad))
	}
	b := []byte("OpusTags")
	b = binary.LittleEndian.AppendUint32(b, uint32(len(vendor)))
	b = append(b, vendor...)
	b = binary.LittleEndian.AppendUint32(b, 1)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(comment)))
	return append(b, comment...)
}
